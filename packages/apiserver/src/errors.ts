import {
  internalErrorStatus,
  requestEntityTooLargeStatus,
  type Status,
  serviceUnavailableStatus,
  timeoutStatus,
} from '@kemu/api';
import { ConnectionError, EtcdError } from '@kemu/etcd';
import { KemuError } from '@kemu/runtime';

/**
 * An API error carrying the Kubernetes Status body sent to the client. The code is derived from the
 * Status reason (`API_NOT_FOUND`, `API_CONFLICT`, …) so programs can branch on it; the HTTP layer
 * sends `status.code`, the wire layer sends the Status as the error's data.
 */
export class ApiStatusError extends KemuError {
  constructor(readonly status: Status) {
    super(`API_${snake(status.reason ?? 'Unknown')}`, status.message ?? status.reason ?? 'error');
  }

  get httpCode(): number {
    return this.status.code ?? 500;
  }

  /** Carried over the wire beside code and message. */
  get data(): Status {
    return this.status;
  }
}

function snake(reason: string): string {
  return reason.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Turns anything thrown below the HTTP/wire layer into a Status error (etcd outages → 503/504). */
export function toStatusError(err: unknown): ApiStatusError {
  if (err instanceof ApiStatusError) return err;
  if (err instanceof EtcdError) {
    switch (err.code) {
      case 'ETCD_NO_LEADER':
      case 'ETCD_NO_QUORUM':
      case 'ETCD_UNAVAILABLE':
      case 'ETCD_STOPPED':
      case 'ETCD_LEADER_CHANGED':
        return new ApiStatusError(serviceUnavailableStatus(`etcd is unavailable: ${err.message}`));
      case 'ETCD_TIMEOUT':
        return new ApiStatusError(
          timeoutStatus(`request did not complete within the allowed duration: ${err.message}`, 1),
        );
      case 'ETCD_REQUEST_TOO_LARGE':
        return new ApiStatusError(requestEntityTooLargeStatus(err.message));
      default:
        return new ApiStatusError(internalErrorStatus(err));
    }
  }
  if (err instanceof ConnectionError) {
    return new ApiStatusError(serviceUnavailableStatus(`etcd is unavailable: ${err.message}`));
  }
  return new ApiStatusError(internalErrorStatus(err));
}

/** A 400 BadRequest for malformed requests. */
export function badRequest(message: string): ApiStatusError {
  return new ApiStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'BadRequest',
    code: 400,
  });
}
