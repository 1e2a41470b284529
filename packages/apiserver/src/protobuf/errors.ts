import { KemuError } from '@kemu/runtime';

/** Codes a protobuf request body can fail with; the apiserver maps them to HTTP statuses. */
export type ProtobufErrorCode =
  | 'PROTOBUF_MALFORMED'
  | 'PROTOBUF_UNSUPPORTED_KIND'
  | 'PROTOBUF_UNSUPPORTED_FIELD'
  | 'PROTOBUF_UNSUPPORTED_ENCODING';

/**
 * A `application/vnd.kubernetes.protobuf` body that cannot be turned into JSON. `httpStatus` is what
 * the apiserver should answer: 400 for broken bytes, 415 for well-formed bodies we do not model.
 */
export class ProtobufDecodeError extends KemuError {
  declare readonly code: ProtobufErrorCode;
  readonly httpStatus: 400 | 415;
  /** Dotted path of the field being decoded when the error happened (e.g. `spec.template.spec`). */
  readonly fieldPath: string;

  constructor(code: ProtobufErrorCode, message: string, fieldPath = '', options?: { cause?: unknown }) {
    super(code, fieldPath === '' ? message : `${message} (at ${fieldPath})`, options);
    this.httpStatus = code === 'PROTOBUF_MALFORMED' ? 400 : 415;
    this.fieldPath = fieldPath;
  }
}

/** The Kubernetes `Status` body the apiserver should answer a failed protobuf decode with. */
export function statusForProtobufError(err: ProtobufDecodeError): {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: 'UnsupportedMediaType' | 'BadRequest';
  code: 400 | 415;
} {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message:
      err.httpStatus === 415
        ? `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${err.message})`
        : err.message,
    reason: err.httpStatus === 415 ? 'UnsupportedMediaType' : 'BadRequest',
    code: err.httpStatus,
  };
}
