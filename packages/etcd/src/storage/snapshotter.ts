import { type Logger, silentLogger } from '@kemu/runtime';
import { crc32 } from './checksum.js';
import { FileNotFoundError, SnapshotCorruptError } from './errors.js';
import { type FileSystem, joinPath, parentDir } from './fs.js';
import type { ConfState, Snapshot, SnapshotMarker, SnapshotMetadata } from './types.js';

/*
 * Snapshot file `<term:16 hex>-<index:16 hex>.snap`:
 *
 *   offset 0   4 bytes  magic "KSNP"
 *   offset 4   u32      format version (1)
 *   offset 8   u32      body length
 *   offset 12  u32      CRC-32 of the body
 *   offset 16  body:    u32 metadata length, metadata JSON {index, term, confState}, then the data
 */
const MAGIC = 0x504e534b; // "KSNP" little endian
const VERSION = 1;
const HEADER = 16;
const SNAP_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export interface SnapshotterOptions {
  /** How many snapshot files `purge` keeps (default 5, at least 1). */
  keep?: number;
  logger?: Logger;
}

interface SnapFile {
  name: string;
  term: number;
  index: number;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

export function snapshotFileName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

export function encodeSnapshot(snap: Snapshot): Buffer {
  const meta = Buffer.from(
    JSON.stringify({
      index: snap.metadata.index,
      term: snap.metadata.term,
      confState: snap.metadata.confState,
    }),
    'utf8',
  );
  const bodyLen = 4 + meta.length + snap.data.length;
  const buf = Buffer.allocUnsafe(HEADER + bodyLen);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(bodyLen, 8);
  buf.writeUInt32LE(meta.length, HEADER);
  meta.copy(buf, HEADER + 4);
  buf.set(snap.data, HEADER + 4 + meta.length);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 12);
  return buf;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function decodeSnapshot(raw: Uint8Array, file: string): Snapshot {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (buf.length < HEADER + 4) throw new SnapshotCorruptError(file, 'shorter than its header');
  if (buf.readUInt32LE(0) !== MAGIC) throw new SnapshotCorruptError(file, 'bad magic');
  if (buf.readUInt32LE(4) !== VERSION) throw new SnapshotCorruptError(file, `unknown version ${buf.readUInt32LE(4)}`);
  const bodyLen = buf.readUInt32LE(8);
  if (HEADER + bodyLen !== buf.length) {
    throw new SnapshotCorruptError(file, `length ${buf.length} does not match header (${HEADER + bodyLen})`);
  }
  if (crc32(buf.subarray(HEADER)) !== buf.readUInt32LE(12)) throw new SnapshotCorruptError(file, 'CRC mismatch');
  const metaLen = buf.readUInt32LE(HEADER);
  if (HEADER + 4 + metaLen > buf.length) throw new SnapshotCorruptError(file, 'metadata length out of range');
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', HEADER + 4, HEADER + 4 + metaLen));
  } catch {
    throw new SnapshotCorruptError(file, 'metadata is not JSON');
  }
  const m = parsed as { index?: unknown; term?: unknown; confState?: Partial<ConfState> };
  const cs = m.confState;
  if (
    typeof m.index !== 'number' ||
    typeof m.term !== 'number' ||
    cs === undefined ||
    !isStringArray(cs.voters) ||
    !isStringArray(cs.learners) ||
    !isStringArray(cs.votersOutgoing)
  ) {
    throw new SnapshotCorruptError(file, 'metadata has the wrong shape');
  }
  const metadata: SnapshotMetadata = {
    index: m.index,
    term: m.term,
    confState: { voters: cs.voters, learners: cs.learners, votersOutgoing: cs.votersOutgoing },
  };
  const start = HEADER + 4 + metaLen;
  return { metadata, data: new Uint8Array(buf.buffer, buf.byteOffset + start, buf.length - start) };
}

/**
 * Snapshot files in one dir. `save` writes a temp file, fsyncs it, renames it into place and fsyncs
 * the dir, so a snapshot file is either absent or complete. `load` returns the newest one that
 * passes its CRC; a damaged newest file is set aside (renamed `.broken`) with a warning.
 */
export class Snapshotter {
  private readonly keep: number;
  private readonly log: Logger;
  private dirReady = false;

  constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    opts: SnapshotterOptions = {},
  ) {
    this.keep = Math.max(1, opts.keep ?? 5);
    this.log = opts.logger ?? silentLogger();
  }

  /**
   * Durably writes the snapshot and returns its file name. Does not purge: call `purge()` only after
   * the WAL marker for this snapshot is durable, or a crash in between could leave the newest marker
   * without its file (found by the crash test: repeated crashes before the marker purged it).
   */
  async save(snap: Snapshot): Promise<string> {
    if (!this.dirReady) {
      // The dir entry itself must be durable too, once.
      await this.fs.mkdir(this.dir);
      await this.fs.syncDir(parentDir(this.dir));
      this.dirReady = true;
    }
    const name = snapshotFileName(snap.metadata.term, snap.metadata.index);
    const final = joinPath(this.dir, name);
    const tmp = `${final}.tmp`;
    const handle = await this.fs.open(tmp, 'create');
    try {
      await handle.write(encodeSnapshot(snap), 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.fs.rename(tmp, final);
    await this.fs.syncDir(this.dir);
    return name;
  }

  /** Snapshot files, newest first. */
  async list(): Promise<string[]> {
    return (await this.files()).map((f) => f.name);
  }

  /** The newest snapshot that passes its checks, or null if there is none. */
  load(): Promise<Snapshot | null> {
    return this.loadMatching(() => true);
  }

  /**
   * The newest valid snapshot that the WAL has a marker for (see Wal.readSnapshotMarkers): a snapshot
   * file written just before a crash, whose marker never reached the WAL, is not used.
   */
  loadNewestAvailable(markers: readonly SnapshotMarker[]): Promise<Snapshot | null> {
    const known = new Set(markers.map((m) => `${m.term}/${m.index}`));
    return this.loadMatching((f) => known.has(`${f.term}/${f.index}`));
  }

  /**
   * Deletes all but the newest `keep` snapshot files and any leftover temp files. Call it right after
   * a WAL snapshot marker became durable: then the file of the newest marker is the newest file.
   */
  async purge(): Promise<string[]> {
    const files = await this.files();
    const doomed = files.slice(this.keep).map((f) => f.name);
    let names: string[] = [];
    try {
      names = await this.fs.readdir(this.dir);
    } catch (err) {
      if (!(err instanceof FileNotFoundError)) throw err;
    }
    doomed.push(...names.filter((n) => n.endsWith('.snap.tmp')));
    for (const n of doomed) await this.fs.unlink(joinPath(this.dir, n));
    if (doomed.length > 0) await this.fs.syncDir(this.dir);
    return doomed;
  }

  private async files(): Promise<SnapFile[]> {
    let names: string[];
    try {
      names = await this.fs.readdir(this.dir);
    } catch (err) {
      if (err instanceof FileNotFoundError) return [];
      throw err;
    }
    const files: SnapFile[] = [];
    for (const name of names) {
      const m = SNAP_RE.exec(name);
      if (m) files.push({ name, term: Number.parseInt(m[1]!, 16), index: Number.parseInt(m[2]!, 16) });
    }
    return files.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  private async loadMatching(accept: (f: SnapFile) => boolean): Promise<Snapshot | null> {
    for (const f of await this.files()) {
      if (!accept(f)) continue;
      const path = joinPath(this.dir, f.name);
      try {
        const snap = decodeSnapshot(await this.fs.readFile(path), path);
        if (snap.metadata.index !== f.index || snap.metadata.term !== f.term) {
          throw new SnapshotCorruptError(path, `contents say ${snap.metadata.term}/${snap.metadata.index}`);
        }
        return snap;
      } catch (err) {
        if (!(err instanceof SnapshotCorruptError)) throw err;
        this.log.warn(
          { file: path, err: err.message },
          'snapshot file is corrupt; setting it aside and trying an older one',
        );
        await this.fs.rename(path, `${path}.broken`).catch(() => {});
      }
    }
    return null;
  }
}
