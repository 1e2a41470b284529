export {
  type DecodedKubernetesObject,
  decodeKubernetesProtobuf,
  formatDuration,
  isProtobufKindSupported,
  type JsonObject,
  type JsonValue,
  KUBERNETES_PROTOBUF_CONTENT_TYPE,
  KUBERNETES_PROTOBUF_MAGIC,
} from './decode.js';
export { ProtobufDecodeError, type ProtobufErrorCode, statusForProtobufError } from './errors.js';
