import { badRequestStatus, type PatchType, patchTypeOf, unsupportedMediaTypeStatus } from '@kemu/api';
import { parse as parseYaml } from 'yaml';
import { ApiStatusError } from '../errors.js';
import { decodeKubernetesProtobuf, ProtobufDecodeError, statusForProtobufError } from '../protobuf/index.js';

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Decodes a request body by Content-Type: JSON (also when the header is missing, as kubectl sends
 * for `scale --current-replicas`), YAML, and the protobuf bodies of kubectl's typed generators
 * (decoded by `../protobuf/`).
 */
export function decodeBody(contentType: string | undefined, bytes: Buffer): unknown {
  const type = mediaType(contentType);
  if (type === 'application/vnd.kubernetes.protobuf') {
    try {
      return decodeKubernetesProtobuf(bytes).object;
    } catch (err) {
      if (err instanceof ProtobufDecodeError) throw new ApiStatusError(statusForProtobufError(err));
      throw new ApiStatusError(badRequestStatus(`unable to decode protobuf body: ${(err as Error).message}`));
    }
  }
  const text = bytes.toString('utf8');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') return parseYamlBody(text);
  if (type === '' || type === 'application/json' || patchTypeOf(type) !== undefined) {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ApiStatusError(
        badRequestStatus(`error decoding body: couldn't get version/kind; json parse error: ${(err as Error).message}`),
      );
    }
  }
  throw new ApiStatusError(unsupportedMediaTypeStatus());
}

function parseYamlBody(text: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ApiStatusError(badRequestStatus(`error converting YAML to JSON: ${(err as Error).message}`));
  }
}

export function patchType(contentType: string | undefined): PatchType | undefined {
  return patchTypeOf(mediaType(contentType));
}
