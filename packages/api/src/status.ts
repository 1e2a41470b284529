// Status objects for every error the apiserver returns (kubectl-contract.md §1), worded like
// k8s.io/apimachinery/pkg/api/errors so kubectl prints the familiar lines. Resources are named
// `pods` (core) or `deployments.apps` (other groups).
import { qualifiedKind, qualifiedResource } from './registry.js';
import type { Status, StatusCause, StatusDetails } from './types/meta.js';
import { aggregateMessage, errorBody, errorString, type FieldError } from './validation/field-error.js';

/** Group + plural resource, e.g. `{group: 'apps', resource: 'deployments'}`. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** Group + kind, e.g. `{group: 'apps', kind: 'Deployment'}`. */
export interface GroupKind {
  group: string;
  kind: string;
}

function failure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details !== undefined) s.details = details;
  s.code = code;
  return s;
}

function resourceDetails(gr: GroupResource, name: string): StatusDetails {
  const d: StatusDetails = { name };
  if (gr.group !== '') d.group = gr.group;
  d.kind = gr.resource;
  return d;
}

/** 404 NotFound: `pods "nope" not found`. */
export function notFoundStatus(gr: GroupResource, name: string): Status {
  return failure(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, resourceDetails(gr, name));
}

/** 409 AlreadyExists: `deployments.apps "web" already exists`. */
export function alreadyExistsStatus(gr: GroupResource, name: string): Status {
  return failure(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, resourceDetails(gr, name));
}

export const OPTIMISTIC_LOCK_MESSAGE =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 409 Conflict: `Operation cannot be fulfilled on deployments.apps "d1": <reason>`. */
export function conflictStatus(gr: GroupResource, name: string, reason: string = OPTIMISTIC_LOCK_MESSAGE): Status {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${reason}`,
    resourceDetails(gr, name),
  );
}

/** 422 Invalid: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: …`, with causes. */
export function invalidStatus(gk: GroupKind, name: string, errs: readonly FieldError[]): Status {
  const causes: StatusCause[] = errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
  const aggregated = aggregateMessage(errs.map(errorString));
  const message =
    aggregated === ''
      ? `${qualifiedKind(gk)} "${name}" is invalid`
      : `${qualifiedKind(gk)} "${name}" is invalid: ${aggregated}`;
  const details: StatusDetails = { name };
  if (gk.group !== '') details.group = gk.group;
  details.kind = gk.kind;
  details.causes = causes;
  return failure(422, 'Invalid', message, details);
}

/** 400 BadRequest with a free message (bad selectors, undecodable bodies, strict-decoding errors). */
export function badRequestStatus(message: string): Status {
  return failure(400, 'BadRequest', message);
}

/** 405 MethodNotAllowed: `create is not supported on resources of kind "nodes/proxy"`. */
export function methodNotSupportedStatus(gr: GroupResource, action: string): Status {
  const details: StatusDetails = {};
  if (gr.group !== '') details.group = gr.group;
  details.kind = gr.resource;
  return failure(
    405,
    'MethodNotAllowed',
    `${action} is not supported on resources of kind "${qualifiedResource(gr)}"`,
    details,
  );
}

/** 410 Expired, sent inside a watch ERROR event: `too old resource version: 1057 (1000)`. */
export function expiredStatus(message: string): Status {
  return failure(410, 'Expired', message);
}

export function tooOldResourceVersionStatus(requested: number | string, oldest: number | string): Status {
  return expiredStatus(`too old resource version: ${requested} (${oldest})`);
}

/** 410 Gone (plain), e.g. an expired continue token. */
export function goneStatus(message: string): Status {
  return failure(410, 'Gone', message);
}

export const ACCEPTED_MEDIA_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

/** 415 UnsupportedMediaType for a body kemu cannot decode. */
export function unsupportedMediaTypeStatus(accepted: readonly string[] = ACCEPTED_MEDIA_TYPES): Status {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

/** 406 NotAcceptable when no offered Accept type can be produced. */
export function notAcceptableStatus(accepted: readonly string[] = ['application/json']): Status {
  return failure(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);
}

/** 413 RequestEntityTooLarge. */
export function requestEntityTooLargeStatus(message: string): Status {
  return failure(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);
}

/** 503 ServiceUnavailable (e.g. etcd has no quorum). */
export function serviceUnavailableStatus(message: string): Status {
  return failure(503, 'ServiceUnavailable', message);
}

/** 504 Timeout: the storage did not answer in time. */
export function timeoutStatus(message: string, retryAfterSeconds = 0): Status {
  return failure(504, 'Timeout', `Timeout: ${message}`, { retryAfterSeconds });
}

/** 500 InternalError: `Internal error occurred: <err>`. */
export function internalErrorStatus(err: unknown): Status {
  const text = err instanceof Error ? err.message : String(err);
  return failure(500, 'InternalError', `Internal error occurred: ${text}`, { causes: [{ message: text }] });
}

/** 403 Forbidden, e.g. creating in a terminating namespace. */
export function forbiddenStatus(gr: GroupResource, name: string, reason: string): Status {
  const subject = name === '' ? qualifiedResource(gr) : `${qualifiedResource(gr)} "${name}"`;
  return failure(403, 'Forbidden', `${subject} is forbidden: ${reason}`, resourceDetails(gr, name));
}

/** 200 Success, the body of a DELETE that removed the object at once. */
export function successStatus(gr: GroupResource, name: string, uid?: string): Status {
  const details = resourceDetails(gr, name);
  if (uid !== undefined) details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** True for a value shaped like a Status (for clients deciding how to read a body). */
export function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}
