/**
 * The storage surface the WAL and snapshotter need, injected so tests can use an in-memory disk
 * that loses unsynced data on `crash()`. Paths are plain strings joined with `/`.
 *
 * Durability contract (POSIX, as the in-memory model enforces it):
 * - bytes written to a file are durable only after `sync()`/`datasync()` on that handle;
 * - a created, renamed or unlinked directory entry is durable only after `syncDir(dir)`.
 */
export interface FileHandle {
  readonly path: string;
  /** Write all of `data` at `position` (the file grows as needed). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Read up to `length` bytes at `position`; shorter at end of file. */
  read(position: number, length: number): Promise<Uint8Array>;
  size(): Promise<number>;
  truncate(length: number): Promise<void>;
  /** fsync: data and metadata. */
  sync(): Promise<void>;
  /** fdatasync: data and the metadata needed to read it back (size). */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** `read`: existing file read-only; `append`: existing file read-write; `create`: create or truncate; `create-new`: fail if it exists. */
export type OpenMode = 'read' | 'write' | 'create' | 'create-new';

export interface FileSystem {
  /** Creates the dir and its parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Names (not paths) in `dir`, sorted. Throws FileNotFoundError if the dir does not exist. */
  readdir(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync the directory itself so entry creations/renames/removals in it are durable. */
  syncDir(dir: string): Promise<void>;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** The directory holding `path` (whose entry must be fsynced to make `path` itself durable). */
export function parentDir(path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : trimmed.slice(0, i);
}
