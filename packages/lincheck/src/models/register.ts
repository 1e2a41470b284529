import { UNKNOWN } from '../history.js';
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
    hash: (state) => canonicalString(state),
    describe(input, output) {
      const out = output === UNKNOWN ? '?' : 'value' in output ? canonicalString(output.value) : 'ok';
      return input.type === 'write' ? `write(${canonicalString(input.value)}) -> ${out}` : `read() -> ${out}`;
    },
    describeState: (state) => canonicalString(state),
  };
}
