import assert from 'node:assert/strict';
import { decodeConfChange } from '../src/conf-change.js';
import { RawNode } from '../src/raw-node.js';
import { MemoryStorage } from '../src/storage.js';
import type { ConfState, Message, StateType } from '../src/types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface ScenarioOptions {
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTick?: number;
  maxSizePerMsg?: number;
}

interface Member {
  id: string;
  storage: MemoryStorage;
  node: RawNode;
  /** Applied entries as `index:term:value` ('' value for no-ops). */
  applied: string[];
  /** ReadIndex answers: `ctx@index`. */
  reads: string[];
  confState: ConfState;
}

/**
 * A small scripted cluster for readable transcript tests: messages wait in an outbox until the test
 * delivers them, links can be cut, and every member persists its Ready before sending (the contract).
 * Randomness is fixed (random() = 0), so every election timeout is exactly electionTick.
 */
export class Scenario {
  readonly members = new Map<string, Member>();
  outbox: Message[] = [];
  private readonly blocked = new Set<string>();
  /** Rewrites (or, returning null, drops) messages on delivery: used to hold back specific entries. */
  transform: ((m: Message) => Message | null) | null = null;
  readonly electionTick: number;
  /** Per-member value of random() (default 0): the randomized timeout is electionTick * (1 + value). */
  readonly randomness = new Map<string, number>();

  constructor(
    ids: string[],
    private readonly opts: ScenarioOptions = {},
  ) {
    this.electionTick = opts.electionTick ?? 10;
    for (const id of ids) this.addMember(id, MemoryStorage.bootstrap(ids));
  }

  /** Starts a member (a brand-new one joins with empty storage). */
  addMember(id: string, storage = new MemoryStorage()): void {
    this.members.set(id, {
      id,
      storage,
      node: this.newNode(id, storage),
      applied: [],
      reads: [],
      confState: storage.initialState().confState,
    });
  }

  /** Crash and restart: the member keeps only what it persisted; its state machine replays from the snapshot. */
  restart(id: string): void {
    const m = this.m(id);
    this.outbox = this.outbox.filter((msg) => msg.from !== id);
    m.node = this.newNode(id, m.storage);
    m.applied = [];
    m.confState = m.storage.initialState().confState;
  }

  private newNode(id: string, storage: MemoryStorage): RawNode {
    return new RawNode({
      id,
      storage,
      electionTick: this.electionTick,
      heartbeatTick: 1,
      random: () => this.randomness.get(id) ?? 0,
      preVote: this.opts.preVote ?? true,
      checkQuorum: this.opts.checkQuorum ?? true,
      maxSizePerMsg: this.opts.maxSizePerMsg ?? 1024 * 1024,
      applied: storage.snapshot().metadata.index,
    });
  }

  m(id: string): Member {
    const m = this.members.get(id);
    assert.ok(m, `no member ${id}`);
    return m;
  }

  node(id: string): RawNode {
    return this.m(id).node;
  }

  state(id: string): StateType {
    return this.node(id).status().softState.state;
  }

  term(id: string): number {
    return this.node(id).status().hardState.term;
  }

  commit(id: string): number {
    return this.node(id).status().hardState.commit;
  }

  /** `index@term` of every entry in a member's persisted log after its snapshot. */
  logOf(id: string): string[] {
    const s = this.m(id).storage;
    const out: string[] = [];
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(`${i}@${s.term(i)}`);
    return out;
  }

  leaders(): string[] {
    return [...this.members.keys()].filter((id) => this.state(id) === 'leader');
  }

  private static pair(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  cut(a: string, b: string): void {
    this.blocked.add(Scenario.pair(a, b));
  }

  isolate(id: string): void {
    for (const other of this.members.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Handles every pending Ready: persist, queue messages, apply, advance. */
  processReadys(): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (const m of this.members.values()) {
        while (m.node.hasReady()) {
          progress = true;
          const rd = m.node.ready();
          if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
          m.storage.append(rd.entries);
          if (rd.hardState) m.storage.setHardState(rd.hardState);
          this.outbox.push(...rd.messages);
          if (rd.snapshot) {
            m.applied = [`${rd.snapshot.metadata.index}:snapshot`];
            m.confState = rd.snapshot.metadata.confState;
          }
          for (const e of rd.committedEntries) {
            if (e.type === 'conf-change') m.confState = m.node.applyConfChange(decodeConfChange(e.data));
            m.applied.push(`${e.index}:${e.term}:${e.type === 'conf-change' ? 'cc' : decoder.decode(e.data)}`);
          }
          for (const rs of rd.readStates) m.reads.push(`${decoder.decode(rs.requestCtx)}@${rs.index}`);
          m.node.advance();
        }
      }
    }
  }

  /** Delivers everything in the outbox once (messages produced meanwhile wait for the next round). */
  deliverRound(): number {
    this.processReadys();
    const batch = this.outbox;
    this.outbox = [];
    let delivered = 0;
    for (const sent of batch) {
      const msg = this.transform === null ? sent : this.transform(sent);
      if (msg === null) continue;
      const ok = !this.blocked.has(Scenario.pair(msg.from, msg.to));
      const target = this.members.get(msg.to);
      if (msg.type === 'MsgSnap') this.node(msg.from).reportSnapshot(msg.to, ok && target ? 'finish' : 'failure');
      if (!ok || target === undefined) continue;
      target.node.step(msg);
      delivered++;
    }
    this.processReadys();
    return delivered;
  }

  /** Delivers until no message is left (bounded). */
  stabilize(maxRounds = 200): void {
    for (let i = 0; i < maxRounds; i++) {
      this.processReadys();
      if (this.outbox.length === 0) return;
      this.deliverRound();
    }
    throw new Error('cluster did not stabilize');
  }

  /** Ticks the given members (default: all) n times, delivering after each tick. */
  tick(n: number, ids: string[] = [...this.members.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.node(id).tick();
      this.stabilize();
    }
  }

  /** Campaigns until `id` leads (a lost election leaves it a follower at the higher term; try again). */
  elect(id: string, attempts = 3): void {
    for (let i = 0; i < attempts && this.state(id) !== 'leader'; i++) {
      this.node(id).campaign();
      this.stabilize();
    }
    assert.equal(this.state(id), 'leader', `${id} did not win an election`);
  }

  readIndex(id: string, ctx: string): void {
    this.node(id).readIndex(encoder.encode(ctx));
  }

  /** A leader snapshots its applied state (the applied values as JSON) and compacts its log. */
  compact(id: string): number {
    const m = this.m(id);
    const applied = m.node.status().applied;
    m.storage.createSnapshot(applied, m.confState, encoder.encode(JSON.stringify(this.values(id))));
    m.storage.compact(applied);
    return applied;
  }

  propose(id: string, value: string): void {
    this.node(id).propose(encoder.encode(value));
  }

  /** Values applied by a member, in order (no-ops and snapshots left out). */
  values(id: string): string[] {
    return this.m(id)
      .applied.map((a) => a.split(':'))
      .filter((p) => p.length === 3 && p[2] !== '' && p[2] !== 'cc')
      .map((p) => p[2] as string);
  }
}
