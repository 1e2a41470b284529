import { badRequestStatus, type PatchType, patchTypeOf, unsupportedMediaTypeStatus } from '@kemu/api';
import { parse as parseYaml } from 'yaml';
import { ApiStatusError } from '../errors.js';

/** The protobuf decoder, provided by `./protobuf/` (kube-streams); absent = 415 for protobuf bodies. */
interface ProtobufModule {
  decodeProtobuf(bytes: Uint8Array): unknown;
}

let protobuf: Promise<ProtobufModule | undefined> | undefined;

function loadProtobuf(): Promise<ProtobufModule | undefined> {
  // A computed specifier: the module is optional at build time.
  const specifier = ['..', 'protobuf', 'index.js'].join('/');
  protobuf ??= import(specifier).then(
    (m: Partial<ProtobufModule>) => (typeof m.decodeProtobuf === 'function' ? (m as ProtobufModule) : undefined),
    () => undefined,
  );
  return protobuf;
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Decodes a request body by Content-Type: JSON (also when the header is missing, as kubectl sends
 * for `scale --current-replicas`), YAML, and kubectl's protobuf through the optional decoder.
 */
export async function decodeBody(contentType: string | undefined, bytes: Buffer): Promise<unknown> {
  const type = mediaType(contentType);
  if (type === 'application/vnd.kubernetes.protobuf') {
    const mod = await loadProtobuf();
    if (!mod) throw new ApiStatusError(unsupportedMediaTypeStatus(['application/json', 'application/yaml']));
    try {
      return mod.decodeProtobuf(bytes);
    } catch (err) {
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
