import type { ConfChange } from './conf-change.js';
import { InvalidConfigError, RaftInvariantError, SnapshotTemporarilyUnavailableError } from './errors.js';
import { Progress, ProgressTracker } from './progress.js';
import { RaftLog } from './raft-log.js';
import { type PendingRead, ReadIndexRounds } from './read-index.js';
import type { Storage } from './storage.js';
import { plantedBugs } from './testing/planted-bugs.js';
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  ReadState,
  Snapshot,
  SoftState,
  StateType,
  Status,
} from './types.js';
import { EMPTY_BYTES, isEmptyHardState, makeMessage } from './types.js';

export interface RaftConfig {
  /** This member's id (non-empty). */
  id: string;
  /** The durable log, as persisted by the host. */
  storage: Storage;
  /** Ticks without hearing from a leader before campaigning; the actual timeout is random in [electionTick, 2*electionTick). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be smaller than electionTick. */
  heartbeatTick: number;
  /** Uniform in [0, 1): randomizes election timeouts. Inject a seeded source for reproducible runs. */
  random: () => number;
  /** Run a pre-vote round before campaigning, so a rejoining member cannot bump everyone's term. Default true. */
  preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum for an election timeout; followers in that lease ignore vote requests. Default true. */
  checkQuorum?: boolean;
  /** Payload bytes per MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** MsgApp messages in flight per follower while replicating. Default 256. */
  maxInflightMsgs?: number;
  /** Payload bytes of committed entries per Ready. Default 16 MiB. */
  maxCommittedSizePerReady?: number;
  /** The index the host's state machine has already applied (on restart with a durable state machine). Default: the snapshot index. */
  applied?: number;
}

const CAMPAIGN_TRANSFER = new TextEncoder().encode('campaign-transfer');

function isTransferCampaign(ctx: Uint8Array): boolean {
  if (ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false;
  return true;
}

type CampaignType = 'pre-election' | 'election' | 'transfer';

/** What Raft.advance needs to know about the Ready the host just finished. */
export interface AdvanceInfo {
  lastEntry: { index: number; term: number } | null;
  snapshotIndex: number;
  lastCommittedIndex: number;
}

/**
 * The Raft state machine. It never does I/O: inputs are ticks and messages, outputs accumulate in
 * `msgs` and `readStates` and in the log's unstable part, and RawNode packs them into a Ready.
 */
export class Raft {
  readonly id: string;
  term = 0;
  vote: string | null = null;
  lead: string | null = null;
  state: StateType = 'follower';
  readonly log: RaftLog;
  readonly prs: ProgressTracker;
  isLearner = false;
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private randomizedElectionTimeout = 0;
  private readonly random: () => number;
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  private readonly maxMsgSize: number;
  leadTransferee: string | null = null;
  /** Index of the latest conf-change entry this leader appended; a new one waits until it is applied. */
  private pendingConfIndex = 0;
  /** ReadIndex requests that arrived before this leader committed an entry of its own term. */
  private pendingReadIndexMessages: Message[] = [];
  private readonly reads = new ReadIndexRounds();

  constructor(config: RaftConfig) {
    validateConfig(config);
    this.id = config.id;
    this.electionTimeout = config.electionTick;
    this.heartbeatTimeout = config.heartbeatTick;
    this.random = config.random;
    this.checkQuorum = config.checkQuorum ?? true;
    this.preVote = config.preVote ?? true;
    this.maxMsgSize = config.maxSizePerMsg ?? 1024 * 1024;
    this.log = new RaftLog(config.storage, config.maxCommittedSizePerReady ?? 16 * 1024 * 1024);
    this.prs = new ProgressTracker(config.maxInflightMsgs ?? 256);

    const { hardState, confState } = config.storage.initialState();
    this.applyConfState(confState);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (config.applied !== undefined && config.applied > 0) {
      if (config.applied > this.log.committed) {
        throw new InvalidConfigError(
          `applied ${config.applied} is beyond the persisted commit index ${this.log.committed}`,
        );
      }
      this.log.appliedTo(Math.max(config.applied, this.log.applied));
    }
    this.becomeFollower(this.term, null);
  }

  // ---------------------------------------------------------------- state accessors

  softState(): SoftState {
    return { lead: this.lead, state: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  status(): Status {
    const progress: Status['progress'] = {};
    if (this.state === 'leader') {
      for (const id of this.prs.ids()) progress[id] = (this.prs.progress.get(id) as Progress).toStatus();
    }
    return {
      id: this.id,
      hardState: this.hardState(),
      softState: this.softState(),
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      confState: this.prs.confState(),
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      throw new RaftInvariantError(
        `persisted commit ${hs.commit} is outside [${this.log.committed}, ${this.log.lastIndex()}]: storage lost entries`,
      );
    }
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** Can this node campaign: a voter, with no snapshot waiting to be persisted. */
  private promotable(): boolean {
    const pr = this.prs.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && this.log.unstable.snapshot === null;
  }

  // ---------------------------------------------------------------- sending

  private send(m: Message): void {
    if (m.from === '') m.from = this.id;
    if (m.type === 'MsgVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp') {
      // Vote messages carry the term of the election they belong to, which a pre-vote sets in the future.
      if (m.term === 0) throw new RaftInvariantError(`${m.type} must carry a term`);
    } else if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') {
      // Proposals and read requests forwarded to the leader are treated like local messages there.
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends entries (or a snapshot) to `to` unless its progress is paused; returns whether a message went out. */
  private maybeSendAppend(to: string, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = prevTerm === null ? null : this.log.entriesFrom(pr.next, this.maxMsgSize);
    if (ents !== null && ents.length === 0 && !sendIfEmpty) return false;

    if (prevTerm === null || ents === null) {
      // The entries the follower needs were compacted: send the snapshot instead, but only to a
      // follower we have heard from recently (it is expensive).
      if (!pr.recentActive) return false;
      let snapshot: Snapshot;
      try {
        snapshot = this.log.snapshot();
      } catch (err) {
        if (err instanceof SnapshotTemporarilyUnavailableError) return false;
        throw err;
      }
      if (snapshot.metadata.index === 0) throw new RaftInvariantError('need a non-empty snapshot');
      pr.becomeSnapshot(snapshot.metadata.index);
      this.send(makeMessage({ type: 'MsgSnap', to, snapshot }));
      return true;
    }

    this.send(
      makeMessage({
        type: 'MsgApp',
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.log.committed,
      }),
    );
    const last = ents[ents.length - 1];
    if (last !== undefined) {
      if (pr.state === 'replicate') {
        pr.optimisticUpdate(last.index);
        pr.inflights.add(last.index);
      } else if (pr.state === 'probe') {
        pr.probeSent = true;
      }
    }
    return true;
  }

  private sendAppend(to: string): void {
    this.maybeSendAppend(to, true);
  }

  private bcastAppend(): void {
    for (const id of this.prs.ids()) if (id !== this.id) this.sendAppend(id);
  }

  private sendHeartbeat(to: string, ctx: Uint8Array): void {
    // Never tell a follower to commit past what it is known to hold.
    const match = this.prs.progress.get(to)?.match ?? 0;
    this.send(makeMessage({ type: 'MsgHeartbeat', to, commit: Math.min(match, this.log.committed), context: ctx }));
  }

  private bcastHeartbeat(): void {
    const ctx = this.reads.context();
    for (const id of this.prs.ids()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  private sendTimeoutNow(to: string): void {
    this.send(makeMessage({ type: 'MsgTimeoutNow', to }));
  }

  // ---------------------------------------------------------------- commitment

  private maybeCommit(): boolean {
    const index = this.prs.committedIndex();
    if (plantedBugs.commitOldTermByCounting) {
      if (index > this.log.committed) {
        this.log.commitTo(index);
        return true;
      }
      return false;
    }
    return this.log.maybeCommit(index, this.term);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  /** After the leader's commit index moved: release reads waiting for the first commit of this term. */
  private onLeaderCommitAdvanced(): void {
    if (this.pendingReadIndexMessages.length > 0 && this.committedEntryInCurrentTerm()) {
      const waiting = this.pendingReadIndexMessages;
      this.pendingReadIndexMessages = [];
      for (const m of waiting) this.handleReadIndexOnLeader(m);
    }
  }

  /**
   * Called by RawNode.advance once the host persisted a Ready. The leader counts its own log toward
   * commitment only here, after its entries are durable, which is what lets it send MsgApp while its
   * own write is still in progress.
   */
  advance(info: AdvanceInfo): void {
    if (info.snapshotIndex > 0) this.log.unstable.stableSnapTo(info.snapshotIndex);
    if (info.lastEntry !== null) this.log.unstable.stableTo(info.lastEntry.index, info.lastEntry.term);
    if (info.lastCommittedIndex > 0) this.log.appliedTo(info.lastCommittedIndex);
    else if (info.snapshotIndex > 0) this.log.appliedTo(Math.max(this.log.applied, info.snapshotIndex));
    if (this.state === 'leader') {
      const self = this.prs.progress.get(this.id);
      if (self?.maybeUpdate(this.log.persistedLastIndex()) && this.maybeCommit()) {
        this.onLeaderCommitAdvanced();
        this.bcastAppend();
      }
    }
  }

  // ---------------------------------------------------------------- role changes

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = null;
    this.prs.resetVotes();
    const next = this.log.lastIndex() + 1;
    for (const [id, old] of this.prs.progress) {
      const pr = new Progress(next, this.prs.maxInflight, old.isLearner);
      if (id === this.id) pr.match = this.log.persistedLastIndex();
      this.prs.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.pendingReadIndexMessages = [];
    this.reads.reset();
  }

  becomeFollower(term: number, lead: string | null): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
  }

  private becomeCandidate(): void {
    if (this.state === 'leader') throw new RaftInvariantError('leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
  }

  private becomePreCandidate(): void {
    if (this.state === 'leader') throw new RaftInvariantError('leader cannot become pre-candidate');
    // A pre-candidate keeps its term and vote: only a real election may change them.
    this.prs.resetVotes();
    this.lead = null;
    this.state = 'pre-candidate';
  }

  private becomeLeader(): void {
    if (this.state === 'follower') throw new RaftInvariantError('follower cannot become leader');
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'leader';
    const self = this.prs.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // No conf change until everything in the log so far (including an uncommitted one from an
    // earlier leader) is applied; that also means the empty entry below committed first.
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntries([{ term: 0, index: 0, type: 'normal', data: EMPTY_BYTES }]);
    this.bcastAppend();
  }

  private appendEntries(ents: Entry[]): void {
    const last = this.log.lastIndex();
    const stamped = ents.map((e, i) => ({ term: this.term, index: last + 1 + i, type: e.type, data: e.data }));
    this.log.append(stamped);
  }

  // ---------------------------------------------------------------- elections

  private hup(type: CampaignType): void {
    if (this.state === 'leader') return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(type);
  }

  private hasUnappliedConfChanges(): boolean {
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const ents = this.log.slice(lo, this.log.committed + 1, Number.MAX_SAFE_INTEGER) ?? [];
    return ents.some((e) => e.type === 'conf-change');
  }

  private campaign(type: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (type === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = 'MsgPreVote';
      // Ask with the term we would campaign in, without adopting it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = 'MsgVote';
      term = this.term;
    }
    const result = this.poll(this.id, true);
    if (result === 'won') {
      // A single-voter cluster wins at once.
      if (type === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of [...this.prs.voters].sort()) {
      if (id === this.id) continue;
      this.send(
        makeMessage({
          type: voteMsg,
          to: id,
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context: type === 'transfer' ? CAMPAIGN_TRANSFER : EMPTY_BYTES,
        }),
      );
    }
  }

  private poll(id: string, granted: boolean): 'won' | 'lost' | 'pending' {
    this.prs.recordVote(id, granted, plantedBugs.doubleCountVotes);
    return this.prs.tallyVotes().result;
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    if (this.state === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: 'MsgHup', from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(makeMessage({ type: 'MsgCheckQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === 'leader' && this.leadTransferee !== null) this.leadTransferee = null;
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: 'MsgBeat', from: this.id }));
    }
  }

  // ---------------------------------------------------------------- step

  /** Feeds one message (local or from the network). Returns false when a proposal was dropped. */
  step(m: Message): boolean {
    if (m.term === 0) {
      // Local message (or a proposal/read forwarded by a follower): no term handling.
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = isTransferCampaign(m.context);
        const inLease = this.checkQuorum && this.lead !== null && this.electionElapsed < this.electionTimeout;
        // We heard from a live leader within the minimum election timeout: ignore the request
        // without adopting its term, so a member returning from a partition cannot depose it.
        if (!force && inLease) return true;
      }
      if (m.type === 'MsgPreVote') {
        // Never change term because of a pre-vote request.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // Granted pre-votes carry the term we asked about; we adopt it only when we win.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader (or a member that was cut off while we moved on): answer so it learns our
        // term and steps down, instead of ignoring it forever.
        this.send(makeMessage({ type: 'MsgAppResp', to: m.from }));
      } else if (m.type === 'MsgPreVote' || m.type === 'MsgVote') {
        // Reject with our term (Raft §5.1) so the candidate catches up. Ignoring it instead (as
        // etcd does for MsgVote) can livelock without pre-vote: a member that only knows an old
        // configuration of dead peers keeps raising its term exactly as fast as the candidate.
        const type = m.type === 'MsgPreVote' ? 'MsgPreVoteResp' : 'MsgVoteResp';
        this.send(makeMessage({ type, to: m.from, term: this.term, reject: true }));
      }
      return true;
    }

    switch (m.type) {
      case 'MsgHup':
        this.hup(this.preVote ? 'pre-election' : 'election');
        return true;
      case 'MsgVote':
      case 'MsgPreVote':
        this.handleVoteRequest(m);
        return true;
      default:
        switch (this.state) {
          case 'leader':
            return this.stepLeader(m);
          case 'candidate':
          case 'pre-candidate':
            return this.stepCandidate(m);
          case 'follower':
            return this.stepFollower(m);
        }
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (m.type === 'MsgPreVote' && m.term > this.term);
    const respType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Answer with the request's term: for a pre-vote it is in our future, and the candidate must
      // recognise the answer as belonging to its pre-election.
      this.send(makeMessage({ type: respType, to: m.from, term: m.term }));
      if (m.type === 'MsgVote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(makeMessage({ type: respType, to: m.from, term: this.term, reject: true }));
    }
  }

  private stepLeader(m: Message): boolean {
    switch (m.type) {
      case 'MsgBeat':
        this.bcastHeartbeat();
        return true;
      case 'MsgCheckQuorum':
        if (!this.prs.quorumActive(this.id)) {
          this.becomeFollower(this.term, null);
        }
        for (const [id, pr] of this.prs.progress) if (id !== this.id) pr.recentActive = false;
        return true;
      case 'MsgProp':
        return this.handleProposal(m);
      case 'MsgReadIndex':
        this.handleReadIndexOnLeader(m);
        return true;
      case 'MsgTransferLeader':
        this.handleTransferLeader(m.from);
        return true;
      default:
        break;
    }

    const pr = this.prs.progress.get(m.from);
    if (pr === undefined) return true;
    switch (m.type) {
      case 'MsgAppResp':
        pr.recentActive = true;
        this.handleAppendResponse(m, pr);
        break;
      case 'MsgHeartbeatResp':
        pr.recentActive = true;
        pr.probeSent = false;
        // A heartbeat answer proves the follower is alive: let one more MsgApp through a full window.
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
        this.handleReadRoundAck(m);
        break;
      case 'MsgSnapStatus':
        if (pr.state !== 'snapshot') break;
        if (m.reject) {
          pr.pendingSnapshot = 0;
          pr.becomeProbe();
        } else {
          pr.becomeProbe();
        }
        // Wait for the next heartbeat answer before probing, whatever the outcome.
        pr.probeSent = true;
        break;
      case 'MsgUnreachable':
        if (pr.state === 'replicate') pr.becomeProbe();
        break;
      default:
        break;
    }
    return true;
  }

  private handleProposal(m: Message): boolean {
    if (m.entries.length === 0) throw new RaftInvariantError('proposal without entries');
    if (!this.prs.progress.has(this.id)) return false;
    if (this.leadTransferee !== null) return false;
    let confIndex = this.pendingConfIndex;
    for (let i = 0; i < m.entries.length; i++) {
      if ((m.entries[i] as Entry).type !== 'conf-change') continue;
      if (confIndex > this.log.applied) return false;
      confIndex = this.log.lastIndex() + i + 1;
    }
    this.pendingConfIndex = confIndex;
    this.appendEntries(m.entries);
    this.bcastAppend();
    return true;
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      let next = m.rejectHint;
      if (m.logTerm > 0) next = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, next)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.onLeaderCommitAdvanced();
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    // Fill the in-flight window.
    while (this.maybeSendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleReadIndexOnLeader(m: Message): void {
    // A new leader's commit index may lag what the previous leader acknowledged: serve no read
    // before an entry of this term is committed.
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndexMessages.push(m);
      return;
    }
    const read: PendingRead = { from: m.from, requestCtx: m.context, index: this.log.committed };
    if (this.prs.isSingleton() || plantedBugs.readIndexWithoutQuorum) {
      this.respondToRead(read);
      return;
    }
    this.reads.add(read);
    if (this.reads.maybeStartRound(this.id)) this.bcastHeartbeat();
  }

  private handleReadRoundAck(m: Message): void {
    const released = this.reads.ack(m.from, m.context, (acks) => {
      let n = 0;
      for (const id of acks) if (this.prs.voters.has(id)) n++;
      return n >= this.prs.quorum();
    });
    if (released === null) return;
    for (const read of released) this.respondToRead(read);
    if (this.reads.maybeStartRound(this.id)) this.bcastHeartbeat();
  }

  private respondToRead(read: PendingRead): void {
    if (read.from === '' || read.from === this.id) {
      this.readStates.push({ index: read.index, requestCtx: read.requestCtx });
    } else {
      this.send(makeMessage({ type: 'MsgReadIndexResp', to: read.from, index: read.index, context: read.requestCtx }));
    }
  }

  private handleTransferLeader(transferee: string): void {
    const pr = this.prs.progress.get(transferee);
    if (pr === undefined || pr.isLearner) return;
    if (this.leadTransferee !== null) {
      if (this.leadTransferee === transferee) return;
      this.leadTransferee = null;
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
  }

  private stepCandidate(m: Message): boolean {
    const myVoteResp: MessageType = this.state === 'pre-candidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
    switch (m.type) {
      case 'MsgProp':
        return false;
      case 'MsgApp':
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return true;
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return true;
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return true;
      case 'MsgVoteResp':
      case 'MsgPreVoteResp': {
        if (m.type !== myVoteResp) return true;
        const result = this.poll(m.from, !m.reject);
        if (result === 'won') {
          if (this.state === 'pre-candidate') this.campaign('election');
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, null);
        }
        return true;
      }
      default:
        return true;
    }
  }

  private stepFollower(m: Message): boolean {
    switch (m.type) {
      case 'MsgProp':
        if (this.lead === null) return false;
        m.to = this.lead;
        this.send(m);
        return true;
      case 'MsgApp':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return true;
      case 'MsgHeartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return true;
      case 'MsgSnap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return true;
      case 'MsgTransferLeader':
        if (this.lead === null) return false;
        m.to = this.lead;
        this.send(m);
        return true;
      case 'MsgTimeoutNow':
        // The leader asks us to take over at once: skip pre-vote, and voters ignore their lease.
        this.hup('transfer');
        return true;
      case 'MsgReadIndex':
        if (this.lead === null) return false;
        m.to = this.lead;
        this.send(m);
        return true;
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return true;
      case 'MsgLeaderLost':
        if (this.lead !== null && this.lead === m.from) {
          // The host saw the connection to our leader drop. Forget the leader (so our lease no longer
          // makes us ignore others' pre-votes) and campaign after the random part of the election
          // timeout only. Pre-vote still protects the cluster: members that do hear from the
          // leader refuse while their lease holds.
          this.lead = null;
          this.electionElapsed = Math.max(this.electionElapsed, this.electionTimeout);
        }
        return true;
      default:
        return true;
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== null) {
      this.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: lastNew }));
      return;
    }
    // Tell the leader where to probe next: our last entry at or before m.index whose term is at most
    // m.logTerm (every entry after it certainly mismatches).
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(
      makeMessage({
        type: 'MsgAppResp',
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send(makeMessage({ type: 'MsgHeartbeatResp', to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === null) return;
    if (this.restore(s)) {
      this.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: this.log.lastIndex() }));
    } else {
      this.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: this.log.committed }));
    }
  }

  /** Installs a snapshot from the leader; false when it is stale or our log already holds its index. */
  private restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.log.committed) return false;
    if (this.state !== 'follower') {
      this.becomeFollower(this.term + 1, null);
      return false;
    }
    if (this.log.matchTerm(s.metadata.index, s.metadata.term)) {
      // Our log already has the entry: just commit up to it.
      this.log.commitTo(s.metadata.index);
      return false;
    }
    this.log.restore(s);
    this.prs.voters.clear();
    this.prs.learners.clear();
    this.prs.progress.clear();
    this.applyConfState(s.metadata.confState);
    return true;
  }

  private applyConfState(cs: ConfState): void {
    const next = this.log.lastIndex() + 1;
    for (const id of cs.voters) {
      this.prs.voters.add(id);
      this.prs.progress.set(id, new Progress(next, this.prs.maxInflight, false));
    }
    for (const id of cs.learners) {
      this.prs.learners.add(id);
      this.prs.progress.set(id, new Progress(next, this.prs.maxInflight, true));
    }
    const self = this.prs.progress.get(this.id);
    if (self !== undefined) self.match = this.log.persistedLastIndex();
    this.isLearner = this.prs.learners.has(this.id);
  }

  // ---------------------------------------------------------------- membership

  /** Applies a committed conf change (the host calls this when it applies the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    const prs = this.prs;
    const id = cc.nodeId;
    switch (cc.type) {
      case 'add-voter':
        if (prs.learners.has(id)) {
          prs.learners.delete(id);
          prs.voters.add(id);
          (prs.progress.get(id) as Progress).isLearner = false;
        } else if (!prs.voters.has(id)) {
          prs.voters.add(id);
          this.addProgress(id, false);
        }
        break;
      case 'add-learner':
        if (prs.voters.has(id)) {
          if (prs.voters.size === 1) break; // never demote the last voter
          prs.voters.delete(id);
          prs.learners.add(id);
          (prs.progress.get(id) as Progress).isLearner = true;
        } else if (!prs.learners.has(id)) {
          prs.learners.add(id);
          this.addProgress(id, true);
        }
        break;
      case 'remove-node':
        if (prs.voters.has(id) && prs.voters.size === 1) break; // never remove the last voter
        prs.voters.delete(id);
        prs.learners.delete(id);
        prs.progress.delete(id);
        break;
    }
    this.isLearner = prs.learners.has(this.id);
    const cs = prs.confState();
    if (this.state !== 'leader') return cs;

    if (!prs.voters.has(this.id)) {
      // This leader was removed (or demoted): hand over to the most up-to-date voter if it has
      // everything, then step down; a non-voter cannot lead.
      let best: string | null = null;
      let bestMatch = -1;
      for (const v of [...prs.voters].sort()) {
        const m = prs.progress.get(v)?.match ?? 0;
        if (m > bestMatch) {
          best = v;
          bestMatch = m;
        }
      }
      if (best !== null && bestMatch === this.log.lastIndex()) this.sendTimeoutNow(best);
      this.becomeFollower(this.term, null);
      return cs;
    }
    if (this.maybeCommit()) {
      this.onLeaderCommitAdvanced();
      this.bcastAppend();
    } else {
      for (const other of prs.ids()) if (other !== this.id) this.maybeSendAppend(other, false);
    }
    if (this.leadTransferee !== null && !prs.voters.has(this.leadTransferee)) this.leadTransferee = null;
    return cs;
  }

  private addProgress(id: string, isLearner: boolean): void {
    const pr = new Progress(this.log.lastIndex() + 1, this.prs.maxInflight, isLearner);
    // Count a new member as active so check-quorum does not fire at once and a snapshot can go out.
    pr.recentActive = true;
    this.prs.progress.set(id, pr);
  }
}

function validateConfig(c: RaftConfig): void {
  if (typeof c.id !== 'string' || c.id === '') throw new InvalidConfigError('id must be a non-empty string');
  if (c.storage === undefined || c.storage === null) throw new InvalidConfigError('storage is required');
  if (typeof c.random !== 'function') throw new InvalidConfigError('random must be a function returning [0, 1)');
  if (!Number.isInteger(c.heartbeatTick) || c.heartbeatTick < 1) {
    throw new InvalidConfigError('heartbeatTick must be an integer >= 1');
  }
  if (!Number.isInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    throw new InvalidConfigError('electionTick must be an integer greater than heartbeatTick');
  }
  if (c.maxInflightMsgs !== undefined && (!Number.isInteger(c.maxInflightMsgs) || c.maxInflightMsgs < 1)) {
    throw new InvalidConfigError('maxInflightMsgs must be an integer >= 1');
  }
  if (c.maxSizePerMsg !== undefined && !(c.maxSizePerMsg >= 0)) {
    throw new InvalidConfigError('maxSizePerMsg must be >= 0');
  }
}
