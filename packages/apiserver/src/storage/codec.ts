import type { KubeObject } from '@kemu/api';
import type { KeyValue } from '@kemu/etcd';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Objects are stored as JSON without `resourceVersion`: the etcd mod_revision is the version. */
export function encodeObject(obj: KubeObject): Uint8Array {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return encoder.encode(JSON.stringify({ ...obj, metadata }));
}

export function decodeObject(value: Uint8Array, modRevision: number): KubeObject {
  const obj = JSON.parse(decoder.decode(value)) as KubeObject;
  obj.metadata.resourceVersion = String(modRevision);
  return obj;
}

export function decodeKv(kv: KeyValue): KubeObject {
  return decodeObject(kv.value as Uint8Array, kv.modRevision);
}

export function keyString(key: Uint8Array | string): string {
  return typeof key === 'string' ? key : decoder.decode(key);
}
