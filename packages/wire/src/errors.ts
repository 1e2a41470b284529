import { KemuError } from '@kemu/runtime';

/**
 * Every error the wire raises on purpose. Codes are stable: callers branch on `code` (or the class),
 * never on the message.
 */
export type WireErrorCode =
  | 'WIRE_TIMEOUT'
  | 'WIRE_DISCONNECTED'
  | 'WIRE_PEER_DEAD'
  | 'WIRE_UNKNOWN_METHOD'
  | 'WIRE_BAD_FRAME'
  | 'WIRE_FRAME_TOO_LARGE'
  | 'WIRE_TOO_MANY_IN_FLIGHT'
  | 'WIRE_CANCELLED'
  | 'WIRE_VERSION_MISMATCH'
  | 'WIRE_HANDSHAKE'
  | 'WIRE_BAD_FAULT_RULE'
  | 'WIRE_HANDLER_ERROR';

/** A request got no response within its deadline. */
export class WireTimeoutError extends KemuError {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super('WIRE_TIMEOUT', `request ${method} timed out after ${timeoutMs} ms`);
  }
}

/**
 * The connection a call or stream was using is gone (closed, reset, never established). Every pending
 * request and stream of that connection fails with this (or its subclass {@link WirePeerDeadError}).
 */
export class WireDisconnectedError extends KemuError {
  constructor(message: string, code: 'WIRE_DISCONNECTED' | 'WIRE_PEER_DEAD' = 'WIRE_DISCONNECTED') {
    super(code, message);
  }
}

/** The peer stopped answering heartbeats (crashed host, frozen process, partition). */
export class WirePeerDeadError extends WireDisconnectedError {
  constructor(
    readonly peer: string,
    readonly silentMs: number,
  ) {
    super(`peer ${peer} missed heartbeats for ${silentMs} ms; declared dead`, 'WIRE_PEER_DEAD');
  }
}

export class WireUnknownMethodError extends KemuError {
  constructor(readonly method: string) {
    super('WIRE_UNKNOWN_METHOD', `unknown method ${JSON.stringify(method)}`);
  }
}

/** A frame that is not msgpack, has the wrong shape, or breaks the protocol (e.g. exceeds credit). */
export class WireBadFrameError extends KemuError {
  constructor(message: string) {
    super('WIRE_BAD_FRAME', message);
  }
}

export class WireFrameTooLargeError extends KemuError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super('WIRE_FRAME_TOO_LARGE', `frame of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

export class WireTooManyInFlightError extends KemuError {
  constructor(
    readonly limit: number,
    what = 'requests',
  ) {
    super('WIRE_TOO_MANY_IN_FLIGHT', `more than ${limit} ${what} in flight on one connection`);
  }
}

/** The call or stream was cancelled (AbortSignal, consumer gave up, or producer's stream cancelled). */
export class WireCancelledError extends KemuError {
  constructor(message = 'cancelled') {
    super('WIRE_CANCELLED', message);
  }
}

export class WireVersionMismatchError extends KemuError {
  constructor(
    readonly localVersion: number,
    readonly remoteVersion: unknown,
  ) {
    super(
      'WIRE_VERSION_MISMATCH',
      `wire protocol version mismatch: local ${localVersion}, remote ${typeof remoteVersion === 'string' ? remoteVersion : String(remoteVersion)}`,
    );
  }
}

/** The opening hello exchange failed (timeout, bad identity, first frame not a hello). */
export class WireHandshakeError extends KemuError {
  constructor(message: string) {
    super('WIRE_HANDSHAKE', message);
  }
}

/** A fault rule (from the admin endpoint or code) is not valid. */
export class WireBadFaultRuleError extends KemuError {
  constructor(message: string) {
    super('WIRE_BAD_FAULT_RULE', message);
  }
}

/**
 * The remote handler failed. `code` is the remote error's code (its `KemuError.code`, a wire code such
 * as WIRE_UNKNOWN_METHOD, or WIRE_HANDLER_ERROR for errors without a code), so callers can branch on
 * the same codes locally and remotely. `data` carries the remote error's `data` property, if any.
 */
export class RemoteError extends KemuError {
  constructor(
    code: string,
    message: string,
    readonly peer: string,
    readonly data?: unknown,
  ) {
    super(code, message);
  }
}

/** The error payload carried by `res`/`end` frames. */
export interface WireErrorPayload {
  code: string;
  message: string;
  data?: unknown;
}

export function toErrorPayload(err: unknown): WireErrorPayload {
  if (err instanceof KemuError) {
    const data = (err as { data?: unknown }).data;
    return data === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, data };
  }
  if (err instanceof Error) return { code: 'WIRE_HANDLER_ERROR', message: err.message };
  return { code: 'WIRE_HANDLER_ERROR', message: String(err) };
}

export function isErrorPayload(v: unknown): v is WireErrorPayload {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as WireErrorPayload).code === 'string' &&
    typeof (v as WireErrorPayload).message === 'string'
  );
}

/** Close codes the wire uses (4000-4999 is the application range of RFC 6455). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** Set by `ws` when a message exceeds `maxPayload`. */
  TOO_LARGE: 1009,
  VERSION_MISMATCH: 4001,
  BAD_FRAME: 4002,
  HANDSHAKE: 4003,
} as const;
