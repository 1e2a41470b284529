/**
 * Byte helpers. Keys are held internally as latin1 strings (one char per byte, code 0..255): V8
 * stores them one byte per char, they hash in a Map, and JavaScript's `<` on them is exactly
 * etcd's unsigned byte order, so the index never needs a custom comparator.
 */

export type Bytes = Uint8Array;

export const EMPTY_BYTES: Bytes = new Uint8Array(0);

export function bytesToKey(bytes: Bytes): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function keyToBytes(key: string): Bytes {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/**
 * A private copy for the store to keep. Copying is cheap next to a Raft round trip, and it means a
 * caller reusing its buffer cannot change history, and a view into a larger buffer (a decoded
 * wire frame, Node's Buffer pool, a snapshot) never pins that whole buffer.
 */
export function ownedBytes(bytes: Bytes): Bytes {
  // alloc + set: the TypedArray(typedArray) constructor takes a much slower generic path.
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** Unsigned lexicographic comparison, as etcd orders keys and compares values. */
export function compareBytes(a: Bytes, b: Bytes): number {
  return Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

export function bytesEqual(a: Bytes, b: Bytes): boolean {
  return a.byteLength === b.byteLength && compareBytes(a, b) === 0;
}

/**
 * The range_end that selects every key with `prefix` as a prefix (clientv3.GetPrefixRangeEnd):
 * the prefix with its last non-0xff byte incremented and the rest dropped; all-0xff → `\0`
 * (meaning "every key ≥ key").
 */
export function prefixRangeEnd(prefix: Bytes): Bytes {
  const end = new Uint8Array(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1).slice();
    }
  }
  return new Uint8Array([0]);
}

/** Convenience for tests and callers holding text keys. */
export function utf8(text: string): Bytes {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function isBytes(value: unknown): value is Bytes {
  return value instanceof Uint8Array;
}
