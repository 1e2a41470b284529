import { crc32 } from './checksum.js';
import { WalCorruptError, WalInvalidArgumentError } from './errors.js';
import type { Entry, EntryType, HardState, SnapshotMarker, WalMetadata } from './types.js';

/*
 * Record framing (little endian):
 *
 *   offset 0  u32  payload length (bytes after the 9-byte header)
 *   offset 4  u32  CRC-32 of [type byte + payload], seeded with the previous record's CRC (chained)
 *   offset 8  u8   record type
 *   offset 9  ...  payload
 *
 * The chain makes a record valid only in its place: a stale or reordered record fails the check.
 * Each segment starts with a CRC record whose payload is the running CRC at the end of the previous
 * segment (its own CRC is seeded with 0) so a segment can be checked on its own and against its
 * predecessor.
 */
export const HEADER_BYTES = 9;
/** No single record may exceed this; a larger length field is corruption, not a torn write. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** Torn-write heuristic granularity (a disk sector): a zeroed sector inside a record means torn. */
const SECTOR = 512;

export const RecordType = {
  crc: 1,
  metadata: 2,
  entries: 3,
  hardState: 4,
  snapshot: 5,
} as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

const ENTRY_FIXED_BYTES = 8 + 8 + 1 + 4;
const ENTRY_TYPE_CODE: Record<EntryType, number> = { normal: 0, 'conf-change': 1 };
const NULL_VOTE = 0xffff;

/** Bytes one entries record takes, header included. */
export function entriesRecordSize(entries: readonly Entry[]): number {
  let size = HEADER_BYTES + 4;
  for (const e of entries) size += ENTRY_FIXED_BYTES + e.data.length;
  return size;
}

export function hardStateRecordSize(hs: HardState): number {
  return HEADER_BYTES + 8 + 8 + 2 + (hs.vote === null ? 0 : Buffer.byteLength(hs.vote));
}

export const SNAPSHOT_RECORD_BYTES = HEADER_BYTES + 16;
export const CRC_RECORD_BYTES = HEADER_BYTES + 4;

/**
 * Writes records into one preallocated buffer and chains their CRCs. The caller sizes the buffer
 * with the `*RecordSize` helpers so a whole group-commit batch is one allocation and one write.
 */
export class RecordWriter {
  private off = 0;

  constructor(
    readonly buf: Buffer,
    /** Running CRC: seed for the next record, updated after each. */
    public crc: number,
  ) {}

  get offset(): number {
    return this.off;
  }

  private begin(type: RecordTypeCode): number {
    const start = this.off;
    this.buf[start + 8] = type;
    this.off = start + HEADER_BYTES;
    return start;
  }

  private finish(start: number, seed: number): void {
    const len = this.off - start - HEADER_BYTES;
    this.buf.writeUInt32LE(len, start);
    const crc = crc32(this.buf.subarray(start + 8, this.off), seed);
    this.buf.writeUInt32LE(crc, start + 4);
    this.crc = crc;
  }

  writeCrc(prev: number): void {
    const start = this.begin(RecordType.crc);
    this.buf.writeUInt32LE(prev >>> 0, this.off);
    this.off += 4;
    this.finish(start, 0);
    // The running CRC continues from the previous segment, not from this self-seeded record.
    this.crc = prev >>> 0;
  }

  writeMetadata(meta: WalMetadata): void {
    const bytes = encodeMetadata(meta);
    const start = this.begin(RecordType.metadata);
    this.buf.set(bytes, this.off);
    this.off += bytes.length;
    this.finish(start, this.crc);
  }

  writeEntries(entries: readonly Entry[]): void {
    const b = this.buf;
    const start = this.begin(RecordType.entries);
    let o = this.off;
    b.writeUInt32LE(entries.length, o);
    o += 4;
    for (const e of entries) {
      b.writeDoubleLE(e.term, o);
      b.writeDoubleLE(e.index, o + 8);
      b[o + 16] = ENTRY_TYPE_CODE[e.type];
      b.writeUInt32LE(e.data.length, o + 17);
      o += ENTRY_FIXED_BYTES;
      b.set(e.data, o);
      o += e.data.length;
    }
    this.off = o;
    this.finish(start, this.crc);
  }

  writeHardState(hs: HardState): void {
    const b = this.buf;
    const start = this.begin(RecordType.hardState);
    let o = this.off;
    b.writeDoubleLE(hs.term, o);
    b.writeDoubleLE(hs.commit, o + 8);
    o += 16;
    if (hs.vote === null) {
      b.writeUInt16LE(NULL_VOTE, o);
      o += 2;
    } else {
      const n = b.write(hs.vote, o + 2, 'utf8');
      b.writeUInt16LE(n, o);
      o += 2 + n;
    }
    this.off = o;
    this.finish(start, this.crc);
  }

  writeSnapshot(marker: SnapshotMarker): void {
    const start = this.begin(RecordType.snapshot);
    this.buf.writeDoubleLE(marker.index, this.off);
    this.buf.writeDoubleLE(marker.term, this.off + 8);
    this.off += 16;
    this.finish(start, this.crc);
  }
}

export function encodeMetadata(meta: WalMetadata): Buffer {
  return Buffer.from(JSON.stringify({ clusterId: meta.clusterId, memberId: meta.memberId }), 'utf8');
}

export function metadataRecordSize(meta: WalMetadata): number {
  return HEADER_BYTES + encodeMetadata(meta).length;
}

/** Rejects values the binary format cannot hold exactly, before anything is queued. */
export function validateEntries(entries: readonly Entry[]): void {
  let prev = -1;
  for (const e of entries) {
    if (!Number.isSafeInteger(e.index) || e.index < 1 || !Number.isSafeInteger(e.term) || e.term < 0) {
      throw new WalInvalidArgumentError(`entry has invalid index/term ${e.index}/${e.term}`);
    }
    if (prev !== -1 && e.index !== prev + 1) {
      throw new WalInvalidArgumentError(`entries must be contiguous: ${e.index} follows ${prev}`);
    }
    if (e.type !== 'normal' && e.type !== 'conf-change') {
      throw new WalInvalidArgumentError(`entry ${e.index} has unknown type ${String(e.type)}`);
    }
    prev = e.index;
  }
}

export function validateHardState(hs: HardState): void {
  if (!Number.isSafeInteger(hs.term) || hs.term < 0 || !Number.isSafeInteger(hs.commit) || hs.commit < 0) {
    throw new WalInvalidArgumentError(`hard state has invalid term/commit ${hs.term}/${hs.commit}`);
  }
  if (hs.vote !== null && Buffer.byteLength(hs.vote) >= NULL_VOTE) {
    throw new WalInvalidArgumentError('hard state vote is too long');
  }
}

// ---- decoding ----

export type DecodedRecord =
  | { type: typeof RecordType.crc; offset: number; prevCrc: number }
  | { type: typeof RecordType.metadata; offset: number; metadata: WalMetadata }
  | { type: typeof RecordType.entries; offset: number; entries: Entry[] }
  | { type: typeof RecordType.hardState; offset: number; hardState: HardState }
  | { type: typeof RecordType.snapshot; offset: number; marker: SnapshotMarker };

export interface SegmentScan {
  /** Records that passed their checks, in order. */
  records: DecodedRecord[];
  /** Byte length of the valid prefix. */
  validEnd: number;
  /** Set when the segment ends in a torn record that was ignored (only possible for the last segment). */
  torn: { offset: number; reason: string } | null;
  /** Running CRC after the last valid record. */
  crc: number;
}

function isZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** etcd's heuristic: a record with a whole zeroed sector in it was cut by a power loss, not rotted. */
function hasZeroedSector(buf: Uint8Array, from: number, to: number): boolean {
  let chunkStart = from;
  while (chunkStart < to) {
    const chunkEnd = Math.min(to, (Math.floor(chunkStart / SECTOR) + 1) * SECTOR);
    if (chunkEnd - chunkStart > 0 && isZero(buf, chunkStart, chunkEnd)) return true;
    chunkStart = chunkEnd;
  }
  return false;
}

function nextRecordChecks(buf: Buffer, at: number, seed: number): boolean {
  if (buf.length - at < HEADER_BYTES) return false;
  const plen = buf.readUInt32LE(at);
  if (plen > MAX_RECORD_BYTES || at + HEADER_BYTES + plen > buf.length) return false;
  return crc32(buf.subarray(at + 8, at + HEADER_BYTES + plen), seed) === buf.readUInt32LE(at + 4);
}

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'conf-change'];

/**
 * Parses one segment. A bad record at the very end of the last segment (incomplete, or failing its
 * CRC with nothing but zeros after it, or with a zeroed sector inside) is a torn write: scanning
 * stops there and reports it. Any other bad record throws WalCorruptError with file and offset.
 */
export function scanSegment(buf: Buffer, file: string, isLast: boolean): SegmentScan {
  const records: DecodedRecord[] = [];
  let off = 0;
  let crc = 0;
  const len = buf.length;
  const torn = (reason: string): SegmentScan => {
    if (!isLast) throw new WalCorruptError(file, off, `${reason} in a segment that is not the last`);
    return { records, validEnd: off, torn: { offset: off, reason }, crc };
  };
  while (off < len) {
    if (len - off < HEADER_BYTES) return torn('incomplete record header');
    const plen = buf.readUInt32LE(off);
    const stored = buf.readUInt32LE(off + 4);
    const type = buf[off + 8]!;
    if (plen > MAX_RECORD_BYTES) throw new WalCorruptError(file, off, `record length ${plen} is impossible`);
    const end = off + HEADER_BYTES + plen;
    if (end > len) return torn('record extends past end of file');
    const seed = type === RecordType.crc ? 0 : crc;
    const actual = crc32(buf.subarray(off + 8, end), seed);
    if (actual !== stored) {
      // The next record is chained to the stored CRC; if it checks out, real data follows and
      // dropping it could lose acknowledged writes, so this is corruption whatever it looks like.
      const validFollows = nextRecordChecks(buf, end, stored);
      if (isLast && !validFollows && (isZero(buf, end, len) || hasZeroedSector(buf, off, end))) {
        return torn('CRC mismatch at tail');
      }
      throw new WalCorruptError(file, off, 'CRC mismatch (data follows, so this is not a torn write)');
    }
    records.push(decodePayload(buf, off, type, plen, file));
    if (records.length === 1 && type !== RecordType.crc) {
      throw new WalCorruptError(file, off, 'segment does not start with a CRC record');
    }
    crc = type === RecordType.crc ? buf.readUInt32LE(off + HEADER_BYTES) : actual;
    off = end;
  }
  return { records, validEnd: off, torn: null, crc };
}

function decodePayload(buf: Buffer, off: number, type: number, plen: number, file: string): DecodedRecord {
  const p = off + HEADER_BYTES;
  const end = p + plen;
  const need = (n: number): void => {
    if (n > end) throw new WalCorruptError(file, off, `record type ${type} payload too short`);
  };
  switch (type) {
    case RecordType.crc:
      need(p + 4);
      return { type, offset: off, prevCrc: buf.readUInt32LE(p) };
    case RecordType.metadata: {
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.toString('utf8', p, end));
      } catch {
        throw new WalCorruptError(file, off, 'metadata record is not JSON');
      }
      const m = parsed as Partial<WalMetadata>;
      if (typeof m.clusterId !== 'string' || typeof m.memberId !== 'string') {
        throw new WalCorruptError(file, off, 'metadata record lacks clusterId/memberId');
      }
      return { type, offset: off, metadata: { clusterId: m.clusterId, memberId: m.memberId } };
    }
    case RecordType.entries: {
      need(p + 4);
      const count = buf.readUInt32LE(p);
      const entries: Entry[] = new Array(count);
      let o = p + 4;
      for (let i = 0; i < count; i++) {
        need(o + ENTRY_FIXED_BYTES);
        const dataLen = buf.readUInt32LE(o + 17);
        const t = ENTRY_TYPES[buf[o + 16]!];
        if (t === undefined) throw new WalCorruptError(file, off, `unknown entry type ${buf[o + 16]}`);
        need(o + ENTRY_FIXED_BYTES + dataLen);
        entries[i] = {
          term: buf.readDoubleLE(o),
          index: buf.readDoubleLE(o + 8),
          type: t,
          // A plain Uint8Array view (not a Buffer) so callers see exactly the shared Entry type.
          data: new Uint8Array(buf.buffer, buf.byteOffset + o + ENTRY_FIXED_BYTES, dataLen),
        };
        o += ENTRY_FIXED_BYTES + dataLen;
      }
      return { type, offset: off, entries };
    }
    case RecordType.hardState: {
      need(p + 18);
      const voteLen = buf.readUInt16LE(p + 16);
      let vote: string | null = null;
      if (voteLen !== NULL_VOTE) {
        need(p + 18 + voteLen);
        vote = buf.toString('utf8', p + 18, p + 18 + voteLen);
      }
      return { type, offset: off, hardState: { term: buf.readDoubleLE(p), commit: buf.readDoubleLE(p + 8), vote } };
    }
    case RecordType.snapshot:
      need(p + 16);
      return { type, offset: off, marker: { index: buf.readDoubleLE(p), term: buf.readDoubleLE(p + 8) } };
    default:
      throw new WalCorruptError(file, off, `unknown record type ${type}`);
  }
}
