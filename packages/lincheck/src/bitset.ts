/**
 * A fixed-size set of small integers (the operations linearized so far). It keeps a 32-bit hash up
 * to date on every `set`/`clear` — the XOR of a mixed value per member — so looking a set up in the
 * checker's cache costs O(1) to hash and O(size/32) only on a bucket hit.
 */
export class Bitset {
  private readonly words: Uint32Array;
  private hashValue = 0;
  private count = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(i: number): boolean {
    return ((this.words[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    this.checkIndex(i);
    if (this.has(i)) return;
    this.words[i >>> 5]! |= 1 << (i & 31);
    this.hashValue ^= mix(i);
    this.count++;
  }

  clear(i: number): void {
    this.checkIndex(i);
    if (!this.has(i)) return;
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    this.hashValue ^= mix(i);
    this.count--;
  }

  /** Number of members. */
  get popcount(): number {
    return this.count;
  }

  hash(): number {
    return this.hashValue;
  }

  equals(other: Bitset): boolean {
    if (other.size !== this.size || other.hashValue !== this.hashValue || other.count !== this.count) return false;
    for (let w = 0; w < this.words.length; w++) if (this.words[w] !== other.words[w]) return false;
    return true;
  }

  clone(): Bitset {
    const copy = new Bitset(this.size);
    copy.words.set(this.words);
    copy.hashValue = this.hashValue;
    copy.count = this.count;
    return copy;
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`bit ${i} outside 0..${this.size - 1}`);
  }
}

/** splitmix32's finalizer: spreads consecutive indices over all 32 bits so XORs rarely collide. */
function mix(i: number): number {
  let z = (i + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
