import {
  type ConfChange,
  type ConfState,
  decodeConfChange,
  type Entry,
  type HardState,
  MemoryStorage,
  type Message,
  RawNode,
  type Ready,
  type Snapshot,
} from '@kemu/raft';
import type { Random } from '@kemu/runtime';

export interface RaftDriverOptions {
  id: string;
  snapshot: Snapshot | null;
  hardState: HardState;
  entries: Entry[];
  applied: number;
  electionTicks: number;
  heartbeatTicks: number;
  random: Random;
}

/**
 * The member's grip on `@kemu/raft`: a RawNode over a MemoryStorage that mirrors the WAL. All Raft
 * calls of the member go through here, so the Ready loop reads as etcd's does.
 */
export class RaftDriver {
  constructor(
    private readonly node: RawNode,
    private readonly storage: MemoryStorage,
  ) {}

  tick(): void {
    this.node.tick();
  }

  step(msg: Message): void {
    this.node.step(msg);
  }

  propose(data: Uint8Array): void {
    this.node.propose(data);
  }

  proposeConfChange(type: ConfChange['type'], nodeId: string, context: Uint8Array): void {
    this.node.proposeConfChange({ type, nodeId, context: Buffer.from(context).toString('base64') });
  }

  decodeConfChange(data: Uint8Array): { change: ConfChange; context: Uint8Array } {
    const change = decodeConfChange(data);
    return { change, context: new Uint8Array(Buffer.from(change.context, 'base64')) };
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.node.applyConfChange(cc);
  }

  readIndex(ctx: string): void {
    this.node.readIndex(new TextEncoder().encode(ctx));
  }

  hasReady(): boolean {
    return this.node.hasReady();
  }

  ready(): Ready {
    return this.node.ready();
  }

  /** Mirrors what the WAL just made durable into the storage Raft reads from. */
  persisted(rd: Ready): void {
    // Keep only the snapshot's metadata in memory; the data is in the snapshot file.
    if (rd.snapshot) this.storage.applySnapshot({ metadata: rd.snapshot.metadata, data: new Uint8Array(0) });
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
  }

  advance(_rd: Ready): void {
    this.node.advance();
  }

  reportUnreachable(peer: string): void {
    this.node.reportUnreachable(peer);
  }

  reportSnapshot(peer: string, ok: boolean): void {
    this.node.reportSnapshot(peer, ok ? 'finish' : 'failure');
  }

  campaign(): void {
    this.node.campaign();
  }

  knownLeader(): string | null {
    return this.node.status().softState.lead;
  }

  leaderLost(leader: string): void {
    this.node.reportLeaderLost(leader);
  }

  hardState(): HardState {
    return this.storage.hardState();
  }

  confState(): ConfState {
    return this.node.status().confState;
  }

  firstIndex(): number {
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.storage.lastIndex();
  }

  createSnapshot(index: number, cs: ConfState, data: Uint8Array): Snapshot {
    return this.storage.createSnapshot(index, cs, data);
  }

  compact(index: number): void {
    this.storage.compact(index);
  }
}

export function createRaftDriver(o: RaftDriverOptions): RaftDriver {
  const storage = new MemoryStorage();
  // A member joining an existing cluster starts empty and gets its first snapshot from the leader.
  if (o.snapshot) storage.applySnapshot({ metadata: o.snapshot.metadata, data: new Uint8Array(0) });
  if (o.hardState.term > 0 || o.hardState.commit > 0 || o.hardState.vote !== null) storage.setHardState(o.hardState);
  if (o.entries.length > 0) storage.append(o.entries);
  const node = new RawNode({
    id: o.id,
    storage,
    electionTick: o.electionTicks,
    heartbeatTick: o.heartbeatTicks,
    preVote: true,
    checkQuorum: true,
    applied: o.applied,
    random: () => o.random.next(),
  });
  return new RaftDriver(node, storage);
}
