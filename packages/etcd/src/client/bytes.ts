const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type Bytes = string | Uint8Array;

export function toBytes(v: Bytes): Uint8Array {
  return typeof v === 'string' ? encoder.encode(v) : v;
}

export function bytesToString(b: Uint8Array): string {
  return decoder.decode(b);
}

/** The smallest key greater than every key with this prefix (etcd's `GetPrefixRangeEnd`). */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  // All 0xff (or empty): every key >= prefix.
  return new Uint8Array([0]);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
