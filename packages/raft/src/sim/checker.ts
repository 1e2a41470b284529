import type { Entry } from '../types.js';

export type ViolationKind =
  | 'election-safety'
  | 'double-vote'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'lost-acknowledged-write'
  | 'stale-read'
  | 'liveness'
  | 'crash';

export interface Violation {
  kind: ViolationKind;
  step: number;
  message: string;
}

const decoder = new TextDecoder();

/** How the checker identifies an entry: its term plus its payload, so two no-ops of different terms differ. */
export function entryKey(e: Entry): string {
  return `${e.term}:${e.type === 'conf-change' ? 'cc:' : ''}${decoder.decode(e.data)}`;
}

/**
 * The safety properties of Raft (paper §5.2-5.4) plus the client-visible ones, checked incrementally
 * as the simulated hosts persist, apply and answer. The first violation is kept; the run stops there.
 */
export class SafetyChecker {
  violation: Violation | null = null;
  step = 0;
  /** term -> the member that became leader in it. */
  private readonly leaders = new Map<number, string>();
  /** `${index}:${term}` -> `${prevTerm}|${key}`: the same (index, term) must always be the same entry after the same predecessor. */
  private readonly logIdentity = new Map<string, string>();
  /** index -> key of the entry applied there (by anyone). */
  readonly applied: string[] = [];
  /** index -> term of applied entries (for leader completeness). */
  readonly appliedTerms: number[] = [];
  /** Highest index of a write acknowledged to a client so far. */
  maxAckedIndex = 0;
  /** value -> index, for every acknowledged write. */
  readonly acked = new Map<string, number>();

  fail(kind: ViolationKind, message: string): void {
    if (this.violation === null) this.violation = { kind, step: this.step, message };
  }

  /** member|term -> the candidate it granted its vote to. */
  private readonly votes = new Map<string, string>();

  /** A member sent a vote grant: Raft allows one per term, even across restarts (the vote is persisted). */
  onVoteGranted(id: string, term: number, candidate: string): void {
    const k = `${id}|${term}`;
    const prev = this.votes.get(k);
    if (prev === undefined) this.votes.set(k, candidate);
    else if (prev !== candidate)
      this.fail('double-vote', `${id} voted for ${prev} and for ${candidate} in term ${term}`);
  }

  onLeader(id: string, term: number): void {
    const other = this.leaders.get(term);
    if (other !== undefined && other !== id) {
      this.fail('election-safety', `two leaders in term ${term}: ${other} and ${id}`);
      return;
    }
    this.leaders.set(term, id);
  }

  /** An entry a member persisted, with the term of the entry just before it in that member's log. */
  onPersistedEntry(id: string, e: Entry, prevTerm: number): void {
    const k = `${e.index}:${e.term}`;
    const v = `${prevTerm}|${entryKey(e)}`;
    const seen = this.logIdentity.get(k);
    if (seen === undefined) this.logIdentity.set(k, v);
    else if (seen !== v) {
      this.fail('log-matching', `${id} persisted entry ${k} as "${v}" but another member has "${seen}"`);
    }
  }

  /** A member applied the entry at `index` (its previous applied index must be index-1). */
  onApply(id: string, index: number, term: number, key: string): void {
    const seen = this.applied[index];
    if (seen === undefined) {
      this.applied[index] = key;
      this.appliedTerms[index] = term;
    } else if (seen !== key) {
      this.fail('state-machine-safety', `${id} applied "${key}" at index ${index}, another member applied "${seen}"`);
    }
  }

  /**
   * A member just became leader; `termAt(i)` is its log's term at i (null when compacted), and
   * `lastIndex` its last index. Every entry applied anywhere must be in its log.
   */
  onLeaderLog(id: string, term: number, termAt: (i: number) => number | null, lastIndex: number): void {
    for (let i = this.applied.length - 1; i >= 1; i--) {
      const t = this.appliedTerms[i];
      if (t === undefined) continue;
      if (i > lastIndex) {
        this.fail(
          'leader-completeness',
          `${id} leads term ${term} with last index ${lastIndex}, but ${i} is committed`,
        );
        return;
      }
      const mine = termAt(i);
      if (mine === null) return; // compacted: everything below is in its snapshot
      if (mine !== t) {
        this.fail('leader-completeness', `${id} leads term ${term} with term ${mine} at ${i}, committed term is ${t}`);
        return;
      }
    }
  }

  onAck(value: string, index: number): void {
    if (!this.acked.has(value)) this.acked.set(value, index);
    if (index > this.maxAckedIndex) this.maxAckedIndex = index;
  }

  /** A read that started when `ackedBefore` was the highest acknowledged write got read index `index`. */
  onRead(id: string, readId: string, index: number, ackedBefore: number): void {
    if (index < ackedBefore) {
      this.fail(
        'stale-read',
        `${id} answered read ${readId} at index ${index}, but a write at ${ackedBefore} was acknowledged before it started`,
      );
    }
  }
}
