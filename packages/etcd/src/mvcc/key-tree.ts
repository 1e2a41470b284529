/**
 * The ordered set of keys: a Map for point lookups plus a sorted array of fixed-size chunks for
 * ordered scans (a two-level B-tree, in effect). Inserting a new key costs a binary search and a
 * splice within one chunk of at most CHUNK entries, so writes stay cheap at 10^5 keys without
 * the code of a full B-tree. Keys are latin1 strings, whose `<` is unsigned byte order.
 */
import type { KeyIndex } from './key-index.js';

const CHUNK = 256;

export class KeyTree {
  private readonly byKey = new Map<string, KeyIndex>();
  /** Non-empty sorted chunks; concatenated they are all keys in order. */
  private chunks: KeyIndex[][] = [];

  /** Builds a tree from keys already in strictly ascending order (snapshot restore). */
  static fromSorted(keys: readonly KeyIndex[]): KeyTree {
    const tree = new KeyTree();
    const half = CHUNK >>> 1;
    for (let i = 0; i < keys.length; i += half) tree.chunks.push(keys.slice(i, i + half));
    for (const ki of keys) tree.byKey.set(ki.key, ki);
    return tree;
  }

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): KeyIndex | undefined {
    return this.byKey.get(key);
  }

  /** Adds a new key (the caller checked it is absent). */
  insert(ki: KeyIndex): void {
    this.byKey.set(ki.key, ki);
    if (this.chunks.length === 0) {
      this.chunks.push([ki]);
      return;
    }
    const c = Math.min(this.chunkFor(ki.key), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const at = lowerBound(chunk, ki.key);
    if (at === chunk.length) chunk.push(ki);
    else chunk.splice(at, 0, ki);
    if (chunk.length > CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK >>> 1));
  }

  /** Removes every key for which `drop` says so, in one pass (used by compaction). */
  removeWhere(drop: (ki: KeyIndex) => boolean): void {
    const kept: KeyIndex[][] = [];
    let current: KeyIndex[] = [];
    for (const chunk of this.chunks) {
      for (const ki of chunk) {
        if (drop(ki)) {
          this.byKey.delete(ki.key);
          continue;
        }
        current.push(ki);
        if (current.length === CHUNK >>> 1) {
          kept.push(current);
          current = [];
        }
      }
    }
    if (current.length > 0) kept.push(current);
    this.chunks = kept;
  }

  /**
   * Visits keys in [start, end) in order (`end` null = unbounded) until `visit` returns false.
   * A callback rather than a generator: counting a 10^4-key prefix is the hot path of a paged list.
   */
  forEachInRange(start: string, end: string | null, visit: (ki: KeyIndex) => unknown): void {
    let c = this.chunkFor(start);
    if (c >= this.chunks.length) return;
    let i = lowerBound(this.chunks[c]!, start);
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) {
        const ki = chunk[i]!;
        if (end !== null && ki.key >= end) return;
        if (visit(ki) === false) return;
      }
    }
  }

  *all(): Generator<KeyIndex> {
    for (const chunk of this.chunks) yield* chunk;
  }

  /** First chunk whose last key is ≥ key (chunks.length if none). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (chunk[chunk.length - 1]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(chunk: KeyIndex[], key: string): number {
  let lo = 0;
  let hi = chunk.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunk[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
