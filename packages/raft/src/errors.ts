/**
 * Errors raised by the Raft core. `@kemu/raft` depends on nothing of ours, so `RaftError` mirrors the
 * shape of `KemuError` (`code` is stable, the message is for people) without extending it.
 */
export class RaftError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The requested index is older than the storage's first index (it was compacted into a snapshot). */
export class CompactedError extends RaftError {
  constructor(index: number, firstIndex: number) {
    super('raft-compacted', `index ${index} is compacted (first available index is ${firstIndex})`);
  }
}

/** The requested index is beyond the storage's last index. */
export class UnavailableError extends RaftError {
  constructor(index: number, lastIndex: number) {
    super('raft-unavailable', `index ${index} is unavailable (last index is ${lastIndex})`);
  }
}

/** A snapshot older than the one the storage already holds. */
export class SnapshotOutOfDateError extends RaftError {
  constructor(index: number, current: number) {
    super('raft-snapshot-out-of-date', `snapshot at index ${index} is older than the current snapshot at ${current}`);
  }
}

/** The storage cannot produce a snapshot right now; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor() {
    super('raft-snapshot-temporarily-unavailable', 'snapshot is temporarily unavailable');
  }
}

/** A proposal (or conf change, or transfer) that this node cannot accept now: not leader, no leader known, transfer in progress, a conf change pending. */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super('raft-proposal-dropped', `proposal dropped: ${reason}`);
  }
}

/** A message from the network that is malformed or of a local-only type. */
export class InvalidMessageError extends RaftError {
  constructor(reason: string) {
    super('raft-invalid-message', `invalid message: ${reason}`);
  }
}

export class InvalidConfigError extends RaftError {
  constructor(reason: string) {
    super('raft-invalid-config', `invalid raft config: ${reason}`);
  }
}

export class InvalidConfChangeError extends RaftError {
  constructor(reason: string) {
    super('raft-invalid-conf-change', `invalid conf change: ${reason}`);
  }
}

/** The host broke the Ready/advance protocol (e.g. asked for a second Ready before advancing the first). */
export class ReadyProtocolError extends RaftError {
  constructor(reason: string) {
    super('raft-ready-protocol', reason);
  }
}

/** An internal invariant does not hold: a bug in raft, or storage that lost data it acknowledged. */
export class RaftInvariantError extends RaftError {
  constructor(reason: string) {
    super('raft-invariant', reason);
  }
}
