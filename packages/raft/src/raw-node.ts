import type { ConfChange } from './conf-change.js';
import { encodeConfChange } from './conf-change.js';
import { InvalidConfChangeError, InvalidMessageError, ProposalDroppedError, ReadyProtocolError } from './errors.js';
import { type AdvanceInfo, Raft, type RaftConfig } from './raft.js';
import { plantedBugs } from './testing/planted-bugs.js';
import type { ConfState, Entry, HardState, Message, Ready, SnapshotStatus, SoftState, Status } from './types.js';
import { hardStateEqual, LOCAL_MESSAGE_TYPES, makeMessage, NETWORK_MESSAGE_TYPES } from './types.js';

export type RawNodeConfig = RaftConfig;

/**
 * The host-facing Raft node (etcd's RawNode): feed it ticks, messages and proposals; take a Ready,
 * act on it (README.md, "The Ready contract"), call advance(). Single-threaded; never blocks.
 */
export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** The Ready handed out and not yet advanced. */
  private pending: AdvanceInfo | null = null;

  constructor(config: RawNodeConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts are counted in ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (through pre-vote when enabled). */
  campaign(): void {
    this.raft.step(makeMessage({ type: 'MsgHup', from: this.raft.id }));
  }

  /** Proposes data to be appended; forwarded to the leader when this node follows one. */
  propose(data: Uint8Array): void {
    this.proposeEntries([{ term: 0, index: 0, type: 'normal', data }]);
  }

  /** Proposes several entries at once (one MsgProp, one broadcast). */
  proposeBatch(data: Uint8Array[]): void {
    if (data.length === 0) return;
    this.proposeEntries(data.map((d) => ({ term: 0, index: 0, type: 'normal' as const, data: d })));
  }

  /**
   * Proposes a membership change. Dropped (ProposalDroppedError) while another conf change is not
   * yet applied. Takes effect on each member when it applies the entry and calls applyConfChange.
   */
  proposeConfChange(cc: ConfChange): void {
    const cs = this.raft.prs.confState();
    if (cc.type === 'remove-node' && cs.voters.length === 1 && cs.voters[0] === cc.nodeId) {
      throw new InvalidConfChangeError(`cannot remove the last voter ${cc.nodeId}`);
    }
    if (cc.nodeId === '') throw new InvalidConfChangeError('nodeId must be non-empty');
    this.proposeEntries([{ term: 0, index: 0, type: 'conf-change', data: encodeConfChange(cc) }]);
  }

  private proposeEntries(entries: Entry[]): void {
    const accepted = this.raft.step(makeMessage({ type: 'MsgProp', entries }));
    if (!accepted) {
      const reason =
        this.raft.state === 'leader'
          ? 'leadership transfer in progress or a conf change is pending'
          : this.raft.lead === null
            ? 'no leader known'
            : 'not accepted';
      throw new ProposalDroppedError(reason);
    }
  }

  /** Applies a committed conf change; call it when applying the conf-change entry. Returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Feeds a message received from another member. Throws InvalidMessageError for malformed messages
   * or local-only types; the node's state is untouched then.
   */
  step(m: Message): void {
    validateNetworkMessage(m, this.raft.id);
    this.raft.step(m);
  }

  /**
   * Requests a linearizable read. `ctx` identifies the request; a ReadState with the same ctx comes
   * back in a later Ready. Lost silently if there is no leader or leadership changes: retry on timeout.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(makeMessage({ type: 'MsgReadIndex', context: ctx }));
  }

  /** Asks the leader to hand leadership to `to` (forwarded when called on a follower). */
  transferLeadership(to: string): void {
    this.raft.step(makeMessage({ type: 'MsgTransferLeader', from: to }));
  }

  /** The transport failed to deliver to `id`: the leader falls back to probing it. */
  reportUnreachable(id: string): void {
    this.raft.step(makeMessage({ type: 'MsgUnreachable', from: id }));
  }

  /** Outcome of sending a MsgSnap to `id`; the host must report every MsgSnap it was asked to send. */
  reportSnapshot(id: string, status: SnapshotStatus): void {
    this.raft.step(makeMessage({ type: 'MsgSnapStatus', from: id, reject: status === 'failure' }));
  }

  /**
   * The host's connection to `leaderId` dropped. If that is our leader, the follower campaigns (via
   * pre-vote) after the random part of the election timeout instead of a full timeout.
   */
  reportLeaderLost(leaderId: string): void {
    this.raft.step(makeMessage({ type: 'MsgLeaderLost', from: leaderId }));
  }

  /** Whether ready() has anything; false while a Ready is out and not yet advanced. */
  hasReady(): boolean {
    if (this.pending !== null) return false;
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.state !== this.prevSoftState.state) return true;
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true;
    if (r.log.unstable.snapshot !== null) return true;
    if (r.log.unstable.entries.length > 0) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /** Takes everything the host must do now. Call advance() when done before asking again. */
  ready(): Ready {
    if (this.pending !== null) throw new ReadyProtocolError('ready() called again before advance()');
    const r = this.raft;
    const ss = r.softState();
    const hs = r.hardState();
    const softChanged = ss.lead !== this.prevSoftState.lead || ss.state !== this.prevSoftState.state;
    const hardChanged = !hardStateEqual(hs, this.prevHardState);
    const entries = r.log.unstableEntries();
    const snapshot = r.log.unstable.snapshot;
    const committedEntries = r.log.nextCommittedEntries();
    const rd: Ready = {
      softState: softChanged ? ss : null,
      hardState: hardChanged ? (plantedBugs.forgetToPersistVote ? { ...hs, vote: null } : hs) : null,
      entries,
      snapshot,
      committedEntries,
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote,
    };
    r.msgs = [];
    r.readStates = [];
    if (softChanged) this.prevSoftState = ss;
    if (hardChanged) this.prevHardState = hs;
    const lastEntry = entries[entries.length - 1];
    const lastCommitted = committedEntries[committedEntries.length - 1];
    this.pending = {
      lastEntry: lastEntry === undefined ? null : { index: lastEntry.index, term: lastEntry.term },
      snapshotIndex: snapshot === null ? 0 : snapshot.metadata.index,
      lastCommittedIndex: lastCommitted === undefined ? 0 : lastCommitted.index,
    };
    return rd;
  }

  /** The host persisted the last Ready, sent its messages and applied its snapshot and committed entries. */
  advance(): void {
    if (this.pending === null) throw new ReadyProtocolError('advance() without a Ready');
    const info = this.pending;
    this.pending = null;
    this.raft.advance(info);
  }

  status(): Status {
    return this.raft.status();
  }
}

const FORWARDABLE_WITHOUT_TERM: ReadonlySet<string> = new Set(['MsgProp', 'MsgReadIndex', 'MsgTransferLeader']);

function validateNetworkMessage(m: Message, self: string): void {
  if (typeof m !== 'object' || m === null) throw new InvalidMessageError('not an object');
  if (LOCAL_MESSAGE_TYPES.has(m.type)) throw new InvalidMessageError(`${m.type} is local-only`);
  if (!NETWORK_MESSAGE_TYPES.has(m.type)) throw new InvalidMessageError(`unknown type ${String(m.type)}`);
  if (typeof m.from !== 'string' || m.from === '') throw new InvalidMessageError(`${m.type} without from`);
  if (m.to !== self) throw new InvalidMessageError(`${m.type} addressed to ${String(m.to)}, this node is ${self}`);
  for (const f of ['term', 'logTerm', 'index', 'commit', 'rejectHint'] as const) {
    if (!Number.isInteger(m[f]) || m[f] < 0)
      throw new InvalidMessageError(`${m.type}.${f} must be a non-negative integer`);
  }
  if (m.term === 0 && !FORWARDABLE_WITHOUT_TERM.has(m.type)) throw new InvalidMessageError(`${m.type} without term`);
  if (typeof m.reject !== 'boolean') throw new InvalidMessageError(`${m.type}.reject must be boolean`);
  if (!(m.context instanceof Uint8Array)) throw new InvalidMessageError(`${m.type}.context must be bytes`);
  if (!Array.isArray(m.entries)) throw new InvalidMessageError(`${m.type}.entries must be an array`);
  for (const e of m.entries) {
    if (typeof e !== 'object' || e === null || !(e.data instanceof Uint8Array)) {
      throw new InvalidMessageError(`${m.type} has a malformed entry`);
    }
    if (e.type !== 'normal' && e.type !== 'conf-change') throw new InvalidMessageError(`entry type ${String(e.type)}`);
    if (!Number.isInteger(e.index) || !Number.isInteger(e.term)) throw new InvalidMessageError('entry index/term');
  }
  if (m.type === 'MsgSnap') {
    const s = m.snapshot;
    if (s === null || typeof s !== 'object' || !(s.data instanceof Uint8Array) || typeof s.metadata !== 'object') {
      throw new InvalidMessageError('MsgSnap without a snapshot');
    }
  }
  if (m.type === 'MsgProp' && m.entries.length === 0) throw new InvalidMessageError('MsgProp without entries');
}
