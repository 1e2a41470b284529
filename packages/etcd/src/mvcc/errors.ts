import { KemuError } from '@kemu/runtime';

/**
 * The store's errors. Codes are etcd's Go error names and messages are etcd's gRPC messages, so a
 * client that knows etcd knows these; both are stable. Every error is raised before the store
 * changes, so a failed request leaves identical state on every member.
 */

export class MvccCompactedError extends KemuError {
  constructor(readonly compactRevision: number) {
    super('ErrCompacted', 'etcdserver: mvcc: required revision has been compacted');
  }
}

export class MvccFutureRevisionError extends KemuError {
  constructor(
    readonly requestedRevision: number,
    readonly currentRevision: number,
  ) {
    super('ErrFutureRev', 'etcdserver: mvcc: required revision is a future revision');
  }
}

export class EmptyKeyError extends KemuError {
  constructor() {
    super('ErrEmptyKey', 'etcdserver: key is not provided');
  }
}

export class KeyNotFoundError extends KemuError {
  constructor() {
    super('ErrKeyNotFound', 'etcdserver: key not found');
  }
}

export class ValueProvidedError extends KemuError {
  constructor() {
    super('ErrValueProvided', 'etcdserver: value is provided');
  }
}

export class LeaseProvidedError extends KemuError {
  constructor() {
    super('ErrLeaseProvided', 'etcdserver: lease is provided');
  }
}

export class TooManyOpsError extends KemuError {
  constructor(readonly maxOps: number) {
    super('ErrTooManyOps', 'etcdserver: too many operations in txn request');
  }
}

export class DuplicateKeyError extends KemuError {
  constructor() {
    super('ErrDuplicateKey', 'etcdserver: duplicate key given in txn request');
  }
}

export class LeaseNotFoundError extends KemuError {
  constructor(readonly leaseId: number) {
    super('ErrLeaseNotFound', 'etcdserver: requested lease not found');
  }
}

export class LeaseExistsError extends KemuError {
  constructor(readonly leaseId: number) {
    super('ErrLeaseExist', 'etcdserver: lease already exists');
  }
}

export class LeaseTtlTooLargeError extends KemuError {
  constructor(readonly ttl: number) {
    super('ErrLeaseTTLTooLarge', 'etcdserver: too large lease TTL');
  }
}

/** A lease keep-alive reached a member that is not the leader (etcd's lease.ErrNotPrimary). */
export class LeaseNotPrimaryError extends KemuError {
  constructor() {
    super('ErrNotPrimary', 'etcdserver: not a primary lessor');
  }
}

/** The request is malformed (wrong field types, unknown operation, negative numbers). */
export class InvalidRequestError extends KemuError {
  constructor(detail: string) {
    super('ErrInvalidRequest', `etcdserver: invalid request: ${detail}`);
  }
}

export class WatchIdExistsError extends KemuError {
  constructor(readonly watchId: number) {
    super('ErrWatcherDuplicateID', 'mvcc: duplicate watch ID provided on the WatchStream');
  }
}

/** A store listener (e.g. a watch sink) tried to write while being notified of a commit. */
export class ReentrantWriteError extends KemuError {
  constructor() {
    super('ErrReentrantWrite', 'mvcc: write from inside a commit notification');
  }
}

/** Snapshot bytes that are not a store snapshot, or are truncated/corrupt. */
export class SnapshotCorruptError extends KemuError {
  constructor(detail: string) {
    super('ErrSnapshotCorrupt', `mvcc: snapshot is corrupt: ${detail}`);
  }
}
