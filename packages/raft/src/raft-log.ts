import { CompactedError, RaftInvariantError, UnavailableError } from './errors.js';
import type { Storage } from './storage.js';
import { limitSize } from './storage.js';
import type { Entry, Snapshot } from './types.js';

/**
 * Entries (and possibly a snapshot) the node has accepted but the host has not yet persisted. They
 * are handed out in a Ready and dropped from here when the host calls advance().
 */
class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** Index of entries[0]. Everything below it is in storage (or in `snapshot`). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | null {
    return this.snapshot ? this.snapshot.metadata.index + 1 : null;
  }

  maybeLastIndex(): number | null {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot) return this.snapshot.metadata.index;
    return null;
  }

  maybeTerm(i: number): number | null {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return null;
    }
    const e = this.entries[i - this.offset];
    return e === undefined ? null : e.term;
  }

  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const e = this.entries[index - this.offset];
    // A later append may have replaced the persisted entries meanwhile; then they stay unstable.
    if (e === undefined || e.term !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = null;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: Entry[]): void {
    const after = (ents[0] as Entry).index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable; storage keeps a stale suffix the next persist overwrites.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

/** The node's view of the log: persisted entries in Storage followed by unstable ones. */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed by a quorum. */
  committed: number;
  /** Highest index handed to the host for applying (and acknowledged by advance()). */
  applied: number;
  private readonly maxApplySize: number;

  constructor(storage: Storage, maxApplySize: number) {
    this.storage = storage;
    this.maxApplySize = maxApplySize;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index the host has persisted and that still belongs to this log (for the leader's own vote on commit). */
  persistedLastIndex(): number {
    if (this.unstable.snapshot) return 0;
    if (this.unstable.entries.length > 0) return Math.min(this.unstable.offset - 1, this.storage.lastIndex());
    return this.storage.lastIndex();
  }

  /** Term of entry i, or null when i is compacted or past the end. The snapshot's own index has a term. */
  term(i: number): number | null {
    const t = this.unstable.maybeTerm(i);
    if (t !== null) return t;
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return null;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return null;
      throw err;
    }
  }

  termOrZero(i: number): number {
    return this.term(i) ?? 0;
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === null) throw new RaftInvariantError(`no term for last index ${this.lastIndex()}`);
    return t;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Raft's election restriction: is a candidate's log (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries: if our log holds (index, logTerm), append `ents` (replacing a
   * conflicting suffix) and commit up to min(committed, last new index). Returns the last new index,
   * or null when the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | null {
    if (!this.matchTerm(index, logTerm)) return null;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftInvariantError(`entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** First entry whose (index, term) is not in our log, or 0 when all of them are. */
  private findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term: lets a rejecting follower
   * (and the leader reading the hint) skip a whole term of mismatching entries in one round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = Math.min(index, this.lastIndex()); i > 0; i--) {
      const t = this.term(i);
      if (t === null) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = (ents[0] as Entry).index - 1;
    if (after < this.committed) {
      throw new RaftInvariantError(
        `append after ${after} would overwrite committed entries (committed ${this.committed})`,
      );
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  /** Entries in [lo, hi) limited to maxSize bytes, or null when lo is compacted. */
  slice(lo: number, hi: number, maxSize: number): Entry[] | null {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return null;
    if (hi > this.lastIndex() + 1) {
      throw new RaftInvariantError(`slice [${lo}, ${hi}) out of bounds (last index ${this.lastIndex()})`);
    }
    let ents: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      const storedHi = Math.min(hi, offset);
      try {
        ents = this.storage.entries(lo, storedHi, maxSize);
      } catch (err) {
        if (err instanceof CompactedError) return null;
        throw err;
      }
      if (ents.length < storedHi - lo) return ents;
    }
    if (hi > offset) {
      const unstable = this.unstable.slice(Math.max(lo, offset), hi);
      ents = ents.length > 0 ? ents.concat(unstable) : unstable;
    }
    return limitSize(ents, maxSize);
  }

  /** Entries from i to the end, or null when i is compacted. */
  entriesFrom(i: number, maxSize: number): Entry[] | null {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  hasNextCommittedEntries(): boolean {
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  nextCommittedEntries(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= off) return [];
    const ents = this.slice(off, this.committed + 1, this.maxApplySize);
    if (ents === null) throw new RaftInvariantError(`committed entries from ${off} are compacted`);
    return ents;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new RaftInvariantError(`applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  /** Commits up to maxIndex only if that entry is from `term` (Raft never commits older terms by counting). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }
}
