import { CompactedError, RaftInvariantError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { EMPTY_BYTES, emptyConfState, emptyHardState, emptySnapshot } from './types.js';

/**
 * What the Raft core reads from the host's durable log. Only read: the host writes it while handling
 * a Ready (see README.md). Errors: `CompactedError` for indexes folded into a snapshot,
 * `UnavailableError` for indexes past the end, `SnapshotTemporarilyUnavailableError` from snapshot().
 */
export interface Storage {
  /** The persisted hard state and the configuration as of the latest snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one when lo < hi, and at most `maxSize` bytes of payload beyond the first. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry `index`; valid for [firstIndex() - 1, lastIndex()] (the snapshot's own index included). */
  term(index: number): number;
  lastIndex(): number;
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number;
  /** The most recent snapshot, sent to followers whose next entry was compacted. */
  snapshot(): Snapshot;
}

/** Approximate size of an entry on the wire, for the message and apply size limits. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

/** Keeps the longest prefix within `maxSize` bytes, but always at least one entry. */
export function limitSize(entries: Entry[], maxSize: number): Entry[] {
  if (entries.length <= 1) return entries;
  let size = entrySize(entries[0] as Entry);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entrySize(entries[n] as Entry);
    if (size > maxSize) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/**
 * The first state of a brand-new cluster's members: a snapshot at index 1, term 1 holding the initial
 * configuration (empty application data), and a hard state committing it. A member that joins later
 * starts from empty storage and receives this (or a later) snapshot from the leader, so the initial
 * configuration never needs to be replayed from log entries.
 */
export function bootstrapState(
  voters: string[],
  learners: string[] = [],
): { snapshot: Snapshot; hardState: HardState } {
  return {
    snapshot: {
      metadata: {
        index: 1,
        term: 1,
        confState: { voters: [...voters].sort(), learners: [...learners].sort(), votersOutgoing: [] },
      },
      data: EMPTY_BYTES,
    },
    hardState: { term: 1, vote: null, commit: 1 },
  };
}

/**
 * An in-memory Storage, like etcd's MemoryStorage: the sim uses it as the durable state of a member,
 * and a real host can use it as the cache in front of its WAL. `ents[0]` is a dummy entry holding the
 * snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  private hard: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: EMPTY_BYTES }];

  /** Storage for an initial member of a new cluster (see `bootstrapState`). */
  static bootstrap(voters: string[], learners: string[] = []): MemoryStorage {
    const s = new MemoryStorage();
    const { snapshot, hardState } = bootstrapState(voters, learners);
    s.applySnapshot(snapshot);
    s.setHardState(hardState);
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hard }, confState: copyConfState(this.snap.metadata.confState) };
  }

  hardState(): HardState {
    return { ...this.hard };
  }

  setHardState(hs: HardState): void {
    this.hard = { ...hs };
  }

  private get offset(): number {
    return (this.ents[0] as Entry).index;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  term(index: number): number {
    const offset = this.offset;
    if (index < offset) throw new CompactedError(index, offset + 1);
    const e = this.ents[index - offset];
    if (e === undefined) throw new UnavailableError(index, this.lastIndex());
    return e.term;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.offset;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader (or the bootstrap snapshot). */
  applySnapshot(snapshot: Snapshot): void {
    const current = this.snap.metadata.index;
    if (snapshot.metadata.index <= current && current > 0) {
      throw new SnapshotOutOfDateError(snapshot.metadata.index, current);
    }
    this.snap = snapshot;
    this.ents = [{ term: snapshot.metadata.term, index: snapshot.metadata.index, type: 'normal', data: EMPTY_BYTES }];
  }

  /**
   * Records a snapshot of the application state as of `index` (which must be applied). Follow it
   * with `compact` to drop the log prefix it covers.
   */
  createSnapshot(index: number, confState: ConfState | null, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    this.snap = {
      metadata: {
        index,
        term: this.term(index),
        confState: copyConfState(confState ?? this.snap.metadata.confState),
      },
      data,
    };
    return this.snap;
  }

  /** Discards entries up to and including `compactIndex`; the caller keeps a snapshot covering them. */
  compact(compactIndex: number): void {
    const offset = this.offset;
    if (compactIndex <= offset) throw new CompactedError(compactIndex, offset + 1);
    if (compactIndex > this.lastIndex()) throw new UnavailableError(compactIndex, this.lastIndex());
    if (compactIndex > this.snap.metadata.index) {
      throw new RaftInvariantError(`compact(${compactIndex}) beyond the snapshot at ${this.snap.metadata.index}`);
    }
    const i = compactIndex - offset;
    const dummy = this.ents[i] as Entry;
    this.ents = [
      { term: dummy.term, index: dummy.index, type: 'normal', data: EMPTY_BYTES },
      ...this.ents.slice(i + 1),
    ];
  }

  /** Appends entries from a Ready, replacing any conflicting suffix. Entries already compacted are skipped. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = (entries[entries.length - 1] as Entry).index;
    if (last < first) return;
    let toAdd = entries;
    const head = (entries[0] as Entry).index;
    if (first > head) toAdd = entries.slice(first - head);
    const at = (toAdd[0] as Entry).index - this.offset;
    if (at > this.ents.length) {
      throw new RaftInvariantError(
        `missing log entries: last index ${this.lastIndex()}, appending at ${at + this.offset}`,
      );
    }
    if (at < this.ents.length) this.ents = this.ents.slice(0, at);
    for (const e of toAdd) this.ents.push(e);
  }
}

export function copyConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners], votersOutgoing: [...cs.votersOutgoing] };
}

export { emptyConfState };
