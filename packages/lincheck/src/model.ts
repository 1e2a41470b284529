import type { History, Unknown } from './history.js';

/** The outcome of applying one operation to a model state. `reason` explains a rejection to people. */
export type StepResult<S> = { ok: true; state: S } | { ok: false; reason?: string };

/**
 * A sequential specification: what a correct, single-copy object does. The checker asks whether the
 * concurrent history can be ordered so that `step` accepts every operation in turn.
 *
 * `step` must be pure (never mutate `state`) and must accept an `UNKNOWN` output in every state,
 * returning the state as if the operation took effect there (unchanged if it could not have). An
 * unknown operation that never took effect is covered by the checker linearizing it last, after
 * every known operation, which relies on that.
 */
export interface Model<S, I, O> {
  /** For messages only. */
  readonly name?: string;
  init(): S;
  step(state: S, input: I, output: O | Unknown): StepResult<S>;
  /**
   * Splits a history into independent sub-histories (P-compositionality: a history is linearizable
   * iff each part is — true per key for a key-value store whose operations touch one key each).
   */
  partition?(history: History<I, O>): History<I, O>[];
  /**
   * Simplifies one part before the search without changing its verdict. Unknown-outcome operations
   * are what make the search blow up (each may or may not be in every linearized set), so models
   * use this to drop the ones nothing could have observed and to bound the others: an unknown write
   * of a value written by no other operation must have taken effect before the first read of it.
   * Explanations show the prepared part.
   */
  prepare?(part: History<I, O>): History<I, O>;
  /** A short label for one part, e.g. `key "a"`. */
  describePartition?(part: History<I, O>): string;
  /**
   * True if this operation, whenever `step` accepts it, returns the state unchanged (a read). The
   * checker then places such an operation as soon as it fits without trying alternatives, which
   * removes most backtracking on read-heavy histories. Returning true for an operation that can
   * change the state makes the checker miss linearizations (false alarms), so when in doubt, false.
   */
  readOnly?(input: I, output: O | Unknown): boolean;
  /**
   * A hash of `state` for the checker's cache of visited (linearized set, state) pairs. Equal states
   * must hash equally. Without `equal`, states with equal hashes are taken to be equal, so the hash
   * must then be a canonical key (a string is the easy way). Default: a canonical JSON encoding.
   */
  hash?(state: S): string | number;
  equal?(a: S, b: S): boolean;
  describe?(input: I, output: O | Unknown): string;
  describeState?(state: S): string;
}

/**
 * A JSON-like encoding with object keys sorted and Maps/Sets ordered, so equal values encode to the
 * same string. Used as the default state hash and to describe values.
 */
export function canonicalString(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : `#${String(value)}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'symbol') return value.description ?? 'symbol';
  if (typeof value === 'function') return 'function';
  if (Array.isArray(value)) return `[${value.map(canonicalString).join(',')}]`;
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => `${canonicalString(k)}:${canonicalString(v)}`);
    return `Map{${entries.sort().join(',')}}`;
  }
  if (value instanceof Set) return `Set{${[...value].map(canonicalString).sort().join(',')}}`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalString(obj[k])}`).join(',')}}`;
}

/**
 * A sequential specification whose operations may lead to several states (e.g. a queue whose failed
 * dequeue may or may not have removed an element). `step` returns every possible successor; none
 * means the operation is illegal there.
 */
export interface NondeterministicModel<S, I, O> extends Omit<Model<S, I, O>, 'step' | 'init' | 'equal'> {
  init(): S[];
  step(state: S, input: I, output: O | Unknown): S[];
}

/**
 * Turns a nondeterministic model into a deterministic one whose state is the set of states the object
 * could be in (the subset construction, as Porcupine does). The set is kept sorted by hash and free of
 * duplicates so that equal sets hash equally.
 */
export function determinize<S, I, O>(model: NondeterministicModel<S, I, O>): Model<readonly S[], I, O> {
  const hashOf = (s: S): string => {
    const h = model.hash ? model.hash(s) : canonicalString(s);
    return typeof h === 'number' ? `n${h}` : `s${h}`;
  };
  const normalize = (states: readonly S[]): S[] => {
    const byHash = new Map<string, S>();
    for (const s of states) byHash.set(hashOf(s), s);
    return [...byHash.keys()].sort().map((k) => byHash.get(k)!);
  };
  const result: Model<readonly S[], I, O> = {
    name: model.name,
    init: () => normalize(model.init()),
    step(states, input, output) {
      const next = normalize(states.flatMap((s) => model.step(s, input, output)));
      if (next.length === 0) return { ok: false, reason: 'no possible state accepts this operation' };
      return { ok: true, state: next };
    },
    hash: (states) => states.map(hashOf).join('|'),
  };
  if (model.partition) result.partition = model.partition.bind(model);
  if (model.prepare) result.prepare = model.prepare.bind(model);
  if (model.readOnly) {
    // Read-only for every state in the set means read-only for the set.
    result.readOnly = model.readOnly.bind(model);
  }
  if (model.describePartition) result.describePartition = model.describePartition.bind(model);
  if (model.describe) result.describe = model.describe.bind(model);
  const describeState = model.describeState?.bind(model);
  result.describeState = (states) =>
    `one of {${states.map((s) => (describeState ? describeState(s) : canonicalString(s))).join(', ')}}`;
  return result;
}
