/**
 * The snapshot encoding: a small hand-written binary format, because the state is a few flat
 * record types and the encoding must be canonical (same state → same bytes on every member, so
 * `hash()` can be a crc of it). No dependency needed; msgpack of a Map-heavy object graph would
 * neither be canonical by construction nor smaller.
 *
 *   "KMV1"
 *   varint currentRevision, varint compactRevision
 *   varint leaseCount, leases in id order: varint id, varint ttl, varint remainingTtl
 *   varint keyCount, keys in byte order: bytes key, varint recordCount,
 *     records in (revision, sub) order: varint modRevision, sub, createRevision, version, lease;
 *     bytes value
 *   u32be crc32 of everything before it
 *
 * varint = unsigned LEB128 over JS safe integers; bytes = varint length + raw bytes. Lease
 * attachments are not stored: they are the lease fields of each key's live version.
 */
import { crc32 } from 'node:zlib';
import { bytesToKey, EMPTY_BYTES, ownedBytes } from './bytes.js';
import { SnapshotCorruptError } from './errors.js';
import { KeyIndex, KvRecord } from './key-index.js';
import type { LeaseInfo } from './types.js';

const MAGIC = [0x4b, 0x4d, 0x56, 0x31]; // "KMV1"

export interface SnapshotState {
  currentRevision: number;
  compactRevision: number;
  leases: LeaseInfo[];
  /** In key order. */
  keys: Iterable<KeyIndex>;
}

/**
 * Byte output into a buffer of known size (snapshots are sized exactly first, so 10^7 bytes are
 * written once with no regrowth) or, for hashing, a small buffer folded into a crc as it fills.
 */
class Writer {
  private buf: Uint8Array;
  private len = 0;
  private crc = 0;

  constructor(
    private readonly hashOnly: boolean,
    size = 64 * 1024,
  ) {
    this.buf = new Uint8Array(size);
  }

  varint(n: number): void {
    this.reserve(8);
    let v = n;
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.byteLength);
    if (this.hashOnly && b.byteLength > 16 * 1024) {
      this.flushToCrc();
      this.crc = crc32(b, this.crc);
      return;
    }
    this.reserve(b.byteLength);
    this.buf.set(b, this.len);
    this.len += b.byteLength;
  }

  /** A latin1 key as length + bytes, without materialising the bytes. */
  latin1(key: string): void {
    this.varint(key.length);
    this.reserve(key.length);
    for (let i = 0; i < key.length; i++) this.buf[this.len++] = key.charCodeAt(i);
  }

  raw(values: number[]): void {
    this.reserve(values.length);
    for (const v of values) this.buf[this.len++] = v;
  }

  /** crc32 of everything written. */
  checksum(): number {
    this.flushToCrc();
    return this.crc;
  }

  finish(): Uint8Array {
    const crc = crc32(this.buf.subarray(0, this.len));
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.len, crc);
    this.len += 4;
    return this.len === this.buf.byteLength ? this.buf : this.buf.slice(0, this.len);
  }

  private flushToCrc(): void {
    if (!this.hashOnly) return;
    this.crc = crc32(this.buf.subarray(0, this.len), this.crc);
    this.len = 0;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.byteLength) return;
    if (this.hashOnly) {
      this.flushToCrc();
      if (n <= this.buf.byteLength) return;
    }
    let size = this.buf.byteLength * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** The exact encoded size of a snapshot (including the crc trailer). */
function snapshotSize(state: SnapshotState, keys: KeyIndex[]): number {
  let size = MAGIC.length + varintSize(state.currentRevision) + varintSize(state.compactRevision) + 4;
  size += varintSize(state.leases.length);
  for (const l of state.leases) size += varintSize(l.id) + varintSize(l.ttl) + varintSize(l.remainingTtl);
  size += varintSize(keys.length);
  for (const ki of keys) {
    size += varintSize(ki.key.length) + ki.key.length + varintSize(ki.records.length);
    for (const r of ki.records) {
      size += varintSize(r.modRevision) + varintSize(r.sub) + varintSize(r.createRevision);
      size += varintSize(r.version) + varintSize(r.lease) + varintSize(r.value.byteLength) + r.value.byteLength;
    }
  }
  return size;
}

function writeState(w: Writer, state: SnapshotState, keys: KeyIndex[]): void {
  w.raw(MAGIC);
  w.varint(state.currentRevision);
  w.varint(state.compactRevision);
  w.varint(state.leases.length);
  for (const l of state.leases) {
    w.varint(l.id);
    w.varint(l.ttl);
    w.varint(l.remainingTtl);
  }
  w.varint(keys.length);
  for (const ki of keys) {
    w.latin1(ki.key);
    w.varint(ki.records.length);
    for (const r of ki.records) writeRecord(w, r);
  }
}

function writeRecord(w: Writer, r: KvRecord): void {
  w.varint(r.modRevision);
  w.varint(r.sub);
  w.varint(r.createRevision);
  w.varint(r.version);
  w.varint(r.lease);
  w.bytes(r.value);
}

export function encodeSnapshot(state: SnapshotState): Uint8Array {
  const keys = [...state.keys];
  const w = new Writer(false, snapshotSize(state, keys));
  writeState(w, state, keys);
  return w.finish();
}

export function hashSnapshot(state: SnapshotState): number {
  const w = new Writer(true);
  writeState(w, state, [...state.keys]);
  return w.checksum();
}

/** crc32 over the compacted revision and every version with modRevision ≤ `revision`. */
export function hashRecords(keys: Iterable<KeyIndex>, revision: number, compactRevision: number): number {
  const w = new Writer(true);
  w.varint(compactRevision);
  for (const ki of keys) {
    for (const r of ki.records) {
      if (r.modRevision > revision) break;
      w.latin1(ki.key);
      writeRecord(w, r);
    }
  }
  return w.checksum();
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.byteLength) throw new SnapshotCorruptError('truncated');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new SnapshotCorruptError('varint too long');
    }
    if (!Number.isSafeInteger(result)) throw new SnapshotCorruptError('number out of range');
    return result;
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.byteLength) throw new SnapshotCorruptError('truncated');
    const out = n === 0 ? EMPTY_BYTES : ownedBytes(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  latin1(): string {
    const n = this.varint();
    if (this.pos + n > this.buf.byteLength) throw new SnapshotCorruptError('truncated');
    const key = bytesToKey(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return key;
  }

  get done(): boolean {
    return this.pos === this.buf.byteLength;
  }
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotState {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < MAGIC.length + 4) {
    throw new SnapshotCorruptError('too short');
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new SnapshotCorruptError('not an mvcc snapshot');
  }
  const body = bytes.subarray(0, bytes.byteLength - 4);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + body.byteLength, 4).getUint32(0);
  if (crc32(body) !== stored) throw new SnapshotCorruptError('checksum mismatch');
  const r = new Reader(body.subarray(MAGIC.length));
  const currentRevision = r.varint();
  const compactRevision = r.varint();
  if (currentRevision < 1 || compactRevision > currentRevision) throw new SnapshotCorruptError('bad revisions');
  const leases: LeaseInfo[] = [];
  for (let n = r.varint(); n > 0; n--) leases.push({ id: r.varint(), ttl: r.varint(), remainingTtl: r.varint() });
  const keys: KeyIndex[] = [];
  let lastKey: string | null = null;
  for (let n = r.varint(); n > 0; n--) {
    const key = r.latin1();
    if (lastKey !== null && key <= lastKey) throw new SnapshotCorruptError('keys out of order');
    lastKey = key;
    const ki = new KeyIndex(key);
    const records: KvRecord[] = [];
    const count = r.varint();
    if (count === 0) throw new SnapshotCorruptError('key without history');
    for (let i = 0; i < count; i++) {
      const modRevision = r.varint();
      const sub = r.varint();
      const createRevision = r.varint();
      const version = r.varint();
      const lease = r.varint();
      const value = r.bytes();
      if (modRevision > currentRevision) throw new SnapshotCorruptError('record from the future');
      records.push(new KvRecord(ki, modRevision, sub, createRevision, version, value, lease));
    }
    // Exact-size arrays: a pushed-to array keeps spare capacity for every key.
    ki.records = records.slice();
    keys.push(ki);
  }
  if (!r.done) throw new SnapshotCorruptError('trailing bytes');
  return { currentRevision, compactRevision, leases, keys };
}
