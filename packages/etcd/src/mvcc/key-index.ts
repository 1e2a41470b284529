/**
 * One key's history, like etcd's keyIndex. Rather than keep revisions in the index and values in
 * a separate revision-keyed backend, each stored version (`KvRecord`) carries its value, so a read
 * is one binary search in the key's own history.
 *
 * Generations are implicit: a tombstone (version 0) ends one, the next put starts another with
 * version 1 and createRevision = its own revision.
 */
import { type Bytes, keyToBytes } from './bytes.js';

const EMPTY_HISTORY: KvRecord[] = [];

/** One immutable stored version of a key: a put, or a tombstone when `version` is 0. */
export class KvRecord {
  constructor(
    readonly owner: KeyIndex,
    readonly modRevision: number,
    /** Order of this write within its revision's txn. */
    readonly sub: number,
    readonly createRevision: number,
    readonly version: number,
    readonly value: Bytes,
    readonly lease: number,
  ) {}

  get isTombstone(): boolean {
    return this.version === 0;
  }
}

export class KeyIndex {
  /** Versions in (modRevision, sub) order. Non-empty while the index is in the tree. */
  records: KvRecord[] = EMPTY_HISTORY;

  /** The key as a latin1 string (one char per byte): the only copy of the key the store keeps. */
  constructor(readonly key: string) {}

  /** A fresh copy of the key's bytes (not cached: a cached copy would double per-key memory). */
  get keyBytes(): Bytes {
    return keyToBytes(this.key);
  }

  /**
   * Appends a version. Short histories (most keys between compactions) are kept in exact-size
   * arrays, since a pushed-to array reserves ~17 slots; long ones grow by push.
   */
  append(rec: KvRecord): void {
    const recs = this.records;
    if (recs.length < 8) this.records = [...recs, rec];
    else recs.push(rec);
  }

  latest(): KvRecord | undefined {
    return this.records[this.records.length - 1];
  }

  /** The live version at `revision`, or undefined if the key did not exist then. */
  at(revision: number): KvRecord | undefined {
    const recs = this.records;
    const last = recs[recs.length - 1];
    if (last === undefined) return undefined;
    if (last.modRevision <= revision) return last.isTombstone ? undefined : last;
    const i = lastAtOrBefore(recs, revision);
    if (i < 0) return undefined;
    const rec = recs[i]!;
    return rec.isTombstone ? undefined : rec;
  }

  /** The version written just before `rec` if it was live (the prev_kv of `rec`'s event). */
  previous(rec: KvRecord): KvRecord | undefined {
    const recs = this.records;
    let i = recs.length - 1;
    // Usually `rec` is at or near the end; fall back to binary search for old ones.
    if (recs[i] !== rec) i = indexOf(recs, rec);
    if (i <= 0) return undefined;
    const prev = recs[i - 1]!;
    return prev.isTombstone ? undefined : prev;
  }

  /**
   * Drops history below `compactRev`: keeps every version at or after it, plus the latest earlier
   * version if it is live and nothing was written at exactly `compactRev` (so reads at
   * `compactRev` still see the key). Returns true when nothing is left.
   */
  compact(compactRev: number): boolean {
    const recs = this.records;
    const j = lastAtOrBefore(recs, compactRev - 1);
    if (j < 0) return recs.length === 0;
    let keepFrom: number;
    const next = recs[j + 1];
    if (next !== undefined && next.modRevision === compactRev) keepFrom = j + 1;
    else keepFrom = recs[j]!.isTombstone ? j + 1 : j;
    if (keepFrom > 0) this.records = recs.slice(keepFrom);
    return this.records.length === 0;
  }
}

/** Index of the last record with modRevision ≤ revision, or -1. */
function lastAtOrBefore(recs: KvRecord[], revision: number): number {
  let lo = 0;
  let hi = recs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (recs[mid]!.modRevision <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function indexOf(recs: KvRecord[], rec: KvRecord): number {
  let i = lastAtOrBefore(recs, rec.modRevision);
  while (i >= 0 && recs[i] !== rec) i--;
  return i;
}
