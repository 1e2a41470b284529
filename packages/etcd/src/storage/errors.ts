import { KemuError } from '@kemu/runtime';

/** A WAL record failed its checksum or framing somewhere other than a torn tail. Never served. */
export class WalCorruptError extends KemuError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super('WAL_CORRUPT', `WAL corrupt in ${file} at offset ${offset}: ${reason}`);
    this.file = file;
    this.offset = offset;
  }
}

/** The data dir belongs to another cluster or member; refusing to replay someone else's log. */
export class WalClusterMismatchError extends KemuError {
  constructor(
    readonly expected: { clusterId: string; memberId: string },
    readonly found: { clusterId: string; memberId: string },
    dir: string,
  ) {
    super(
      'WAL_CLUSTER_MISMATCH',
      `WAL in ${dir} belongs to cluster ${found.clusterId} member ${found.memberId}, ` +
        `but this process is cluster ${expected.clusterId} member ${expected.memberId}; ` +
        'point it at its own data dir or wipe this one',
    );
  }
}

/** The dir holds no WAL segments: the member is new and should call `Wal.create`. */
export class WalNotInitializedError extends KemuError {
  constructor(dir: string) {
    super('WAL_NOT_INITIALIZED', `no WAL in ${dir}: the member has not been initialized`);
  }
}

/** `Wal.create` into a dir that already has segments: refusing to overwrite a log. */
export class WalExistsError extends KemuError {
  constructor(dir: string) {
    super('WAL_EXISTS', `a WAL already exists in ${dir}`);
  }
}

/** Replay was asked to start at a snapshot that the log has no marker for (or the segments are gone). */
export class WalSnapshotNotFoundError extends KemuError {
  constructor(dir: string, index: number, term: number, detail: string) {
    super('WAL_SNAPSHOT_NOT_FOUND', `WAL in ${dir} has no snapshot marker ${term}/${index}: ${detail}`);
  }
}

/** The WAL was closed, or an earlier write/fsync failed and the log can no longer be trusted. */
export class WalClosedError extends KemuError {
  constructor(reason: string, cause?: unknown) {
    super('WAL_CLOSED', `WAL is not writable: ${reason}`, cause === undefined ? undefined : { cause });
  }
}

/** Caller passed something the WAL cannot store (bad index, value too large). */
export class WalInvalidArgumentError extends KemuError {
  constructor(message: string) {
    super('WAL_INVALID_ARGUMENT', message);
  }
}

/** A snapshot file failed its checksum or could not be decoded. */
export class SnapshotCorruptError extends KemuError {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super('SNAPSHOT_CORRUPT', `snapshot ${file} is corrupt: ${reason}`);
  }
}

/** A file or directory that must exist does not. */
export class FileNotFoundError extends KemuError {
  constructor(readonly path: string) {
    super('FS_NOT_FOUND', `no such file or directory: ${path}`);
  }
}

/** An exclusive create found the path already taken. */
export class FileExistsError extends KemuError {
  constructor(readonly path: string) {
    super('FS_EXISTS', `file already exists: ${path}`);
  }
}

/** The in-memory file system was crashed; handles and views from before the crash are dead. */
export class FileSystemCrashedError extends KemuError {
  constructor() {
    super('FS_CRASHED', 'the simulated machine crashed; this view of the file system is gone');
  }
}
