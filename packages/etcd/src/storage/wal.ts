import { type Logger, silentLogger } from '@kemu/runtime';
import {
  FileNotFoundError,
  WalClosedError,
  WalClusterMismatchError,
  WalCorruptError,
  WalExistsError,
  WalNotInitializedError,
  WalSnapshotNotFoundError,
} from './errors.js';
import { type FileHandle, type FileSystem, joinPath, parentDir } from './fs.js';
import {
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  isEmptyHardState,
  type SnapshotMarker,
  type WalMetadata,
} from './types.js';
import {
  CRC_RECORD_BYTES,
  entriesRecordSize,
  hardStateRecordSize,
  metadataRecordSize,
  RecordType,
  RecordWriter,
  SNAPSHOT_RECORD_BYTES,
  scanSegment,
  validateEntries,
  validateHardState,
} from './wal-record.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface WalOptions {
  /** A segment is cut once it grows past this many bytes (default 64 MiB). */
  segmentBytes?: number;
  logger?: Logger;
}

export interface WalOpenOptions extends WalOptions {
  /** Replay starts after this snapshot; its marker must be in the log (default {index 0, term 0}). */
  fromSnapshot?: SnapshotMarker;
  /** When given, a data dir naming another cluster or member is refused with WalClusterMismatchError. */
  expect?: WalMetadata;
}

export interface WalReadResult {
  metadata: WalMetadata;
  hardState: HardState;
  /** Entries after the snapshot, conflicts resolved (a later write of an index replaces the tail from there). */
  entries: Entry[];
  wal: Wal;
}

export interface WalStats {
  /** `save`/`saveSnapshot` calls acknowledged. */
  saves: number;
  /** Write+fsync rounds; `saves / batches` is the group-commit factor. */
  batches: number;
  fsyncs: number;
  bytesWritten: number;
  segmentsCut: number;
}

interface Segment {
  seq: number;
  /** Index of the first entry the segment may hold (last index + 1 when it was cut). */
  startIndex: number;
  name: string;
}

type Pending =
  | { kind: 'save'; hardState: HardState; entries: readonly Entry[]; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'snapshot'; marker: SnapshotMarker; resolve: () => void; reject: (e: unknown) => void };

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

export function segmentName(seq: number, startIndex: number): string {
  return `${hex16(seq)}-${hex16(startIndex)}.wal`;
}

function parseSegmentName(name: string): Segment | null {
  const m = SEGMENT_RE.exec(name);
  if (m === null) return null;
  return { seq: Number.parseInt(m[1]!, 16), startIndex: Number.parseInt(m[2]!, 16), name };
}

async function listSegments(fs: FileSystem, dir: string): Promise<{ segments: Segment[]; temps: string[] }> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (err instanceof FileNotFoundError) return { segments: [], temps: [] };
    throw err;
  }
  const segments = names.map(parseSegmentName).filter((s): s is Segment => s !== null);
  segments.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq !== segments[i - 1]!.seq + 1) {
      throw new WalCorruptError(joinPath(dir, segments[i]!.name), 0, `segment ${segments[i - 1]!.seq + 1} is missing`);
    }
  }
  return { segments, temps: names.filter((n) => n.endsWith('.wal.tmp')) };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

interface Replay {
  metadata: WalMetadata;
  hardState: HardState;
  entries: Entry[];
  markers: SnapshotMarker[];
  markerFound: boolean;
  crc: number;
  lastValidEnd: number;
  torn: { file: string; offset: number; reason: string; size: number } | null;
}

async function replay(
  fs: FileSystem,
  dir: string,
  segments: Segment[],
  from: SnapshotMarker,
  collectEntries: boolean,
  expect?: WalMetadata,
): Promise<Replay> {
  let metadata: WalMetadata | null = null;
  let hardState: HardState = { ...EMPTY_HARD_STATE };
  const entries: Entry[] = [];
  const markers: SnapshotMarker[] = [];
  let markerFound = false;
  let crc: number | null = null;
  let lastValidEnd = 0;
  let torn: Replay['torn'] = null;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const file = joinPath(dir, seg.name);
    const raw = await fs.readFile(file);
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const isLast = i === segments.length - 1;
    const scan = scanSegment(buf, file, isLast);
    const recs = scan.records;
    if (recs.length < 2 || recs[0]!.type !== RecordType.crc || recs[1]!.type !== RecordType.metadata) {
      throw new WalCorruptError(file, 0, 'segment header (CRC + metadata records) is missing');
    }
    for (const rec of recs) {
      switch (rec.type) {
        case RecordType.crc:
          if (crc !== null && rec.prevCrc !== crc) {
            throw new WalCorruptError(file, rec.offset, 'CRC chain broken between segments');
          }
          break;
        case RecordType.metadata:
          if (metadata === null) {
            metadata = rec.metadata;
            // Checked at the first metadata record, before anything else in someone else's log can fail.
            if (expect && (expect.clusterId !== metadata.clusterId || expect.memberId !== metadata.memberId)) {
              throw new WalClusterMismatchError(expect, metadata, dir);
            }
          } else if (metadata.clusterId !== rec.metadata.clusterId || metadata.memberId !== rec.metadata.memberId) {
            throw new WalCorruptError(file, rec.offset, 'segments disagree on cluster/member metadata');
          }
          break;
        case RecordType.hardState:
          hardState = rec.hardState;
          break;
        case RecordType.snapshot:
          markers.push(rec.marker);
          if (rec.marker.index === from.index) {
            if (rec.marker.term !== from.term) {
              throw new WalSnapshotNotFoundError(
                dir,
                from.index,
                from.term,
                `the log's marker at that index has term ${rec.marker.term}`,
              );
            }
            markerFound = true;
          }
          break;
        case RecordType.entries:
          if (!collectEntries) break;
          for (const e of rec.entries) {
            if (e.index <= from.index) {
              // A rewrite at or below the snapshot still cuts off whatever was written after it.
              entries.length = 0;
              continue;
            }
            const pos = e.index - from.index - 1;
            if (pos > entries.length) {
              throw new WalCorruptError(
                file,
                rec.offset,
                `entry ${e.index} leaves a gap after ${from.index + entries.length}`,
              );
            }
            // Raft may rewrite an uncommitted tail: a later index replaces everything from there on.
            entries.length = pos;
            entries.push(e);
          }
          break;
      }
    }
    crc = scan.crc;
    lastValidEnd = scan.validEnd;
    if (scan.torn) torn = { file, offset: scan.torn.offset, reason: scan.torn.reason, size: buf.length };
  }
  if (metadata === null) throw new WalNotInitializedError(dir);
  return { metadata, hardState, entries, markers, markerFound, crc: crc ?? 0, lastValidEnd, torn };
}

/**
 * Segmented write-ahead log with chained CRCs and group commit. A `save` resolves only after its
 * records are on disk (fdatasync); saves issued while a write+fsync is in flight are coalesced into
 * the next single write+fsync. Saves are applied in call order.
 */
export class Wal {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private failure: WalClosedError | null = null;
  private closed = false;
  private lastHardState: HardState;
  private readonly counters: WalStats = { saves: 0, batches: 0, fsyncs: 0, bytesWritten: 0, segmentsCut: 0 };
  private readonly segmentBytes: number;
  private readonly log: Logger;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    readonly metadata: WalMetadata,
    private readonly segments: Segment[],
    private handle: FileHandle,
    private offset: number,
    private crc: number,
    private lastIndex: number,
    hardState: HardState,
    opts: WalOptions,
  ) {
    this.lastHardState = hardState;
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.log = opts.logger ?? silentLogger();
  }

  /** True when `dir` holds at least one WAL segment (so `open`, not `create`, is right). */
  static async exists(fs: FileSystem, dir: string): Promise<boolean> {
    return (await listSegments(fs, dir)).segments.length > 0;
  }

  /** Initializes a new log in `dir` (created if missing). Fails with WalExistsError if one is there. */
  static async create(fs: FileSystem, dir: string, metadata: WalMetadata, opts: WalOptions = {}): Promise<Wal> {
    await fs.mkdir(dir);
    await fs.syncDir(parentDir(dir));
    const { segments, temps } = await listSegments(fs, dir);
    if (segments.length > 0) throw new WalExistsError(dir);
    for (const t of temps) await fs.unlink(joinPath(dir, t));
    const seg = { seq: 0, startIndex: 0, name: segmentName(0, 0) };
    const { handle, size, crc } = await Wal.writeSegmentHead(fs, dir, seg, metadata, 0, EMPTY_HARD_STATE);
    return new Wal(fs, dir, metadata, [seg], handle, size, crc, 0, { ...EMPTY_HARD_STATE }, opts);
  }

  /**
   * Replays the log from `fromSnapshot` and returns it with a Wal ready to append. A torn tail is
   * truncated (with a warning); any other damage throws WalCorruptError.
   */
  static async open(fs: FileSystem, dir: string, opts: WalOpenOptions = {}): Promise<WalReadResult> {
    const from = opts.fromSnapshot ?? { index: 0, term: 0 };
    const log = opts.logger ?? silentLogger();
    const { segments, temps } = await listSegments(fs, dir);
    if (segments.length === 0) throw new WalNotInitializedError(dir);
    // A leftover .tmp is a segment cut that crashed before its rename: it was never part of the log.
    for (const t of temps) await fs.unlink(joinPath(dir, t));
    let start = -1;
    for (let i = 0; i < segments.length; i++) if (segments[i]!.startIndex <= from.index) start = i;
    if (start < 0) {
      throw new WalSnapshotNotFoundError(dir, from.index, from.term, 'the segments covering it were purged');
    }
    const used = segments.slice(start);
    const r = await replay(fs, dir, used, from, true, opts.expect);
    if (from.index > 0 && !r.markerFound) {
      throw new WalSnapshotNotFoundError(dir, from.index, from.term, 'no such marker in the log');
    }
    const last = used[used.length - 1]!;
    const lastPath = joinPath(dir, last.name);
    const handle = await fs.open(lastPath, 'write');
    if (r.torn) {
      log.warn(
        { file: r.torn.file, offset: r.torn.offset, droppedBytes: r.torn.size - r.torn.offset, reason: r.torn.reason },
        'WAL ends in a torn record (a write cut by a crash); truncating it',
      );
      await handle.truncate(r.lastValidEnd);
      await handle.sync();
    }
    const lastIndex = r.entries.length > 0 ? r.entries[r.entries.length - 1]!.index : from.index;
    // All segments stay listed (not just those replayed) so purgeBefore deletes the older ones too.
    const wal = new Wal(fs, dir, r.metadata, segments, handle, r.lastValidEnd, r.crc, lastIndex, r.hardState, opts);
    return { metadata: r.metadata, hardState: r.hardState, entries: r.entries, wal };
  }

  /**
   * Snapshot markers in the log whose index is covered by the last durable commit index, like etcd's
   * ValidSnapshotEntries: the member loads the newest snapshot file that has one of these markers.
   * Read-only; a torn tail is ignored, not repaired. Always includes {index 0, term 0}.
   */
  static async readSnapshotMarkers(fs: FileSystem, dir: string): Promise<SnapshotMarker[]> {
    const { segments } = await listSegments(fs, dir);
    if (segments.length === 0) throw new WalNotInitializedError(dir);
    // Segments may have been purged below a snapshot, so entries (which would show a gap) are not read.
    const r = await replay(fs, dir, segments, { index: -1, term: -1 }, false);
    return [{ index: 0, term: 0 }, ...r.markers.filter((m) => m.index <= r.hardState.commit)];
  }

  private static async writeSegmentHead(
    fs: FileSystem,
    dir: string,
    seg: Segment,
    metadata: WalMetadata,
    prevCrc: number,
    hardState: HardState,
  ): Promise<{ handle: FileHandle; size: number; crc: number }> {
    const withHs = !isEmptyHardState(hardState);
    const size = CRC_RECORD_BYTES + metadataRecordSize(metadata) + (withHs ? hardStateRecordSize(hardState) : 0);
    const w = new RecordWriter(Buffer.allocUnsafe(size), 0);
    w.writeCrc(prevCrc);
    w.writeMetadata(metadata);
    if (withHs) w.writeHardState(hardState);
    // Written under a temp name and renamed once durable, so a visible segment always has a valid head.
    const final = joinPath(dir, seg.name);
    const tmp = `${final}.tmp`;
    const handle = await fs.open(tmp, 'create');
    try {
      await handle.write(w.buf, 0);
      await handle.sync();
      await fs.rename(tmp, final);
      await fs.syncDir(dir);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    await handle.close();
    return { handle: await fs.open(final, 'write'), size, crc: w.crc };
  }

  /** Index of the last entry written (or the snapshot index the log was opened from). */
  get lastEntryIndex(): number {
    return this.lastIndex;
  }

  /** Names of the live segment files, oldest first. */
  get segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  stats(): WalStats {
    return { ...this.counters };
  }

  /**
   * Appends entries (first) and the hard state (skipped when empty or unchanged). Resolves once both
   * are durable, and every earlier save with them. Entries must be contiguous; an entry with an index
   * at or below one already written replaces the log from there (Raft tail truncation).
   */
  save(hardState: HardState, entries: readonly Entry[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const err = this.writable();
      if (err) return reject(err);
      try {
        validateHardState(hardState);
        validateEntries(entries);
      } catch (e) {
        return reject(e);
      }
      this.pending.push({ kind: 'save', hardState, entries, resolve, reject });
      this.kick();
    });
  }

  /**
   * Records that a snapshot at (index, term) exists, so replay can start there. Write the snapshot
   * file (Snapshotter.save) first, then this, then purge.
   */
  saveSnapshot(marker: SnapshotMarker): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const err = this.writable();
      if (err) return reject(err);
      this.pending.push({ kind: 'snapshot', marker: { index: marker.index, term: marker.term }, resolve, reject });
      this.kick();
    });
  }

  /**
   * Deletes segments whose every entry is below `index` (a snapshot index whose marker is durable).
   * The segment holding `index` and the current one are kept. Returns the deleted file names.
   */
  async purgeBefore(index: number): Promise<string[]> {
    const err = this.writable();
    if (err) throw err;
    let n = 0;
    // Segment i holds entries below segments[i+1].startIndex; the last segment is never deleted.
    while (n < this.segments.length - 1 && this.segments[n + 1]!.startIndex <= index) n++;
    const doomed = this.segments.splice(0, n);
    // Oldest first, so a crash midway leaves a contiguous run of segments.
    for (const seg of doomed) await this.fs.unlink(joinPath(this.dir, seg.name));
    if (doomed.length > 0) await this.fs.syncDir(this.dir);
    return doomed.map((s) => s.name);
  }

  /** Waits for queued saves, then closes the file. Later calls fail with WalClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.handle.close();
  }

  private writable(): WalClosedError | null {
    if (this.failure) return this.failure;
    if (this.closed) return new WalClosedError('closed');
    return null;
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      // A save issued by a continuation of the last resolved batch found the loop still "running".
      if (this.pending.length > 0) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.writeBatch(batch);
      } catch (err) {
        this.failure = new WalClosedError('a write or fsync failed; the log must be reopened', err);
        this.log.error({ err, dir: this.dir }, 'WAL write failed; refusing further writes');
        for (const p of batch) p.reject(this.failure);
        for (const p of this.pending) p.reject(this.failure);
        this.pending = [];
        return;
      }
      this.counters.saves += batch.length;
      for (const p of batch) p.resolve();
      // One microtask turn lets callers awaiting the saves just acknowledged issue their next ones, so
      // they join the next batch together instead of one going alone and the rest waiting behind it.
      await Promise.resolve();
      if (this.offset >= this.segmentBytes) {
        try {
          await this.cut();
        } catch (err) {
          this.failure = new WalClosedError('cutting a new segment failed; the log must be reopened', err);
          this.log.error({ err, dir: this.dir }, 'WAL segment cut failed; refusing further writes');
          for (const p of this.pending) p.reject(this.failure);
          this.pending = [];
          return;
        }
      }
    }
  }

  /** Encodes the whole batch into one buffer: one write, one fdatasync. */
  private async writeBatch(batch: Pending[]): Promise<void> {
    let size = 0;
    let hs = this.lastHardState;
    for (const p of batch) {
      if (p.kind === 'snapshot') {
        size += SNAPSHOT_RECORD_BYTES;
        continue;
      }
      if (p.entries.length > 0) size += entriesRecordSize(p.entries);
      if (!isEmptyHardState(p.hardState) && !sameHardState(p.hardState, hs)) {
        size += hardStateRecordSize(p.hardState);
        hs = p.hardState;
      }
    }
    if (size === 0) return;
    const w = new RecordWriter(Buffer.allocUnsafe(size), this.crc);
    hs = this.lastHardState;
    let lastIndex = this.lastIndex;
    for (const p of batch) {
      if (p.kind === 'snapshot') {
        w.writeSnapshot(p.marker);
        // An installed snapshot can jump past the log; the next segment must be named after it.
        lastIndex = Math.max(lastIndex, p.marker.index);
        continue;
      }
      if (p.entries.length > 0) {
        w.writeEntries(p.entries);
        lastIndex = p.entries[p.entries.length - 1]!.index;
      }
      if (!isEmptyHardState(p.hardState) && !sameHardState(p.hardState, hs)) {
        w.writeHardState(p.hardState);
        hs = { term: p.hardState.term, vote: p.hardState.vote, commit: p.hardState.commit };
      }
    }
    await this.handle.write(w.buf, this.offset);
    await this.handle.datasync();
    this.offset += size;
    this.crc = w.crc;
    this.lastHardState = hs;
    this.lastIndex = lastIndex;
    this.counters.batches++;
    this.counters.fsyncs++;
    this.counters.bytesWritten += size;
  }

  private async cut(): Promise<void> {
    const prev = this.segments[this.segments.length - 1]!;
    const seg = {
      seq: prev.seq + 1,
      startIndex: this.lastIndex + 1,
      name: segmentName(prev.seq + 1, this.lastIndex + 1),
    };
    const head = await Wal.writeSegmentHead(this.fs, this.dir, seg, this.metadata, this.crc, this.lastHardState);
    await this.handle.close();
    this.handle = head.handle;
    this.offset = head.size;
    this.crc = head.crc;
    this.segments.push(seg);
    this.counters.segmentsCut++;
    this.counters.fsyncs += 2;
    this.log.debug({ segment: seg.name }, 'cut WAL segment');
  }
}
