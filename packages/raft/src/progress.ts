import type { ConfState, ProgressState, ProgressStatus } from './types.js';

/**
 * The last indexes of the MsgApp messages sent to one follower and not yet acknowledged: a bounded
 * window, so a slow follower cannot make the leader buffer an unbounded amount of data.
 */
export class Inflights {
  private readonly buffer: number[];
  private start = 0;
  count = 0;

  constructor(readonly size: number) {
    this.buffer = new Array<number>(size).fill(0);
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error('inflights full');
    this.buffer[(this.start + this.count) % this.size] = lastIndex;
    this.count++;
  }

  /** Frees every message whose last index is <= `to` (acknowledged by a MsgAppResp). */
  freeLE(to: number): void {
    while (this.count > 0 && (this.buffer[this.start] as number) <= to) {
      this.start = (this.start + 1) % this.size;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.size;
    this.count--;
  }

  full(): boolean {
    return this.count === this.size;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

/**
 * The leader's view of one follower. Probe: we do not know where its log matches; send one MsgApp at
 * a time and wait. Replicate: it is following; stream entries optimistically within the in-flight
 * window. Snapshot: it needs a snapshot; send nothing until the host reports on the snapshot.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round; also gates sending snapshots. */
  recentActive = false;
  /** In probe state: a MsgApp was sent and no answer has arrived yet. */
  probeSent = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // Probe right after the snapshot (if it was applied, match is at least pendingSnapshot).
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** A positive MsgAppResp for index n. Returns false for stale (older) acknowledgements. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * A rejected MsgApp at index `rejected`; `matchHint` is where the follower suggests to probe next.
   * Returns false when the rejection is stale (it answers an older probe).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  toStatus(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      pendingSnapshot: this.pendingSnapshot,
      recentActive: this.recentActive,
      paused: this.isPaused(),
      inflight: this.inflights.count,
      isLearner: this.isLearner,
    };
  }
}

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The membership (voters and learners), each member's Progress, and the votes of the current
 * election. Quorum is a simple majority of voters (changes are one voter at a time).
 */
export class ProgressTracker {
  voters = new Set<string>();
  learners = new Set<string>();
  progress = new Map<string, Progress>();
  private votes = new Map<string, boolean>();
  /** Extra grants counted by the planted "double-count votes" bug; always 0 in production. */
  private duplicateGrants = 0;

  constructor(readonly maxInflight: number) {}

  confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort(), votersOutgoing: [] };
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** Member ids in a fixed order, so message order (and thus a simulation) is deterministic. */
  ids(): string[] {
    return [...this.progress.keys()].sort();
  }

  /** The highest index replicated on a quorum of voters. */
  committedIndex(): number {
    if (this.voters.size === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1] as number;
  }

  /** Whether a quorum of voters has been heard from recently (the caller counts itself as active). */
  quorumActive(self: string): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === self || this.progress.get(id)?.recentActive) active++;
    }
    return active >= this.quorum();
  }

  resetVotes(): void {
    this.votes.clear();
    this.duplicateGrants = 0;
  }

  recordVote(id: string, granted: boolean, countDuplicates: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    else if (countDuplicates && granted && this.votes.get(id) === true) this.duplicateGrants++;
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = this.duplicateGrants;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    const missing = this.voters.size - granted - rejected;
    const result: VoteResult = granted >= q ? 'won' : granted + missing >= q ? 'pending' : 'lost';
    return { granted, rejected, result };
  }
}
