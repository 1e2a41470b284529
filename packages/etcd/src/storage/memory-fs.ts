import type { Random } from '@kemu/runtime';
import { FileExistsError, FileNotFoundError, FileSystemCrashedError } from './errors.js';
import type { FileHandle, FileSystem, OpenMode } from './fs.js';

type PendingFileOp = { kind: 'write'; position: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };

type PendingDirOp =
  | { kind: 'link'; name: string; inode: Inode }
  | { kind: 'unlink'; name: string }
  | { kind: 'rename'; from: string; to: string };

class Inode {
  /** What a reader sees now (page cache). */
  data: Uint8Array;
  /** What survives a crash: the content as of the last fsync. */
  durable: Uint8Array;
  /** Writes since the last fsync, in order, so a crash can keep a prefix of them (a torn write). */
  pending: PendingFileOp[] = [];

  constructor(data: Uint8Array = new Uint8Array(0)) {
    this.data = data;
    this.durable = data;
  }
}

class Dir {
  entries = new Map<string, Inode>();
  durable = new Map<string, Inode>();
  pending: PendingDirOp[] = [];
}

function applyFileOp(data: Uint8Array, op: PendingFileOp): Uint8Array {
  if (op.kind === 'truncate') {
    if (op.length <= data.length) return data.slice(0, op.length);
    const grown = new Uint8Array(op.length);
    grown.set(data);
    return grown;
  }
  const end = op.position + op.bytes.length;
  const out = end > data.length ? new Uint8Array(end) : data.slice();
  if (end > data.length) out.set(data);
  out.set(op.bytes, op.position);
  return out;
}

function applyDirOp(entries: Map<string, Inode>, op: PendingDirOp): void {
  if (op.kind === 'link') entries.set(op.name, op.inode);
  else if (op.kind === 'unlink') entries.delete(op.name);
  else {
    const inode = entries.get(op.from);
    if (inode === undefined) return;
    entries.delete(op.from);
    entries.set(op.to, inode);
  }
}

function split(path: string): { dir: string; name: string } {
  const p = normalize(path);
  const i = p.lastIndexOf('/');
  if (i < 0) return { dir: '.', name: p };
  return { dir: i === 0 ? '/' : p.slice(0, i), name: p.slice(i + 1) };
}

function normalize(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The state of the simulated disk, shared by the views of successive "processes". */
class Disk {
  dirs = new Map<string, Dir>();
}

export interface CrashOptions {
  /**
   * When given, each file keeps a random in-order prefix of its unsynced writes (the last one cut at a
   * random byte: a torn write), and each directory a random prefix of its unsynced entry changes.
   * Without it, exactly the synced state survives.
   */
  tear?: Random;
}

/**
 * An in-memory disk with POSIX durability rules, for deterministic crash tests. Bytes and directory
 * entries that were not fsynced are lost by `crash()`, which returns the view a restarted process
 * sees; the old view and all its handles throw FileSystemCrashedError from then on, so a "dead"
 * process cannot touch the new state. Directories made by `mkdir` are durable at once (a
 * simplification: the WAL and snapshotter only create files inside existing dirs).
 */
export class MemoryFileSystem implements FileSystem {
  private alive = true;
  /** Called before every operation (including handle operations); a test may crash from here. */
  beforeOperation: ((op: string, path: string) => void) | undefined;
  /** Operations performed through this view, by kind (`sync`, `datasync`, `syncDir`, `write`, ...). */
  readonly counts = new Map<string, number>();

  constructor(private readonly disk: Disk = new Disk()) {}

  get crashed(): boolean {
    return !this.alive;
  }

  /** Simulates power loss. Returns the file system as it is after reboot. */
  crash(opts: CrashOptions = {}): MemoryFileSystem {
    this.alive = false;
    const next = new Disk();
    const tear = opts.tear;
    const survivors = new Set<Inode>();
    for (const [path, dir] of this.disk.dirs) {
      const entries = new Map(dir.durable);
      if (tear) {
        const keep = tear.int(0, dir.pending.length + 1);
        for (const op of dir.pending.slice(0, keep)) applyDirOp(entries, op);
      }
      const d = new Dir();
      d.entries = entries;
      d.durable = new Map(entries);
      next.dirs.set(path, d);
      for (const inode of entries.values()) survivors.add(inode);
    }
    const rebuilt = new Map<Inode, Inode>();
    for (const inode of survivors) {
      let data = inode.durable;
      if (tear && inode.pending.length > 0) {
        const keep = tear.int(0, inode.pending.length + 1);
        for (const op of inode.pending.slice(0, keep)) data = applyFileOp(data, op);
        const torn = inode.pending[keep];
        if (torn?.kind === 'write') {
          const cut = tear.int(0, torn.bytes.length);
          data = applyFileOp(data, { kind: 'write', position: torn.position, bytes: torn.bytes.subarray(0, cut) });
        }
      }
      rebuilt.set(inode, new Inode(data));
    }
    for (const dir of next.dirs.values()) {
      for (const [name, inode] of dir.entries) {
        const fresh = rebuilt.get(inode)!;
        dir.entries.set(name, fresh);
        dir.durable.set(name, fresh);
      }
    }
    return new MemoryFileSystem(next);
  }

  /** @internal */
  check(op: string, path: string): void {
    if (!this.alive) throw new FileSystemCrashedError();
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
    this.beforeOperation?.(op, path);
    if (!this.alive) throw new FileSystemCrashedError();
  }

  private dir(path: string): Dir {
    const d = this.disk.dirs.get(normalize(path));
    if (d === undefined) throw new FileNotFoundError(path);
    return d;
  }

  private lookup(path: string): Inode | undefined {
    const { dir, name } = split(path);
    return this.disk.dirs.get(dir)?.entries.get(name);
  }

  async mkdir(path: string): Promise<void> {
    this.check('mkdir', path);
    let p = normalize(path);
    while (!this.disk.dirs.has(p)) {
      this.disk.dirs.set(p, new Dir());
      const parent = split(p).dir;
      if (parent === p) break;
      p = parent;
    }
  }

  async readdir(path: string): Promise<string[]> {
    this.check('readdir', path);
    const d = this.dir(path);
    const names = [...d.entries.keys()];
    const prefix = normalize(path) === '/' ? '/' : `${normalize(path)}/`;
    for (const sub of this.disk.dirs.keys()) {
      if (sub.startsWith(prefix) && sub.length > prefix.length && !sub.slice(prefix.length).includes('/')) {
        names.push(sub.slice(prefix.length));
      }
    }
    return names.sort();
  }

  async exists(path: string): Promise<boolean> {
    this.check('exists', path);
    return this.disk.dirs.has(normalize(path)) || this.lookup(path) !== undefined;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.check('open', path);
    const { dir, name } = split(path);
    const d = this.dir(dir);
    let inode = d.entries.get(name);
    if (mode === 'create-new' && inode !== undefined) throw new FileExistsError(path);
    if (mode === 'read' || mode === 'write') {
      if (inode === undefined) throw new FileNotFoundError(path);
    } else if (inode === undefined) {
      inode = new Inode();
      d.entries.set(name, inode);
      d.pending.push({ kind: 'link', name, inode });
    } else if (mode === 'create') {
      inode.data = new Uint8Array(0);
      inode.pending.push({ kind: 'truncate', length: 0 });
    }
    return new MemoryFileHandle(this, normalize(path), inode, mode === 'read');
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.check('readFile', path);
    const inode = this.lookup(path);
    if (inode === undefined) throw new FileNotFoundError(path);
    return inode.data.slice();
  }

  async rename(from: string, to: string): Promise<void> {
    this.check('rename', from);
    const a = split(from);
    const b = split(to);
    if (a.dir !== b.dir) throw new Error(`MemoryFileSystem supports renames within one dir only: ${from} -> ${to}`);
    const d = this.dir(a.dir);
    if (!d.entries.has(a.name)) throw new FileNotFoundError(from);
    const op: PendingDirOp = { kind: 'rename', from: a.name, to: b.name };
    applyDirOp(d.entries, op);
    d.pending.push(op);
  }

  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    const { dir, name } = split(path);
    const d = this.dir(dir);
    if (!d.entries.has(name)) throw new FileNotFoundError(path);
    d.entries.delete(name);
    d.pending.push({ kind: 'unlink', name });
  }

  async syncDir(path: string): Promise<void> {
    this.check('syncDir', path);
    const d = this.dir(path);
    d.durable = new Map(d.entries);
    d.pending = [];
  }
}

class MemoryFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: MemoryFileSystem,
    readonly path: string,
    private readonly inode: Inode,
    private readonly readOnly: boolean,
  ) {}

  private check(op: string): void {
    this.fs.check(op, this.path);
    if (this.closed) throw new Error(`file handle for ${this.path} is closed`);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.check('write');
    if (this.readOnly) throw new Error(`${this.path} is open read-only`);
    const op: PendingFileOp = { kind: 'write', position, bytes: data.slice() };
    this.inode.data = applyFileOp(this.inode.data, op);
    this.inode.pending.push(op);
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    this.check('read');
    return this.inode.data.slice(position, position + length);
  }

  async size(): Promise<number> {
    this.check('size');
    return this.inode.data.length;
  }

  async truncate(length: number): Promise<void> {
    this.check('truncate');
    const op: PendingFileOp = { kind: 'truncate', length };
    this.inode.data = applyFileOp(this.inode.data, op);
    this.inode.pending.push(op);
  }

  async sync(): Promise<void> {
    this.check('sync');
    this.inode.durable = this.inode.data;
    this.inode.pending = [];
  }

  async datasync(): Promise<void> {
    this.check('datasync');
    this.inode.durable = this.inode.data;
    this.inode.pending = [];
  }

  async close(): Promise<void> {
    if (this.fs.crashed) return;
    this.closed = true;
  }
}
