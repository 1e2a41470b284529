/**
 * etcd's key/range_end conventions turned into a span over latin1 keys:
 * - no range_end (or empty): the single key;
 * - range_end `\0`: every key ≥ key;
 * - otherwise [key, range_end), empty when range_end ≤ key.
 */
import { type Bytes, bytesToKey } from './bytes.js';

export interface KeySpan {
  start: string;
  /** Exclusive end; null = unbounded. Ignored when `single`. */
  end: string | null;
  single: boolean;
}

export function spanOf(key: Bytes, rangeEnd: Bytes | undefined | null): KeySpan {
  const start = bytesToKey(key);
  if (rangeEnd === undefined || rangeEnd === null || rangeEnd.byteLength === 0) {
    return { start, end: null, single: true };
  }
  if (rangeEnd.byteLength === 1 && rangeEnd[0] === 0) return { start, end: null, single: false };
  return { start, end: bytesToKey(rangeEnd), single: false };
}

export function spanContains(span: KeySpan, key: string): boolean {
  if (span.single) return key === span.start;
  return key >= span.start && (span.end === null || key < span.end);
}

export function spanIsEmpty(span: KeySpan): boolean {
  return !span.single && span.end !== null && span.end <= span.start;
}
