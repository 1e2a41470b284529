import {
  bootstrapState,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type Ready,
  type Snapshot,
} from '@kemu/raft';
import type { Logger, Random, Runtime, TimerHandle } from '@kemu/runtime';
import { MvccStore } from '../mvcc/store.js';
import type { EtcdRequest, EtcdResponse, RangeRequest, RangeResponse } from '../mvcc/types.js';
import {
  EtcdError,
  LeaderChangedError,
  LeaseNotFoundError,
  MemberExistsError,
  MemberNotFoundError,
  NoLeaderError,
  NotEnoughMembersError,
  RequestTimeoutError,
  RequestTooLargeError,
  StoppedError,
} from '../server/errors.js';
import { clusterHexId, memberHexId } from '../server/ids.js';
import type { Member } from '../server/protocol.js';
import type { FileSystem, Snapshotter, Wal } from '../storage/index.js';
import {
  decodeProposal,
  decodeSnapshotPayload,
  encodeProposal,
  encodeSnapshotPayload,
  type Proposal,
  type SnapshotPayload,
} from './codec.js';
import type { MemberConfig } from './config.js';
import { collectGarbage } from './gc.js';
import { LeaseClock } from './lease-clock.js';
import type { MemberMetrics } from './metrics.js';
import { openDataDir } from './persistence.js';
import { createRaftDriver, type RaftDriver } from './raft-driver.js';
import { ReadIndexBatcher } from './read-index.js';
import { AppliedWaiters, ProposalWaiters } from './waiters.js';

/** What a leader may send before its own write is durable (see handleReady). */
const EARLY_MESSAGES: ReadonlySet<string> = new Set(['MsgApp', 'MsgHeartbeat', 'MsgSnap']);

export interface MemberInfo {
  name: string;
  url: string;
  learner: boolean;
}

/** How a member sends Raft messages; implemented over the wire by PeerTransport. */
export interface RaftSender {
  send(messages: Message[]): void;
  /** Whether the link to `peer` is up right now. */
  isConnected(peer: string): boolean;
}

export interface EtcdServerDeps {
  runtime: Runtime;
  random: Random;
  log: Logger;
  fs: FileSystem;
  metrics?: MemberMetrics;
}

/**
 * One etcd member's core: Raft node, WAL + snapshots, MVCC store, proposals, linearizable reads and
 * the leader's lease clock. It knows nothing of sockets: the peer transport feeds it messages through
 * `step` and sends what `RaftSender` is given; the client service calls `propose`/`read`.
 *
 * The Ready loop (`drive`) follows the etcd-io/raft contract: persist snapshot, hard state and
 * entries (one group-committed WAL write) → send messages → apply the snapshot and committed entries
 * → answer reads → advance. Acknowledging happens in apply, so an answered write is durable on a
 * quorum and applied here.
 */
export class EtcdServer {
  readonly store: MvccStore;
  readonly memberId: string;
  readonly clusterId: string;
  private raft!: RaftDriver;
  private wal!: Wal;
  private snapshotter!: Snapshotter;
  private sender: RaftSender | undefined;
  private readonly proposals: ProposalWaiters<EtcdResponse | Member[]>;
  private readonly applied = new AppliedWaiters();
  private readonly reads: ReadIndexBatcher;
  private readonly leases: LeaseClock;
  private members = new Map<string, MemberInfo>();
  private appliedIndex = 0;
  private snapshotIndex = 0;
  private confState: ConfState = { voters: [], learners: [], votersOutgoing: [] };
  private lead: string | null = null;
  private role = 'follower';
  private term = 0;
  private latestHardState: HardState = { term: 0, vote: null, commit: 0 };
  private driving = false;
  private again = false;
  private stopped = false;
  private snapshotting = false;
  private tickTimer: TimerHandle | undefined;
  private leaseTimer: TimerHandle | undefined;
  private proposalSeq = 0;
  private readonly bootId: string;
  private leaderWaiters: (() => void)[] = [];
  private readonly log: Logger;
  private readonly runtime: Runtime;
  leaderChanges = 0;
  /** Called whenever the leader this member knows changes (the transport watches the new leader's link). */
  onLeaderChange: ((lead: string | null) => void) | undefined;

  constructor(
    readonly cfg: MemberConfig,
    private readonly deps: EtcdServerDeps,
  ) {
    this.log = deps.log;
    this.runtime = deps.runtime;
    this.memberId = memberHexId(cfg.name);
    this.clusterId = clusterHexId(cfg.peers.map((p) => p.name));
    this.bootId = Math.floor(deps.random.next() * 2 ** 40).toString(36);
    // Minimum lease TTL as etcd computes it: ceil(3 × election timeout), same on every member.
    this.store = new MvccStore({ minLeaseTtl: Math.ceil((3 * cfg.electionTimeoutMs) / 1000) });
    this.proposals = new ProposalWaiters(deps.runtime);
    this.reads = new ReadIndexBatcher(
      deps.runtime,
      `${cfg.name}:${this.bootId}`,
      (ctx) => {
        this.raft.readIndex(ctx);
        this.kick();
      },
      Math.max(2 * cfg.heartbeatIntervalMs, 200),
    );
    this.leases = new LeaseClock(deps.runtime);
    for (const p of cfg.peers) this.members.set(p.name, { name: p.name, url: p.url, learner: false });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(sender: RaftSender): Promise<void> {
    this.sender = sender;
    const rec = await openDataDir(
      this.deps.fs,
      this.cfg.dataDir,
      { clusterId: this.clusterId, memberId: this.memberId },
      this.log,
    );
    this.wal = rec.wal;
    this.snapshotter = rec.snapshotter;
    if (rec.fresh && this.cfg.initialClusterState === 'new') {
      // A brand-new cluster starts from Raft's bootstrap snapshot (index 1: the initial voters).
      // Persist it like any snapshot so a restart recovers exactly as after a later one.
      const boot = bootstrapState(this.cfg.peers.map((p) => p.name));
      const payload: SnapshotPayload = { store: this.store.serialize(), members: [...this.members.values()] };
      rec.snapshot = { metadata: boot.snapshot.metadata, data: encodeSnapshotPayload(payload) };
      rec.hardState = boot.hardState;
      await this.persistSnapshot(rec.snapshot);
      await this.wal.save(boot.hardState, []);
    }
    if (rec.snapshot) {
      const payload = decodeSnapshotPayload(rec.snapshot.data);
      this.store.restoreFrom(payload.store);
      this.members = new Map(payload.members.map((m) => [m.name, m]));
      this.appliedIndex = rec.snapshot.metadata.index;
      this.snapshotIndex = rec.snapshot.metadata.index;
      this.lastSnapshotBytes = rec.snapshot.data.length;
      this.confState = rec.snapshot.metadata.confState;
    }
    this.latestHardState = rec.hardState;
    this.raft = createRaftDriver({
      id: this.cfg.name,
      snapshot: rec.snapshot,
      hardState: rec.hardState,
      entries: rec.entries,
      applied: this.appliedIndex,
      electionTicks: Math.max(2, Math.round(this.cfg.electionTimeoutMs / this.cfg.heartbeatIntervalMs)),
      heartbeatTicks: 1,
      random: this.deps.random,
    });
    if (!rec.snapshot) this.confState = this.raft.confState();
    this.log.info(
      {
        fresh: rec.fresh,
        snapshotIndex: this.snapshotIndex,
        walEntries: rec.entries.length,
        term: rec.hardState.term,
        commit: rec.hardState.commit,
      },
      rec.fresh ? 'member starting with an empty data dir' : 'member recovered from its data dir',
    );
    this.tickTimer = this.runtime.setInterval(() => this.tick(), this.cfg.heartbeatIntervalMs);
    this.leaseTimer = this.runtime.setInterval(() => this.expireLeases(), 250);
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.tickTimer?.cancel();
    this.leaseTimer?.cancel();
    const err = new StoppedError();
    this.proposals.failAll(err);
    this.reads.failAll(err);
    for (const w of this.leaderWaiters) w();
    await this.wal?.close();
  }

  // ---- inputs from the transport --------------------------------------------------------------

  step(msg: Message): void {
    if (this.stopped) return;
    try {
      this.raft.step(msg);
    } catch (err) {
      this.log.debug({ err, type: msg.type, from: msg.from }, 'raft rejected a message');
    }
    this.kick();
  }

  /** The link to `peer` failed; if it is our leader, start a pre-vote now (fast failover). */
  peerUnreachable(peer: string): void {
    if (this.stopped) return;
    this.raft.reportUnreachable(peer);
    if (peer === this.lead && this.role !== 'leader') {
      this.log.info({ leader: peer }, 'lost the connection to the leader; campaigning through pre-vote');
      this.raft.leaderLost(peer);
      // Raft alone would wait out the random part of an election timeout (up to a whole one). A
      // short jitter of a couple of heartbeats keeps the two followers from colliding while
      // bringing the failover well under the election timeout; pre-vote still stops a member that
      // merely lost its own link from disrupting a healthy leader (the others are in lease).
      const delay = this.deps.random.next() * 2 * this.cfg.heartbeatIntervalMs;
      this.runtime.setTimeout(() => {
        if (this.stopped || this.raft.knownLeader() !== null || this.role === 'leader') return;
        this.raft.campaign();
        this.kick();
      }, delay);
    }
    this.kick();
  }

  /**
   * A MsgProp (a follower forwarding proposals to its leader) could not even be sent: those
   * proposals certainly were not applied, so their clients get a retryable "no leader".
   */
  proposalsUndeliverable(msg: Message): void {
    for (const e of msg.entries) {
      try {
        const p = decodeProposal(e.data);
        this.proposals.fail(p.id, new NoLeaderError('etcdserver: no leader (the leader is unreachable)'));
      } catch {
        // not one of ours
      }
    }
  }

  reportSnapshot(peer: string, ok: boolean): void {
    this.raft.reportSnapshot(peer, ok);
    this.kick();
  }

  private tick(): void {
    if (this.stopped) return;
    this.raft.tick();
    this.kick();
  }

  // ---- queries --------------------------------------------------------------------------------

  get leader(): string | null {
    return this.lead;
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  get raftTerm(): number {
    return this.term;
  }

  get appliedRaftIndex(): number {
    return this.appliedIndex;
  }

  get raftIndex(): number {
    return this.raft.lastIndex();
  }

  memberList(): MemberInfo[] {
    return [...this.members.values()].filter(
      (m) => this.confState.voters.includes(m.name) || this.confState.learners.includes(m.name),
    );
  }

  memberUrl(name: string): string | undefined {
    return this.members.get(name)?.url;
  }

  walStats(): ReturnType<Wal['stats']> {
    return this.wal.stats();
  }

  /** How long a request waits for a leader to appear before failing with "no leader". */
  leaderWaitMs(): number {
    return Math.min(this.cfg.requestTimeoutMs, this.cfg.electionTimeoutMs);
  }

  /** Waits (bounded) for a leader; rejects with a typed error saying why there is none. */
  async waitForLeader(timeoutMs: number): Promise<string> {
    if (this.stopped) throw new StoppedError();
    if (this.lead) return this.lead;
    await new Promise<void>((resolve) => {
      const t = this.runtime.setTimeout(done, timeoutMs);
      const self = this;
      function done(): void {
        t.cancel();
        self.leaderWaiters = self.leaderWaiters.filter((w) => w !== done);
        resolve();
      }
      this.leaderWaiters.push(done);
    });
    if (this.lead) return this.lead;
    if (this.stopped) throw new StoppedError();
    throw this.role === 'pre-candidate' || this.role === 'candidate'
      ? new NotEnoughMembersError()
      : new NoLeaderError();
  }

  // ---- writes ---------------------------------------------------------------------------------

  /**
   * Proposes a store request and resolves with the store's answer once this member has applied it.
   * A follower's proposal is forwarded to the leader by Raft (MsgProp) and still answered here.
   */
  async propose(req: EtcdRequest): Promise<EtcdResponse> {
    const id = this.nextProposalId();
    return (await this.proposeRaw({ kind: 'kv', id, req })) as EtcdResponse;
  }

  async addMember(name: string, url: string, learner: boolean): Promise<Member[]> {
    if (this.members.has(name) && this.memberList().some((m) => m.name === name)) throw new MemberExistsError();
    const id = this.nextProposalId();
    return (await this.proposeRaw({ kind: 'member', id, op: 'add', name, url, learner })) as Member[];
  }

  async removeMember(name: string): Promise<Member[]> {
    if (!this.memberList().some((m) => m.name === name)) throw new MemberNotFoundError();
    const id = this.nextProposalId();
    return (await this.proposeRaw({ kind: 'member', id, op: 'remove', name, url: '', learner: false })) as Member[];
  }

  private async proposeRaw(p: Proposal): Promise<EtcdResponse | Member[]> {
    if (this.stopped) throw new StoppedError();
    const data = encodeProposal(p);
    if (data.length > this.cfg.maxRequestBytes) throw new RequestTooLargeError();
    const started = this.runtime.monotonic();
    const lead = await this.waitForLeader(this.leaderWaitMs());
    if (lead !== this.cfg.name && this.sender && !this.sender.isConnected(lead)) {
      // Forwarding to a leader we cannot reach would lose the proposal; say "no leader" (retryable)
      // and let the link failure turn into an election.
      this.peerUnreachable(lead);
      throw new NoLeaderError('etcdserver: no leader (the leader is unreachable)');
    }
    const remaining = this.cfg.requestTimeoutMs - (this.runtime.monotonic() - started);
    const done = this.proposals.wait(p.id, Math.max(1, remaining), () => new RequestTimeoutError());
    try {
      if (p.kind === 'member') {
        this.raft.proposeConfChange(
          p.op === 'add' ? (p.learner ? 'add-learner' : 'add-voter') : 'remove-node',
          p.name,
          data,
        );
      } else {
        this.raft.propose(data);
      }
    } catch (err) {
      this.deps.metrics?.proposalsFailed.inc();
      this.proposals.fail(
        p.id,
        new NoLeaderError(`etcdserver: no leader (proposal dropped: ${(err as Error).message})`),
      );
    }
    this.deps.metrics?.proposalsPending.inc();
    this.kick();
    try {
      return await done;
    } catch (err) {
      this.deps.metrics?.proposalsFailed.inc();
      throw err;
    } finally {
      this.deps.metrics?.proposalsPending.dec();
    }
  }

  private nextProposalId(): string {
    return `${this.cfg.name}:${this.bootId}:${++this.proposalSeq}`;
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** A linearizable barrier: resolves when this member's store reflects every write acknowledged before the call. */
  async linearizableBarrier(): Promise<void> {
    const started = this.runtime.monotonic();
    await this.waitForLeader(this.leaderWaitMs());
    const remaining = Math.max(1, this.cfg.requestTimeoutMs - (this.runtime.monotonic() - started));
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.runtime.setTimeout(() => reject(new RequestTimeoutError()), remaining);
    });
    try {
      const index = await Promise.race([this.reads.read(), timeout]);
      await Promise.race([this.applied.wait(index, this.appliedIndex), timeout]);
    } finally {
      timer?.cancel();
    }
  }

  async range(req: RangeRequest, serializable: boolean): Promise<RangeResponse> {
    if (!serializable) await this.linearizableBarrier();
    return this.store.range(req);
  }

  // ---- leases (the leader's clock decides expiry) -----------------------------------------------

  /** Renews a lease; only the leader can (callers forward to it). Returns the granted TTL. */
  keepAlive(id: number): number {
    const info = this.store.leases().find((l) => l.id === id);
    if (!info) throw new LeaseNotFoundError();
    this.leases.renew(id, info.ttl);
    return info.ttl;
  }

  /** Remaining seconds by the leader's clock (-1 if no such lease). */
  remainingTtl(id: number): number {
    const info = this.store.leases().find((l) => l.id === id);
    if (!info) return -1;
    return this.leases.remainingSeconds(id, info.ttl);
  }

  private expireLeases(): void {
    if (this.stopped || this.role !== 'leader') return;
    for (const id of this.leases.expired()) {
      this.leases.markRevoking(id);
      this.propose({ type: 'leaseRevoke', id }).then(
        () => this.leases.forget(id),
        (err) => {
          this.leases.unmarkRevoking(id);
          this.log.debug({ err, lease: id }, 'lease revoke proposal failed; will retry');
        },
      );
    }
  }

  // ---- the Ready loop -------------------------------------------------------------------------

  /** Schedules a pass of the Ready loop (coalesced: one pass handles everything pending). */
  kick(): void {
    if (this.stopped) return;
    if (this.driving) {
      this.again = true;
      return;
    }
    this.driving = true;
    queueMicrotask(() => void this.drive());
  }

  private async drive(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.raft.hasReady()) {
          const rd = this.raft.ready();
          await this.handleReady(rd);
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.log.fatal({ err }, 'ready loop failed; stopping the member (data dir is intact, restart recovers)');
      void this.stop().finally(() => process.exit(1));
    } finally {
      this.driving = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.state);
    if (rd.hardState) this.term = rd.hardState.term;
    // Messages go out after the write they depend on is durable (a member that crashes after
    // answering must remember what it answered). Exception, per the Ready contract of @kemu/raft
    // (etcd's "leader writes in parallel", Raft thesis §10.2.1): while term and vote are unchanged,
    // a leader's MsgApp/MsgHeartbeat/MsgSnap may leave before its own fsync, because Raft counts the
    // leader's log toward a quorum only after advance(), i.e. once it is durable here too.
    const hs = rd.hardState;
    const termVoteDurable = !hs || (hs.term === this.latestHardState.term && hs.vote === this.latestHardState.vote);
    let later = rd.messages;
    if (this.role === 'leader' && termVoteDurable) {
      this.send(rd.messages.filter((m) => EARLY_MESSAGES.has(m.type)));
      later = rd.messages.filter((m) => !EARLY_MESSAGES.has(m.type));
    }
    if (rd.snapshot) await this.persistSnapshot(rd.snapshot);
    if (rd.hardState) this.latestHardState = rd.hardState;
    if (rd.mustSync) {
      const started = this.runtime.monotonic();
      await this.wal.save(this.latestHardState, rd.entries);
      this.deps.metrics?.walFsync.observe((this.runtime.monotonic() - started) / 1000);
    }
    // When only the commit index moved, nothing is written now (etcd does not fsync it either): it
    // rides along with the next durable write, and a member that loses it relearns it from the
    // leader. Writing it separately would put a second fsync in front of the next append.
    this.raft.persisted(rd);
    this.send(later);
    if (rd.snapshot) this.applySnapshot(rd.snapshot);
    if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
    for (const rs of rd.readStates) this.reads.onReadState(new TextDecoder().decode(rs.requestCtx), rs.index);
    this.raft.advance(rd);
    this.maybeSnapshot();
  }

  private send(messages: Message[]): void {
    if (messages.length > 0) this.sender?.send(messages);
  }

  private onSoftState(lead: string | null, role: string): void {
    const wasLeader = this.role === 'leader';
    this.role = role;
    if (lead !== this.lead) {
      if (this.lead !== null && this.proposals.size > 0) {
        // Proposals handed to the old leader (ours or forwarded) may or may not commit under the
        // next one. Say so now ("leader changed": outcome unknown, not retried by clients) rather
        // than leaving the clients hanging until the request timeout.
        this.proposals.failAll(new LeaderChangedError());
      }
      this.lead = lead;
      this.leaderChanges++;
      this.deps.metrics?.leaderChanges.inc();
      this.log.info({ leader: lead, role }, lead ? 'leader elected' : 'no leader');
      this.onLeaderChange?.(lead);
      if (lead) {
        const ws = this.leaderWaiters;
        this.leaderWaiters = [];
        for (const w of ws) w();
      }
    }
    if (role === 'leader' && !wasLeader) {
      // A new leader restarts every lease's clock from its full TTL (etcd's lessor.Promote).
      this.leases.promote(this.store.leases());
    } else if (role !== 'leader' && wasLeader) {
      this.leases.demote();
    }
  }

  private async persistSnapshot(snap: Snapshot): Promise<void> {
    await this.snapshotter.save(snap);
    await this.wal.saveSnapshot({ index: snap.metadata.index, term: snap.metadata.term });
  }

  private applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.appliedIndex || snap.data.length === 0) return;
    const payload = decodeSnapshotPayload(snap.data);
    this.store.restoreFrom(payload.store);
    this.members = new Map(payload.members.map((m) => [m.name, m]));
    this.confState = snap.metadata.confState;
    this.appliedIndex = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.lastSnapshotBytes = snap.data.length;
    this.bytesSinceSnapshot = 0;
    this.log.info({ index: snap.metadata.index, term: snap.metadata.term }, 'restored the store from a snapshot');
    if (this.role === 'leader') this.leases.promote(this.store.leases());
    this.applied.trigger(this.appliedIndex);
  }

  private applyEntries(entries: Entry[]): void {
    const started = this.runtime.monotonic();
    for (const e of entries) {
      if (e.index <= this.appliedIndex) continue;
      if (e.type === 'conf-change') this.applyConfChange(e);
      else if (e.data.length > 0) {
        this.applyNormal(e);
        this.bytesSinceSnapshot += e.data.length;
      }
      this.appliedIndex = e.index;
    }
    this.deps.metrics?.applyDuration.observe((this.runtime.monotonic() - started) / 1000);
    this.applied.trigger(this.appliedIndex);
  }

  private applyNormal(e: Entry): void {
    let p: Proposal;
    try {
      p = decodeProposal(e.data);
    } catch (err) {
      this.log.error({ err, index: e.index }, 'undecodable entry; skipped on every member alike');
      return;
    }
    if (p.kind !== 'kv') return;
    let result: EtcdResponse | Error;
    try {
      // An entry that owns its exact-size buffer (proposed here, or copied out of a peer's batch)
      // can lend its bytes to the store; entries replayed from the WAL are views into a segment.
      result = this.store.apply(p.req, { adoptValues: e.data.byteLength === e.data.buffer.byteLength });
      if (p.req.type === 'leaseGrant' && this.role === 'leader')
        this.leases.renew(p.req.id, (result as { ttl: number }).ttl);
      if (p.req.type === 'leaseRevoke') this.leases.forget(p.req.id);
    } catch (err) {
      result = err instanceof Error ? err : new EtcdError('ETCD_APPLY', String(err));
    }
    if (this.proposals.has(p.id)) {
      this.deps.metrics?.proposalsCommitted.inc();
      this.proposals.trigger(p.id, result);
    }
  }

  private applyConfChange(e: Entry): void {
    const { change, context } = this.raft.decodeConfChange(e.data);
    let p: Proposal | undefined;
    try {
      p = context.length > 0 ? decodeProposal(context) : undefined;
    } catch {
      p = undefined;
    }
    this.confState = this.raft.applyConfChange(change);
    if (p && p.kind === 'member') {
      if (p.op === 'add') this.members.set(p.name, { name: p.name, url: p.url, learner: p.learner });
      this.log.info({ op: p.op, member: p.name, voters: this.confState.voters }, 'membership changed');
      if (p.op === 'remove' && p.name === this.cfg.name) {
        this.log.warn('this member was removed from the cluster; stopping');
        this.runtime.setTimeout(() => void this.stop(), 100);
      }
      if (this.proposals.has(p.id)) {
        this.proposals.trigger(
          p.id,
          this.memberList().map((m) => this.describeMember(m)),
        );
      }
    }
  }

  describeMember(m: MemberInfo): Member {
    return { id: memberHexId(m.name), name: m.name, peerUrls: [m.url], clientUrls: [m.url], isLearner: m.learner };
  }

  private maybeSnapshot(): void {
    if (this.snapshotting || this.appliedIndex - this.snapshotIndex < this.cfg.snapshotCount) return;
    this.snapshotting = true;
    const index = this.appliedIndex;
    const payload: SnapshotPayload = { store: this.store.serialize(), members: [...this.members.values()] };
    // Raft's in-memory storage keeps only the metadata; the data lives in the snapshot file and is
    // read back when a lagging follower needs it (snapshotData), so it does not sit in memory.
    const meta = this.raft.createSnapshot(index, this.confState, new Uint8Array(0)).metadata;
    const snap: Snapshot = { metadata: meta, data: encodeSnapshotPayload(payload) };
    void (async () => {
      try {
        await this.persistSnapshot(snap);
        this.snapshotIndex = index;
        this.lastSnapshotBytes = snap.data.length;
        this.bytesSinceSnapshot = 0;
        const compactTo = index - this.cfg.snapshotCatchUpEntries;
        if (compactTo >= this.raft.firstIndex()) this.raft.compact(compactTo);
        // Segments wholly before the snapshot are no longer needed for recovery.
        await this.wal.purgeBefore(index);
        this.log.info({ index, compactedTo: Math.max(0, compactTo) }, 'saved a snapshot and compacted the log');
        collectGarbage();
      } catch (err) {
        this.log.error({ err, index }, 'snapshot failed; will retry');
      } finally {
        this.snapshotting = false;
      }
    })();
  }

  private lastSnapshotBytes = 0;
  private bytesSinceSnapshot = 0;

  /**
   * etcd's "DB SIZE", estimated without serializing the store: the size of the last snapshot plus
   * the request bytes applied since (like etcd's bolt file, it overstates after deletes).
   */
  approximateDbSize(): number {
    return this.lastSnapshotBytes + this.bytesSinceSnapshot;
  }

  /** The data of the snapshot Raft wants to send (its storage holds only metadata). */
  async snapshotData(meta: { term: number; index: number }): Promise<Uint8Array> {
    const snap = await this.snapshotter.loadNewestAvailable([{ term: meta.term, index: meta.index }]);
    if (!snap) throw new Error(`snapshot ${meta.term}/${meta.index} is no longer on disk`);
    return snap.data;
  }

  /** For the Status RPC. */
  hardState(): HardState {
    return this.raft.hardState();
  }
}
