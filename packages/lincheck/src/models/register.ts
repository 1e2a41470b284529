import { type History, UNKNOWN } from '../history.js';
import { canonicalString, type Model } from '../model.js';

/**
 * `unread` is set by the model's `prepare` on a write whose value no read returned; leave it out when
 * recording.
 */
export type RegisterInput<V> = { type: 'read' } | { type: 'write'; value: V; unread?: boolean };
/** A read returns the value; a write returns nothing of interest. */
export type RegisterOutput<V> = { value: V } | { ok: true };

/**
 * The state after a write whose value no read returned. Such states are interchangeable — no later
 * read can succeed until another write — so they all hash alike, and the checker's cache sees
 * "w1 then w2" and "w2 then w1" as one configuration. Without this, blind writes (common under
 * contention: half the writes of 16 clients on one key are never read) make the search explode.
 */
export class UnreadValue<V> {
  constructor(readonly value: V) {}
}
export type RegisterState<V> = V | UnreadValue<V>;

/**
 * A single read/write register. Values are compared by their canonical encoding, so any JSON-like
 * value works. A read whose outcome is unknown constrains nothing; a write whose outcome is unknown
 * may take effect at any point after its call.
 */
export function registerModel<V>(initial: V): Model<RegisterState<V>, RegisterInput<V>, RegisterOutput<V>> {
  // No read returns an unread value (that is how it was chosen), whatever it looks like.
  const same = (a: RegisterState<V>, b: V): boolean =>
    !(a instanceof UnreadValue) && (Object.is(a, b) || canonicalString(a) === canonicalString(b));
  return {
    name: 'register',
    init: () => initial,
    step(state, input, output) {
      if (input.type === 'write')
        return { ok: true, state: input.unread === true ? new UnreadValue(input.value) : input.value };
      if (output === UNKNOWN) return { ok: true, state };
      if (!('value' in output)) return { ok: false, reason: 'a read must return { value }' };
      return same(state, output.value)
        ? { ok: true, state }
        : {
            ok: false,
            reason: `read ${canonicalString(output.value)} but the register holds ${describeRegister(state)}`,
          };
    },
    prepare: prepareRegister,
    readOnly: (input) => input.type === 'read',
    hash: (state) => (state instanceof UnreadValue ? '*' : canonicalString(state)),
    describe(input, output) {
      const out = output === UNKNOWN ? '?' : 'value' in output ? canonicalString(output.value) : 'ok';
      return input.type === 'write' ? `write(${canonicalString(input.value)}) -> ${out}` : `read() -> ${out}`;
    },
    describeState: describeRegister,
  };
}

function describeRegister(state: unknown): string {
  return state instanceof UnreadValue ? `${canonicalString(state.value)} (never read)` : canonicalString(state);
}

/**
 * Known writes whose value no read returned are marked `unread` (see `UnreadValue`).
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
    if (op.output !== UNKNOWN) {
      if (op.input.type !== 'write' || firstRead.has(canonicalString(op.input.value))) return [op];
      return [{ ...op, input: { ...op.input, unread: true } }];
    }
    if (op.input.type === 'read') return [];
    const v = canonicalString(op.input.value);
    const seen = firstRead.get(v);
    if (seen === undefined) return [];
    if (writers.get(v) === 1 && seen < op.return) return [{ ...op, return: Math.max(op.call, seen) }];
    return [op];
  });
}
