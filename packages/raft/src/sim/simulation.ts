import type { ConfChange } from '../conf-change.js';
import { decodeConfChange } from '../conf-change.js';
import { RaftError } from '../errors.js';
import { RawNode } from '../raw-node.js';
import { MemoryStorage } from '../storage.js';
import type { ConfState, Message, Ready, Snapshot } from '../types.js';
import { entryKey, SafetyChecker, type Violation } from './checker.js';
import { formatMessage } from './format.js';
import { SimNetwork } from './network.js';
import { SimRandom } from './random.js';

export interface SimOptions {
  seed: number;
  /** 3 or 5 members. */
  members: number;
  /** Steps of chaos before the network heals and liveness is checked. One step is about one tick. */
  steps?: number;
  /** Receives one readable line per event. */
  trace?: (line: string) => void;
  /**
   * Fault mix. 'mixed' (default) draws every fault kind at random; 'leader-churn' is a nemesis that
   * kills or cuts off most new leaders within a step or two of winning, the schedule behind
   * Figure 8 of the Raft paper.
   */
  profile?: SimProfile;
}

export type SimProfile = 'mixed' | 'leader-churn';

export interface SimStats {
  steps: number;
  proposals: number;
  acked: number;
  reads: number;
  readsServed: number;
  elections: number;
  crashes: number;
  snapshotsSent: number;
  maxTerm: number;
  appliedIndex: number;
}

export interface SimResult {
  seed: number;
  members: number;
  violation: Violation | null;
  stats: SimStats;
}

/** The parameters a seed draws; printed at the start of a trace. */
interface SimParams {
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  compactEvery: number;
  compactKeep: number;
  faultRate: number;
  proposeRate: number;
  readRate: number;
  crashMidReady: boolean;
  crashAfterReady: number;
  crashAfterVote: number;
  /** Whether this seed adds and removes members. */
  membership: boolean;
  /** Small values make committed entries arrive over several Readys. */
  maxCommittedSizePerReady: number;
  /** Leader-churn nemesis: chance that a new leader is killed or cut off within a few steps of winning. */
  leaderChurn: number;
  /** The nemesis strikes within [0, churnDelay) steps. */
  churnDelay: number;
}

interface PendingRead {
  ackedBefore: number;
}

class SimMember {
  node: RawNode | null = null;
  /** Keys of the applied entries: sm[i - 1] is index i. This is the member's (volatile) state machine. */
  sm: string[] = [];
  confState: ConfState = { voters: [], learners: [], votersOutgoing: [] };
  tickRate = 1;
  tickCredit = 0;
  restartAt = 0;
  pendingProposals = new Set<string>();
  pendingReads = new Map<string, PendingRead>();
  snapshotReports: { to: string; ok: boolean }[] = [];
  unreachable = new Set<string>();

  constructor(
    readonly id: string,
    readonly storage: MemoryStorage,
    readonly rng: SimRandom,
  ) {}
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BOOT_KEY = '#boot';

function encodeState(sm: string[], upTo: number): Uint8Array {
  return encoder.encode(JSON.stringify(sm.slice(0, upTo)));
}

function decodeState(data: Uint8Array): string[] {
  if (data.length === 0) return [BOOT_KEY];
  return JSON.parse(decoder.decode(data)) as string[];
}

const LEADER_REPLICATION: ReadonlySet<string> = new Set(['MsgApp', 'MsgHeartbeat', 'MsgSnap']);

/**
 * One seeded run: a cluster of RawNodes driven by simulated hosts over a faulty in-memory network,
 * with crashes that keep only what each host persisted. Safety is checked after every step;
 * liveness once the faults heal.
 */
export class Simulation {
  readonly checker = new SafetyChecker();
  private readonly rng: SimRandom;
  private readonly network: SimNetwork;
  private readonly members = new Map<string, SimMember>();
  private readonly ids: string[];
  private readonly params: SimParams;
  private readonly trace: ((line: string) => void) | undefined;
  private readonly chaosSteps: number;
  private now = 0;
  /** Members whose removal some member applied: they are out for good (ids are never reused). */
  private readonly removed = new Set<string>();
  private churnAt: { id: string; term: number; at: number } | null = null;
  private healAt = 0;
  private valueCounter = 0;
  private readCounter = 0;
  private readonly stats: SimStats = {
    steps: 0,
    proposals: 0,
    acked: 0,
    reads: 0,
    readsServed: 0,
    elections: 0,
    crashes: 0,
    snapshotsSent: 0,
    maxTerm: 0,
    appliedIndex: 0,
  };

  constructor(private readonly options: SimOptions) {
    this.rng = new SimRandom(options.seed);
    this.network = new SimNetwork(this.rng.fork());
    this.trace = options.trace;
    this.chaosSteps = options.steps ?? 300;
    this.ids = Array.from({ length: options.members }, (_, i) => `n${i + 1}`);
    const r = this.rng;
    this.params = {
      electionTick: 10,
      heartbeatTick: r.int(1, 4),
      preVote: r.chance(0.6),
      checkQuorum: r.chance(0.6),
      maxSizePerMsg: r.chance(0.5) ? 0 : 4096,
      maxInflightMsgs: r.int(1, 9),
      compactEvery: r.int(3, 30),
      compactKeep: r.int(0, 6),
      faultRate: 0.02 + r.next() * 0.04,
      proposeRate: 0.1 + r.next() * 0.4,
      readRate: 0.05 + r.next() * 0.2,
      crashMidReady: r.chance(0.5),
      crashAfterReady: r.chance(0.5) ? 0.004 : 0,
      crashAfterVote: r.chance(0.5) ? 0.1 : 0,
      membership: r.chance(0.5),
      maxCommittedSizePerReady: r.chance(0.3) ? 64 : 16 * 1024 * 1024,
      leaderChurn: r.chance(0.3) ? 0.3 + r.next() * 0.6 : 0,
      churnDelay: 4,
    };
    if (options.profile === 'leader-churn') {
      Object.assign(this.params, {
        maxSizePerMsg: 0,
        maxInflightMsgs: r.int(1, 3),
        faultRate: 0.01,
        proposeRate: 0.5,
        leaderChurn: 0.9,
        churnDelay: 10,
      });
    }
    this.network.faults = {
      dropRate: r.next() * 0.1,
      duplicateRate: r.next() * 0.1,
      maxDelay: r.int(0, 4),
      straggleRate: r.chance(0.5) ? r.next() * 0.03 : 0,
    };
    for (const id of this.ids) {
      const m = new SimMember(id, MemoryStorage.bootstrap(this.ids), this.rng.fork());
      this.members.set(id, m);
      this.start(m);
    }
    this.log(
      `seed ${options.seed}: ${options.members} members, profile ${options.profile ?? 'mixed'} ${JSON.stringify(this.params)}`,
    );
    this.log(`network ${JSON.stringify(this.network.faults)}`);
  }

  private log(line: string): void {
    if (this.trace) this.trace(`[${String(this.now).padStart(4)}] ${line}`);
  }

  // ------------------------------------------------------------------ member lifecycle

  private start(m: SimMember): void {
    const p = this.params;
    m.node = new RawNode({
      id: m.id,
      storage: m.storage,
      electionTick: p.electionTick,
      heartbeatTick: p.heartbeatTick,
      random: () => m.rng.next(),
      preVote: p.preVote,
      checkQuorum: p.checkQuorum,
      maxSizePerMsg: p.maxSizePerMsg,
      maxInflightMsgs: p.maxInflightMsgs,
      maxCommittedSizePerReady: p.maxCommittedSizePerReady,
      // The state machine is volatile: it restarts from the persisted snapshot and raft replays the rest.
      applied: m.storage.snapshot().metadata.index,
    });
    const snap = m.storage.snapshot();
    // A member that joined later starts empty, until the leader sends it a snapshot.
    m.sm = snap.metadata.index === 0 ? [] : decodeState(snap.data);
    m.confState = snap.metadata.confState;
    m.tickCredit = 0;
  }

  private crash(m: SimMember, why: string, restartWithin = 60): void {
    m.node = null;
    m.sm = [];
    m.pendingProposals.clear();
    m.pendingReads.clear();
    m.snapshotReports = [];
    m.unreachable.clear();
    m.restartAt = this.now + this.rng.int(1, restartWithin);
    this.stats.crashes++;
    this.log(`${m.id} CRASH (${why}); persisted term=${m.storage.hardState().term} last=${m.storage.lastIndex()}`);
  }

  private restart(m: SimMember): void {
    this.start(m);
    this.log(
      `${m.id} RESTART from persisted state: hs=${JSON.stringify(m.storage.hardState())} snapshot=${m.storage.snapshot().metadata.index} last=${m.storage.lastIndex()}`,
    );
  }

  private alive(): SimMember[] {
    return this.ids.map((id) => this.members.get(id) as SimMember).filter((m) => m.node !== null);
  }

  private currentLeader(): SimMember | null {
    let best: SimMember | null = null;
    let bestTerm = -1;
    for (const m of this.alive()) {
      const st = (m.node as RawNode).status();
      if (st.softState.state === 'leader' && st.hardState.term > bestTerm) {
        best = m;
        bestTerm = st.hardState.term;
      }
    }
    return best;
  }

  // ------------------------------------------------------------------ the host loop

  private guard(m: SimMember, what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const msg = err instanceof RaftError ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
      this.checker.fail('crash', `${m.id} threw during ${what}: ${msg}`);
    }
  }

  private sendMessage(from: SimMember, msg: Message): void {
    if (msg.type === 'MsgVoteResp' && !msg.reject) this.checker.onVoteGranted(from.id, msg.term, msg.to);
    // A candidate votes for itself: that vote is implied by its MsgVote requests.
    if (msg.type === 'MsgVote') this.checker.onVoteGranted(from.id, msg.term, from.id);
    const ok = this.network.send(msg, this.now);
    if (this.trace) this.log(`  send ${formatMessage(msg)}${ok ? '' : ' (lost)'}`);
    if (msg.type === 'MsgSnap') {
      this.stats.snapshotsSent++;
      if (!ok) from.snapshotReports.push({ to: msg.to, ok: false });
    } else if (!ok && !this.network.canReach(msg.from, msg.to)) {
      // Like a real transport, a failed connection is reported (it makes the leader probe again).
      from.unreachable.add(msg.to);
    }
  }

  /** Handles every Ready of a member, as a real host would. */
  private processReady(m: SimMember): void {
    for (let rounds = 0; rounds < 100; rounds++) {
      const node = m.node;
      if (node === null || this.checker.violation !== null) return;
      if (m.snapshotReports.length > 0) {
        const reports = m.snapshotReports;
        m.snapshotReports = [];
        for (const r of reports) node.reportSnapshot(r.to, r.ok ? 'finish' : 'failure');
      }
      if (m.unreachable.size > 0) {
        for (const id of m.unreachable) node.reportUnreachable(id);
        m.unreachable.clear();
      }
      if (!node.hasReady()) return;
      const rd = node.ready();
      this.handleReady(m, node, rd);
    }
  }

  private handleReady(m: SimMember, node: RawNode, rd: Ready): void {
    const storage = m.storage;
    let newLeaderTerm = 0;
    if (rd.softState !== null) {
      const term = rd.hardState?.term ?? storage.hardState().term;
      this.log(`${m.id} is now ${rd.softState.state} (lead=${rd.softState.lead ?? '-'}, term ${term})`);
      if (rd.softState.state === 'leader') {
        newLeaderTerm = node.status().hardState.term;
        this.checker.onLeader(m.id, newLeaderTerm);
        this.stats.elections++;
        if (this.params.leaderChurn > 0 && m.rng.chance(this.params.leaderChurn)) {
          this.churnAt = {
            id: m.id,
            term: newLeaderTerm,
            at: this.now + m.rng.int(0, m.rng.chance(0.5) ? 2 : this.params.churnDelay),
          };
        }
      }
    }

    // A crash in the middle of handling a Ready. If the term and vote did not change, a leader may
    // already have sent its replication messages while its own write was in progress.
    if (this.params.crashMidReady && m.rng.chance(0.01)) {
      const hs = storage.hardState();
      const sameVote = rd.hardState === null || (rd.hardState.term === hs.term && rd.hardState.vote === hs.vote);
      if (sameVote) for (const msg of rd.messages) if (LEADER_REPLICATION.has(msg.type)) this.sendMessage(m, msg);
      this.crash(m, 'mid-ready, before persisting');
      return;
    }

    // 1. Persist snapshot, entries and hard state (one atomic write).
    if (rd.snapshot !== null) {
      storage.applySnapshot(rd.snapshot);
      this.log(`${m.id} persisted snapshot ${rd.snapshot.metadata.index}/t${rd.snapshot.metadata.term}`);
    }
    if (rd.entries.length > 0) {
      storage.append(rd.entries);
      for (const e of rd.entries) {
        let prevTerm = 0;
        try {
          prevTerm = storage.term(e.index - 1);
        } catch {
          prevTerm = -1;
        }
        if (prevTerm >= 0) this.checker.onPersistedEntry(m.id, e, prevTerm);
      }
    }
    if (rd.hardState !== null) storage.setHardState(rd.hardState);
    if (newLeaderTerm > 0) {
      const termAt = (i: number): number | null => {
        try {
          return storage.term(i);
        } catch {
          return null;
        }
      };
      this.checker.onLeaderLog(m.id, newLeaderTerm, termAt, storage.lastIndex());
    }

    // 2. Send.
    for (const msg of rd.messages) this.sendMessage(m, msg);

    // 3. Apply the snapshot, then the committed entries.
    if (rd.snapshot !== null) this.applySnapshot(m, rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.index !== m.sm.length + 1) {
        this.checker.fail('state-machine-safety', `${m.id} applied index ${e.index} after ${m.sm.length}`);
        return;
      }
      const key = entryKey(e);
      this.checker.onApply(m.id, e.index, e.term, key);
      m.sm.push(key);
      if (e.index > this.stats.appliedIndex) this.stats.appliedIndex = e.index;
      if (e.type === 'conf-change') {
        const cc = decodeConfChange(e.data);
        m.confState = node.applyConfChange(cc);
        if (cc.type === 'remove-node' && !this.removed.has(cc.nodeId)) {
          this.removed.add(cc.nodeId);
          this.log(`${cc.nodeId} is removed from the cluster (applied at ${e.index})`);
        }
      } else if (e.data.length > 0) {
        const value = decoder.decode(e.data);
        if (m.pendingProposals.delete(value)) {
          this.checker.onAck(value, e.index);
          this.stats.acked++;
          this.log(`${m.id} ACK ${value} at ${e.index}`);
        }
      }
    }
    if (rd.committedEntries.length > 0) {
      this.log(`${m.id} applied up to ${m.sm.length}`);
    }

    // 4. Answer reads. Our check is on the read index itself; a real host would also wait for applied >= index.
    for (const rs of rd.readStates) {
      const readId = decoder.decode(rs.requestCtx);
      const pending = m.pendingReads.get(readId);
      if (pending === undefined) continue;
      m.pendingReads.delete(readId);
      this.stats.readsServed++;
      this.log(`${m.id} READ ${readId} at index ${rs.index} (acked before start: ${pending.ackedBefore})`);
      this.checker.onRead(m.id, readId, rs.index, pending.ackedBefore);
    }

    node.advance();
    this.maybeCompact(m);
    // The process dies right after a Ready: what it persisted and sent stands, the rest is lost.
    // Crashing right after casting a vote is the moment a forgotten vote would matter most.
    const voted =
      rd.hardState !== null &&
      rd.hardState.vote !== null &&
      rd.messages.some((x) => x.type === 'MsgVoteResp' || x.type === 'MsgVote');
    if (m.rng.chance(this.params.crashAfterReady) || (voted && m.rng.chance(this.params.crashAfterVote))) {
      this.crash(m, 'after a Ready', 4);
    }
  }

  private applySnapshot(m: SimMember, snap: Snapshot): void {
    const state = decodeState(snap.data);
    if (state.length !== snap.metadata.index) {
      this.checker.fail(
        'state-machine-safety',
        `${m.id} got snapshot ${snap.metadata.index} with ${state.length} entries`,
      );
      return;
    }
    for (let i = 0; i < state.length; i++) {
      const key = state[i] as string;
      if (key === BOOT_KEY) continue;
      const term = Number(key.slice(0, key.indexOf(':')));
      this.checker.onApply(m.id, i + 1, term, key);
    }
    m.sm = state;
    m.confState = snap.metadata.confState;
    this.log(`${m.id} restored snapshot ${snap.metadata.index}`);
  }

  private maybeCompact(m: SimMember): void {
    const applied = m.sm.length;
    const snapIndex = m.storage.snapshot().metadata.index;
    if (applied - snapIndex < this.params.compactEvery) return;
    m.storage.createSnapshot(applied, m.confState, encodeState(m.sm, applied));
    const compactTo = applied - this.params.compactKeep;
    if (compactTo >= m.storage.firstIndex()) m.storage.compact(compactTo);
  }

  // ------------------------------------------------------------------ clients and faults

  private propose(): void {
    const live = this.alive();
    if (live.length === 0) return;
    // Clients mostly find the leader, sometimes talk to whoever (followers forward).
    const leader = this.currentLeader();
    const m = leader !== null && this.rng.chance(0.7) ? leader : this.rng.pick(live);
    const count = this.rng.chance(0.2) ? this.rng.int(2, 5) : 1;
    const values = Array.from({ length: count }, () => `v${++this.valueCounter}`);
    try {
      (m.node as RawNode).proposeBatch(values.map((v) => encoder.encode(v)));
      for (const v of values) m.pendingProposals.add(v);
      this.stats.proposals += count;
      this.log(`client proposes ${values.join(',')} at ${m.id}`);
    } catch (err) {
      if (!(err instanceof RaftError && err.code === 'raft-proposal-dropped')) throw err;
      this.log(`client proposal ${values.join(',')} at ${m.id} dropped (${err.message})`);
    }
  }

  private read(): void {
    const live = this.alive();
    if (live.length === 0) return;
    const leader = this.currentLeader();
    const m = leader !== null && this.rng.chance(0.5) ? leader : this.rng.pick(live);
    const readId = `r${++this.readCounter}`;
    m.pendingReads.set(readId, { ackedBefore: this.checker.maxAckedIndex });
    (m.node as RawNode).readIndex(encoder.encode(readId));
    this.stats.reads++;
    this.log(`client read ${readId} at ${m.id} (highest acked write: ${this.checker.maxAckedIndex})`);
  }

  private fault(): void {
    const r = this.rng;
    const live = this.alive();
    const kind = r.pick([
      'partition',
      'partition',
      'isolate-leader',
      'isolate-leader',
      'bridge',
      'heal',
      'heal',
      'crash',
      'crash-leader',
      'crash-quick',
      'tick-rates',
      'network',
      'transfer',
      'leader-lost',
      'membership',
      'membership',
    ] as const);
    switch (kind) {
      case 'partition': {
        const ids = r.shuffle([...this.ids]);
        const k = r.int(1, Math.floor(ids.length / 2) + 1);
        this.network.heal();
        this.network.partition(ids.slice(0, k), ids.slice(k));
        this.log(`FAULT partition ${ids.slice(0, k).join(',')} | ${ids.slice(k).join(',')}`);
        break;
      }
      case 'isolate-leader': {
        const leader = this.currentLeader();
        if (leader === null) return;
        this.network.partition(
          [leader.id],
          this.ids.filter((id) => id !== leader.id),
        );
        this.log(`FAULT isolate leader ${leader.id}`);
        break;
      }
      case 'bridge': {
        const ids = r.shuffle([...this.ids]);
        const bridge = ids[0] as string;
        const half = Math.floor((ids.length - 1) / 2);
        const a = ids.slice(1, 1 + half);
        const b = ids.slice(1 + half);
        this.network.heal();
        this.network.partition([...a, bridge], [...b, bridge]);
        this.log(`FAULT bridge: ${a.join(',')} <-> ${bridge} <-> ${b.join(',')}`);
        break;
      }
      case 'heal':
        this.network.heal();
        this.log('FAULT heal partitions');
        break;
      case 'crash':
        if (live.length > 0) this.crash(r.pick(live), 'fault');
        break;
      case 'crash-quick':
        if (live.length > 0) this.crash(r.pick(live), 'fault (quick restart)', 4);
        break;
      case 'crash-leader': {
        const leader = this.currentLeader();
        if (leader !== null) this.crash(leader, 'fault (leader)');
        break;
      }
      case 'tick-rates':
        for (const id of this.ids) {
          const m = this.members.get(id) as SimMember;
          m.tickRate = r.chance(0.1) ? 0 : 0.3 + r.next() * 1.4;
        }
        this.log(
          `FAULT tick rates ${this.ids.map((id) => `${id}=${(this.members.get(id) as SimMember).tickRate.toFixed(2)}`).join(' ')}`,
        );
        break;
      case 'network':
        this.network.faults = {
          dropRate: r.next() * 0.2,
          duplicateRate: r.next() * 0.2,
          maxDelay: r.int(0, 5),
          straggleRate: r.chance(0.5) ? r.next() * 0.05 : 0,
        };
        this.log(`FAULT network ${JSON.stringify(this.network.faults)}`);
        break;
      case 'transfer': {
        const leader = this.currentLeader();
        if (leader === null) return;
        const to = r.pick(this.ids.filter((id) => id !== leader.id));
        (leader.node as RawNode).transferLeadership(to);
        this.log(`transfer leadership ${leader.id} -> ${to}`);
        break;
      }
      case 'membership':
        if (this.params.membership) this.changeMembership();
        break;
      case 'leader-lost': {
        for (const m of live) {
          const lead = (m.node as RawNode).status().softState.lead;
          if (lead !== null && lead !== m.id && !this.network.canReach(m.id, lead)) {
            (m.node as RawNode).reportLeaderLost(lead);
            this.log(`${m.id} reports leader ${lead} lost`);
          }
        }
        break;
      }
    }
  }

  /**
   * A client asks the leader to remove a voter (possibly the leader itself), to add a brand-new
   * member (empty storage; it joins from a snapshot) as voter or learner, or to promote a learner.
   */
  private changeMembership(): void {
    const leader = this.currentLeader();
    if (leader === null) return;
    const cs = leader.confState;
    const r = this.rng;
    let cc: ConfChange;
    if (cs.learners.length > 0 && r.chance(0.5)) {
      cc = { type: 'add-voter', nodeId: r.pick(cs.learners), context: '' };
    } else if (cs.voters.length >= 3 && (this.ids.length >= this.options.members + 2 || r.chance(0.5))) {
      cc = { type: 'remove-node', nodeId: r.pick(cs.voters), context: '' };
    } else if (this.ids.length < this.options.members + 2) {
      const id = `n${this.ids.length + 1}`;
      const m = new SimMember(id, new MemoryStorage(), this.rng.fork());
      this.members.set(id, m);
      this.ids.push(id);
      this.start(m);
      this.log(`${id} STARTED as a new, empty member`);
      cc = { type: r.chance(0.3) ? 'add-learner' : 'add-voter', nodeId: id, context: '' };
    } else {
      return;
    }
    try {
      (leader.node as RawNode).proposeConfChange(cc);
      this.log(`client proposes conf change ${cc.type} ${cc.nodeId} at ${leader.id}`);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
      this.log(`conf change ${cc.type} ${cc.nodeId} refused: ${err.message}`);
    }
  }

  /** The leader-churn nemesis strikes the leader it picked, if that member still leads the same term. */
  private churn(): void {
    const target = this.churnAt;
    this.churnAt = null;
    if (target === null) return;
    const m = this.members.get(target.id) as SimMember;
    const st = m.node?.status();
    if (st === undefined || st.softState.state !== 'leader' || st.hardState.term !== target.term) return;
    if (this.rng.chance(0.5)) {
      this.crash(m, 'leader churn', 10);
    } else {
      this.network.heal();
      this.network.partition(
        [m.id],
        this.ids.filter((id) => id !== m.id),
      );
      this.healAt = this.now + this.rng.int(3, 20);
      this.log(`FAULT leader churn: isolate ${m.id}`);
    }
  }

  // ------------------------------------------------------------------ the step

  private deliver(): void {
    for (const { msg, reachable } of this.network.takeDue(this.now)) {
      const to = this.members.get(msg.to);
      const from = this.members.get(msg.from);
      if (to === undefined) continue;
      if (to.node === null || !reachable) {
        if (this.trace && !reachable) this.log(`  lost ${formatMessage(msg)} (partitioned while in flight)`);
        if (msg.type === 'MsgSnap' && from?.node) from.snapshotReports.push({ to: msg.to, ok: false });
        continue;
      }
      if (this.trace) this.log(`  recv ${formatMessage(msg)}`);
      this.guard(to, `step(${msg.type})`, () => (to.node as RawNode).step(msg));
      if (msg.type === 'MsgSnap' && from?.node) from.snapshotReports.push({ to: msg.to, ok: true });
    }
  }

  private stepOnce(chaos: boolean): void {
    this.now++;
    this.checker.step = this.now;
    this.stats.steps = this.now;
    if (!chaos) this.retireRemoved();
    for (const m of this.members.values()) {
      if (m.node === null && !this.removed.has(m.id) && (m.restartAt <= this.now || !chaos)) this.restart(m);
    }
    if (chaos) {
      if (this.churnAt !== null && this.churnAt.at <= this.now) this.churn();
      if (this.healAt > 0 && this.healAt <= this.now) {
        this.healAt = 0;
        this.network.heal();
        this.log('FAULT leader churn: heal');
      }
      if (this.rng.chance(this.params.faultRate)) this.fault();
      if (this.params.membership && this.rng.chance(0.015)) this.changeMembership();
      if (this.rng.chance(this.params.proposeRate)) this.propose();
      if (this.rng.chance(this.params.readRate)) this.read();
    }
    for (const id of this.ids) {
      const m = this.members.get(id) as SimMember;
      if (m.node === null) continue;
      m.tickCredit += m.tickRate;
      while (m.tickCredit >= 1 && m.node !== null) {
        m.tickCredit -= 1;
        this.guard(m, 'tick', () => (m.node as RawNode).tick());
      }
    }
    this.deliver();
    for (const id of this.ids) {
      const m = this.members.get(id) as SimMember;
      this.guard(m, 'ready', () => this.processReady(m));
    }
  }

  /** Every member applied the probe and every acknowledged write. */
  private caughtUp(probeIndex: number): boolean {
    const target = Math.max(probeIndex, this.checker.maxAckedIndex);
    return this.inConfig().every((m) => m.sm.length >= target);
  }

  /** Live members of the current leader's configuration (all live members when there is no leader). */
  private inConfig(): SimMember[] {
    const leader = this.currentLeader();
    if (leader === null) return this.alive();
    const cs = leader.confState;
    return this.alive().filter((m) => cs.voters.includes(m.id) || cs.learners.includes(m.id));
  }

  /** Like etcd, a removed member's process shuts down (otherwise, without pre-vote, it keeps disrupting). */
  private retireRemoved(): void {
    for (const id of this.removed) {
      const m = this.members.get(id);
      if (m?.node) {
        m.node = null;
        m.restartAt = Number.MAX_SAFE_INTEGER;
        this.log(`${id} shuts down (removed)`);
      }
    }
  }

  /** After healing: a leader must emerge and a new proposal must be applied everywhere. */
  private checkLiveness(): void {
    this.network.heal();
    this.network.faults = { dropRate: 0, duplicateRate: 0, maxDelay: 1, straggleRate: 0 };
    for (const m of this.members.values()) m.tickRate = 1;
    this.log('HEAL: all partitions removed, all members restarted, no loss; checking liveness');
    const limit = this.now + 60 * this.params.electionTick;
    const probe = `probe-${this.options.seed}`;
    let proposedAt = -1;
    let probeIndex = 0;
    while (this.now < limit && this.checker.violation === null) {
      this.stepOnce(false);
      const leader = this.currentLeader();
      if (leader !== null && (proposedAt < 0 || this.now - proposedAt > 4 * this.params.electionTick)) {
        try {
          (leader.node as RawNode).propose(encoder.encode(probe));
          leader.pendingProposals.add(probe);
          proposedAt = this.now;
          this.log(`liveness probe proposed at ${leader.id}`);
        } catch (err) {
          if (!(err instanceof RaftError)) throw err;
        }
      }
      if (probeIndex === 0) probeIndex = this.checker.acked.get(probe) ?? 0;
      if (probeIndex > 0 && this.caughtUp(probeIndex)) break;
    }
    if (this.checker.violation !== null) return;
    if (probeIndex === 0 || !this.caughtUp(probeIndex)) {
      const states = this.alive()
        .map((m) => {
          const st = (m.node as RawNode).status();
          return `${m.id}:${st.softState.state}/t${st.hardState.term}/applied=${m.sm.length}`;
        })
        .join(' ');
      this.checker.fail(
        'liveness',
        `no leader committed a new proposal within ${60 * this.params.electionTick} steps after healing (${states})`,
      );
      return;
    }
    // Every acknowledged write is in every member's state machine, at the index it was acknowledged at.
    for (const m of this.inConfig()) {
      for (const [value, index] of this.checker.acked) {
        const key = m.sm[index - 1];
        if (key === undefined || key.slice(key.indexOf(':') + 1) !== value) {
          this.checker.fail(
            'lost-acknowledged-write',
            `${m.id} has "${key}" at ${index} where acknowledged ${value} was`,
          );
          return;
        }
      }
    }
  }

  run(): SimResult {
    for (let i = 0; i < this.chaosSteps && this.checker.violation === null; i++) this.stepOnce(true);
    if (this.checker.violation === null) this.checkLiveness();
    for (const m of this.members.values()) {
      this.stats.maxTerm = Math.max(this.stats.maxTerm, m.storage.hardState().term);
    }
    if (this.checker.violation !== null) this.log(`VIOLATION ${JSON.stringify(this.checker.violation)}`);
    return {
      seed: this.options.seed,
      members: this.options.members,
      violation: this.checker.violation,
      stats: this.stats,
    };
  }
}

/** Members for a seed when not given: alternate 3 and 5 so any seed range mixes both. */
export function defaultMembersForSeed(seed: number): number {
  return seed % 2 === 0 ? 3 : 5;
}

export function runSeed(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

export function replayCommand(
  seed: number,
  members: number,
  options: { steps?: number | undefined; bugs?: readonly string[]; profile?: SimProfile } = {},
): string {
  const stepsArg = options.steps === undefined ? '' : ` --steps ${options.steps}`;
  const profileArg =
    options.profile === undefined || options.profile === 'mixed' ? '' : ` --profile ${options.profile}`;
  const bugArgs = (options.bugs ?? []).map((b) => ` --plant-bug ${b}`).join('');
  return `npm run raft:sim -- --seeds 1 --seed-start ${seed} --members ${members}${stepsArg}${profileArg}${bugArgs} --trace`;
}
