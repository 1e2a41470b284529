// Typed API errors mirroring Kubernetes Status reasons (k8s.io/apimachinery/pkg/api/errors), so a
// controller can write `if (isNotFound(err))` whether the error came from the wire or from FakeApi.
import { isStatus, type Status } from '@kemu/api';
import { KemuError } from '@kemu/runtime';

/** Status reasons components branch on; anything else is kept verbatim in `reason`. */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'Expired'
  | 'Gone'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'TooManyRequests'
  | 'InternalError'
  | string;

/**
 * An error the API answered with a Status. `code` is `API_<REASON>` (e.g. `API_NOT_FOUND`), the same
 * code the apiserver's wire layer sends, so it survives the wire unchanged.
 */
export class ApiError extends KemuError {
  constructor(
    readonly status: Status,
    options?: { cause?: unknown },
  ) {
    super(apiErrorCode(status.reason ?? 'Unknown'), status.message ?? status.reason ?? 'API error', options);
  }

  get reason(): StatusReason {
    return this.status.reason ?? 'Unknown';
  }

  /** The HTTP status code of the Status (404, 409, 410, ...). */
  get httpCode(): number {
    return this.status.code ?? 500;
  }

  /** Carried over the wire beside code and message (see @kemu/wire `RemoteError.data`). */
  get data(): Status {
    return this.status;
  }
}

export function apiErrorCode(reason: string): string {
  return `API_${reason.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** Builds a Failure Status (for fakes and for client-side conditions such as a lost connection). */
export function failureStatus(code: number, reason: string, message: string, name?: string): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (name !== undefined) s.details = { name };
  return s;
}

function reasonOf(err: unknown): string | undefined {
  return err instanceof ApiError ? err.reason : undefined;
}

function codeOf(err: unknown): number | undefined {
  return err instanceof ApiError ? err.httpCode : undefined;
}

export const isNotFound = (err: unknown): boolean => reasonOf(err) === 'NotFound';
export const isAlreadyExists = (err: unknown): boolean => reasonOf(err) === 'AlreadyExists';
export const isConflict = (err: unknown): boolean => reasonOf(err) === 'Conflict';
export const isInvalid = (err: unknown): boolean => reasonOf(err) === 'Invalid';
export const isBadRequest = (err: unknown): boolean => reasonOf(err) === 'BadRequest';
export const isForbidden = (err: unknown): boolean => reasonOf(err) === 'Forbidden';
/** 410: `Expired` (watch or list from a compacted resourceVersion) or plain `Gone`. */
export const isResourceExpired = (err: unknown): boolean => codeOf(err) === 410;
export const isGone = isResourceExpired;
export const isServiceUnavailable = (err: unknown): boolean => reasonOf(err) === 'ServiceUnavailable';
export const isTimeout = (err: unknown): boolean => reasonOf(err) === 'Timeout';
export const isTooManyRequests = (err: unknown): boolean => reasonOf(err) === 'TooManyRequests';
export const isInternalError = (err: unknown): boolean => reasonOf(err) === 'InternalError';

/** True for errors worth retrying as they are: the server (or the path to it) was briefly unable. */
export function isRetryable(err: unknown): boolean {
  return isServiceUnavailable(err) || isTimeout(err) || isTooManyRequests(err) || isInternalError(err);
}

/** Bad configuration passed to a client-side helper (informer, workqueue, leader election). */
export class ClientConfigError extends KemuError {
  constructor(message: string) {
    super('CLIENT_BAD_CONFIG', message);
  }
}

/** An operation on something that was stopped or shut down. */
export class ClientStoppedError extends KemuError {
  constructor(message: string) {
    super('CLIENT_STOPPED', message);
  }
}

/**
 * Maps anything a transport threw to an ApiError where there is a Status to map to: a remote
 * error carrying a Status, a wire timeout (→ 504 Timeout) or a lost connection (→ 503
 * ServiceUnavailable), so callers only ever branch on Status reasons. Other errors pass through.
 */
export function toApiError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  if (err instanceof KemuError) {
    const data = (err as { data?: unknown }).data;
    if (isStatus(data)) return new ApiError(data, { cause: err });
    switch (err.code) {
      case 'WIRE_TIMEOUT':
        return new ApiError(failureStatus(504, 'Timeout', `Timeout: ${err.message}`), { cause: err });
      case 'WIRE_DISCONNECTED':
      case 'WIRE_PEER_DEAD':
      case 'WIRE_TOO_MANY_IN_FLIGHT':
        return new ApiError(failureStatus(503, 'ServiceUnavailable', `apiserver unavailable: ${err.message}`), {
          cause: err,
        });
      default:
        return err;
    }
  }
  return err;
}
