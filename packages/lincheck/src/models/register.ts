import { type History, UNKNOWN } from '../history.js';
import { canonicalString, type Model } from '../model.js';

export type RegisterInput<V> = { type: 'read' } | { type: 'write'; value: V };
/** A read returns the value; a write returns nothing of interest. */
export type RegisterOutput<V> = { value: V } | { ok: true };

/**
 * A single read/write register. Values are compared by their canonical encoding, so any JSON-like
 * value works. A read whose outcome is unknown constrains nothing; a write whose outcome is unknown
 * may take effect at any point after its call.
 */
export function registerModel<V>(initial: V): Model<V, RegisterInput<V>, RegisterOutput<V>> {
  const same = (a: V, b: V): boolean => Object.is(a, b) || canonicalString(a) === canonicalString(b);
  return {
    name: 'register',
    init: () => initial,
    step(state, input, output) {
      if (input.type === 'write') return { ok: true, state: input.value };
      if (output === UNKNOWN) return { ok: true, state };
      if (!('value' in output)) return { ok: false, reason: 'a read must return { value }' };
      return same(output.value, state)
        ? { ok: true, state }
        : {
            ok: false,
            reason: `read ${canonicalString(output.value)} but the register holds ${canonicalString(state)}`,
          };
    },
    prepare: prepareRegister,
    hash: (state) => canonicalString(state),
    describe(input, output) {
      const out = output === UNKNOWN ? '?' : 'value' in output ? canonicalString(output.value) : 'ok';
      return input.type === 'write' ? `write(${canonicalString(input.value)}) -> ${out}` : `read() -> ${out}`;
    },
    describeState: (state) => canonicalString(state),
  };
}

/**
 * Unknown reads constrain nothing: dropped. An unknown write whose value no read returned is dropped
 * too (if it took effect, no read saw it, so "never" explains the history as well). An unknown write
 * whose value some read returned, and which no other write writes, took effect before that read
 * returned: its return is bounded by the earliest such read.
 */
function prepareRegister<V>(
  part: History<RegisterInput<V>, RegisterOutput<V>>,
): History<RegisterInput<V>, RegisterOutput<V>> {
  const writers = new Map<string, number>();
  const firstRead = new Map<string, number>();
  for (const op of part) {
    if (op.input.type === 'write') {
      const v = canonicalString(op.input.value);
      writers.set(v, (writers.get(v) ?? 0) + 1);
    } else if (op.output !== UNKNOWN && 'value' in op.output) {
      const v = canonicalString(op.output.value);
      firstRead.set(v, Math.min(firstRead.get(v) ?? Number.POSITIVE_INFINITY, op.return));
    }
  }
  return part.flatMap((op) => {
    if (op.output !== UNKNOWN) return [op];
    if (op.input.type === 'read') return [];
    const v = canonicalString(op.input.value);
    const seen = firstRead.get(v);
    if (seen === undefined) return [];
    if (writers.get(v) === 1 && seen < op.return) return [{ ...op, return: Math.max(op.call, seen) }];
    return [op];
  });
}
