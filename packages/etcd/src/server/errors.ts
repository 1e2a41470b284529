import { KemuError } from '@kemu/runtime';

/**
 * The errors an etcd member sends back to clients. Messages match etcd's own (`etcdserver: …`,
 * `mvcc: …`) so people who know etcd recognise them; `code` is what programs branch on, and it is
 * carried over the wire so a client rebuilds the same class on its side.
 */
export class EtcdError extends KemuError {}

export class NoLeaderError extends EtcdError {
  constructor(message = 'etcdserver: no leader') {
    super('ETCD_NO_LEADER', message);
  }
}

/** The member is on the minority side of a partition (or alone): it cannot commit anything. */
export class NotEnoughMembersError extends EtcdError {
  constructor(message = 'etcdserver: no leader (this member cannot reach a quorum; writes are refused)') {
    super('ETCD_NO_QUORUM', message);
  }
}

export class RequestTooLargeError extends EtcdError {
  constructor(message = 'etcdserver: request is too large') {
    super('ETCD_REQUEST_TOO_LARGE', message);
  }
}

export class RequestTimeoutError extends EtcdError {
  constructor(message = 'etcdserver: request timed out') {
    super('ETCD_TIMEOUT', message);
  }
}

export class LeaderChangedError extends EtcdError {
  constructor(message = 'etcdserver: leader changed') {
    super('ETCD_LEADER_CHANGED', message);
  }
}

export class CompactedError extends EtcdError {
  /** Carried over the wire beside code and message. */
  readonly data: { compactRevision: number };

  constructor(
    readonly compactRevision: number,
    message = 'mvcc: required revision has been compacted',
  ) {
    super('ETCD_COMPACTED', message);
    this.data = { compactRevision };
  }
}

export class FutureRevisionError extends EtcdError {
  constructor(message = 'mvcc: required revision is a future revision') {
    super('ETCD_FUTURE_REV', message);
  }
}

export class LeaseNotFoundError extends EtcdError {
  constructor(message = 'etcdserver: requested lease not found') {
    super('ETCD_LEASE_NOT_FOUND', message);
  }
}

export class InvalidRequestError extends EtcdError {
  constructor(message: string) {
    super('ETCD_INVALID_ARGUMENT', message.startsWith('etcdserver:') ? message : `etcdserver: ${message}`);
  }
}

export class MemberNotFoundError extends EtcdError {
  constructor(message = 'etcdserver: member not found') {
    super('ETCD_MEMBER_NOT_FOUND', message);
  }
}

export class MemberExistsError extends EtcdError {
  constructor(message = 'etcdserver: member ID already exist') {
    super('ETCD_MEMBER_EXISTS', message);
  }
}

export class StoppedError extends EtcdError {
  constructor(message = 'etcdserver: server stopped') {
    super('ETCD_STOPPED', message);
  }
}

/** The client could not reach any endpoint in time. */
export class UnavailableError extends EtcdError {
  constructor(message: string) {
    super('ETCD_UNAVAILABLE', message);
  }
}

const BY_CODE: Record<string, (message: string, details: Record<string, unknown>) => EtcdError> = {
  ETCD_NO_LEADER: (m) => new NoLeaderError(m),
  ETCD_NO_QUORUM: (m) => new NotEnoughMembersError(m),
  ETCD_REQUEST_TOO_LARGE: (m) => new RequestTooLargeError(m),
  ETCD_TIMEOUT: (m) => new RequestTimeoutError(m),
  ETCD_LEADER_CHANGED: (m) => new LeaderChangedError(m),
  ETCD_COMPACTED: (m, d) => new CompactedError(typeof d.compactRevision === 'number' ? d.compactRevision : 0, m),
  ETCD_FUTURE_REV: (m) => new FutureRevisionError(m),
  ETCD_LEASE_NOT_FOUND: (m) => new LeaseNotFoundError(m),
  ETCD_INVALID_ARGUMENT: (m) => new InvalidRequestError(m),
  ETCD_MEMBER_NOT_FOUND: (m) => new MemberNotFoundError(m),
  ETCD_MEMBER_EXISTS: (m) => new MemberExistsError(m),
  ETCD_STOPPED: (m) => new StoppedError(m),
  ETCD_UNAVAILABLE: (m) => new UnavailableError(m),
};

/** Rebuilds a typed error from its code and message (as carried on the wire); unknown codes stay generic. */
export function etcdErrorFromCode(code: string, message: string, details: Record<string, unknown> = {}): EtcdError {
  const make = BY_CODE[code];
  return make ? make(message, details) : new EtcdError(code, message);
}

/** Extra fields an error carries across the wire besides code and message. */
export function errorDetails(err: EtcdError): Record<string, unknown> {
  return err instanceof CompactedError ? { compactRevision: err.compactRevision } : {};
}
