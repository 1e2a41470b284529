import type { History } from '../history.js';
import { UNKNOWN, type Unknown } from '../history.js';
import type { Model, StepResult } from '../model.js';

/** A txn compare on one key. `value: null` and `modRevision: 0` both mean "the key is absent". */
export type KvCompare = { target: 'value'; value: string | null } | { target: 'mod_revision'; modRevision: number };

/** A request inside a txn branch; it acts on the txn's key. */
export type KvRequest = { type: 'get' } | { type: 'put'; value: string } | { type: 'delete' };

export type KvInput =
  | { type: 'get'; key: string }
  /** `unread` is set by the model's `prepare` on a put whose value nothing read; leave it out. */
  | { type: 'put'; key: string; value: string; unread?: boolean }
  | { type: 'delete'; key: string }
  | { type: 'txn'; key: string; compare: KvCompare; onSuccess?: KvRequest; onFailure?: KvRequest };

/**
 * What etcd answered. Every field is optional: leave out what the client did not record and the
 * model checks only what is there.
 * - `revision`: the response header revision (for a write, the revision it created).
 * - `value` / `modRevision`: a get's result (`value: null` when absent), also a txn branch's get.
 * - `deleted`: a delete's count of deleted keys (0 or 1).
 * - `succeeded`: whether a txn's compare held.
 */
export interface KvOutput {
  revision?: number;
  value?: string | null;
  modRevision?: number;
  deleted?: number;
  succeeded?: boolean;
}

/** A present key. `modRevision` is null when the key exists but the write's revision is not known. */
export interface KvKeyState {
  value: string;
  /**
   * Set when no operation reads or compares this value: all such states hash alike, so the cache
   * treats "put a then put b" and "put b then put a" as one configuration (see `UnreadValue`).
   */
  unread?: boolean;
  modRevision: number | null;
}

export interface KvState {
  keys: ReadonlyMap<string, KvKeyState>;
  /** The highest store revision observed so far in the linearization (a lower bound). */
  revision: number;
}

/**
 * How the KV model treats revisions.
 * - `ignore`: only values are checked; compares on mod_revision are taken from the txn's reported
 *   outcome. Partitioned per key.
 * - `per-key` (default): additionally, along each key's linearization the header revisions never go
 *   back, every write creates a revision above all those seen before, and a get's mod_revision is the
 *   revision of the write it reads. Partitioned per key; sound because a restriction of etcd's single
 *   revision order to one key is still ordered.
 * - `global`: the same checks across all keys at once, so a get at revision r must see every write
 *   below r, whatever its key. Not partitioned, hence much slower: use on small histories.
 */
export type KvRevisionMode = 'ignore' | 'per-key' | 'global';

export interface KvModelOptions {
  revisions?: KvRevisionMode;
}

const EMPTY: KvState = { keys: new Map(), revision: 0 };

/**
 * An etcd-style key-value store: get, put, delete and single-key txn (compare value or mod_revision,
 * then one request per branch — enough for Kubernetes' create and GuaranteedUpdate patterns).
 * Operations of unknown outcome may take effect or not, as the checker places them.
 */
export function etcdKvModel(options: KvModelOptions = {}): Model<KvState, KvInput, KvOutput> {
  const mode = options.revisions ?? 'per-key';
  const tracking = mode !== 'ignore';
  const model: Model<KvState, KvInput, KvOutput> = {
    name: `etcd-kv (revisions: ${mode})`,
    init: () => EMPTY,
    step: (state, input, output) => stepKv(state, input, output, tracking),
    prepare: (part) => (tracking ? tightenByRevision(prepareKv(part)) : prepareKv(part)),
    readOnly: (input, output) => isReadOnly(input, output, tracking),
    hash: hashKv,
    describe: describeKv,
    describeState: describeKvState,
  };
  if (mode !== 'global') {
    model.partition = partitionByKey;
    model.describePartition = (part) => `key ${JSON.stringify(part[0]?.input.key ?? '')}`;
  }
  return model;
}

export function partitionByKey<O>(history: History<KvInput, O>): History<KvInput, O>[] {
  const byKey = new Map<string, Array<History<KvInput, O>[number]>>();
  for (const op of history) {
    let part = byKey.get(op.input.key);
    if (part === undefined) {
      part = [];
      byKey.set(op.input.key, part);
    }
    part.push(op);
  }
  return [...byKey.values()];
}

type Step = StepResult<KvState>;

function reject(reason: string): Step {
  return { ok: false, reason };
}

function stepKv(state: KvState, input: KvInput, output: KvOutput | Unknown, tracking: boolean): Step {
  const out = output === UNKNOWN ? undefined : output;
  if (input.type === 'txn') return stepTxn(state, input, out, tracking);
  return applyRequest(state, input.key, input, out, tracking);
}

function stepTxn(
  state: KvState,
  input: Extract<KvInput, { type: 'txn' }>,
  out: KvOutput | undefined,
  tracking: boolean,
): Step {
  const current = state.keys.get(input.key);
  let holds: boolean | undefined;
  let before = state;
  if (input.compare.target === 'value') {
    holds = (current?.value ?? null) === input.compare.value;
  } else if (current === undefined) {
    holds = input.compare.modRevision === 0;
  } else if (current.modRevision !== null) {
    holds = current.modRevision === input.compare.modRevision;
  } else if (out?.succeeded !== undefined) {
    // The key's revision is not known here, so the reported outcome decides; a success teaches it.
    holds = out.succeeded;
    if (holds && tracking) before = withKey(state, input.key, { ...current, modRevision: input.compare.modRevision });
  } else {
    // Undecidable and outcome unknown: assume it held. If it really failed it changed nothing, which
    // the checker also covers by linearizing this operation after everything else.
    // (A txn with a known output must report `succeeded` on such keys for a full check.)
    holds = true;
  }
  if (out?.succeeded !== undefined && out.succeeded !== holds) {
    return reject(
      `txn reported succeeded=${out.succeeded}, but ${describeCompare(input.compare)} is ${holds} ` +
        `when ${input.key} is ${describeKey(current)}`,
    );
  }
  const request = holds ? input.onSuccess : input.onFailure;
  if (request === undefined)
    return tracking && out?.revision !== undefined ? observe(before, out.revision) : ok(before);
  return applyRequest(before, input.key, request, out, tracking);
}

function ok(state: KvState): Step {
  return { ok: true, state };
}

/** A response that created no revision: its header revision may not go back. */
function observe(state: KvState, revision: number): Step {
  if (revision < state.revision) {
    return reject(`response at revision ${revision}, but revision ${state.revision} was already observed before it`);
  }
  return ok(revision === state.revision ? state : { keys: state.keys, revision });
}

function applyRequest(
  state: KvState,
  key: string,
  request: KvRequest,
  out: KvOutput | undefined,
  tracking: boolean,
): Step {
  const current = state.keys.get(key);
  switch (request.type) {
    case 'get': {
      if (out === undefined) return ok(state);
      if (out.value !== undefined && out.value !== (current?.value ?? null)) {
        return reject(`get ${key} returned ${describeValue(out.value)}, but ${key} is ${describeKey(current)}`);
      }
      if (!tracking) return ok(state);
      let next = state;
      if (out.modRevision !== undefined && current !== undefined) {
        if (current.modRevision === null) {
          next = withKey(state, key, { ...current, modRevision: out.modRevision });
        } else if (current.modRevision !== out.modRevision) {
          return reject(
            `get ${key} returned mod_revision ${out.modRevision}, but the write it reads created revision ${current.modRevision}`,
          );
        }
      }
      if (out.revision !== undefined && out.modRevision !== undefined && out.modRevision > out.revision) {
        return reject(`get ${key} returned mod_revision ${out.modRevision} above its header revision ${out.revision}`);
      }
      return out.revision === undefined ? ok(next) : observe(next, out.revision);
    }
    case 'put': {
      const revision = tracking ? out?.revision : undefined;
      const unread = 'unread' in request && request.unread === true;
      const value = request.value;
      const written = (modRevision: number | null): KvKeyState =>
        unread ? { value, modRevision, unread } : { value, modRevision };
      if (revision === undefined) return ok(withKey(state, key, written(null)));
      if (revision <= state.revision) {
        return reject(`put ${key} created revision ${revision}, but revision ${state.revision} was observed before it`);
      }
      return ok({ ...withKey(state, key, written(revision)), revision });
    }
    case 'delete': {
      const deleted = current === undefined ? 0 : 1;
      if (out?.deleted !== undefined && out.deleted !== deleted) {
        return reject(`delete ${key} reported ${out.deleted} deleted, but ${key} is ${describeKey(current)}`);
      }
      const revision = tracking ? out?.revision : undefined;
      if (current === undefined) return revision === undefined ? ok(state) : observe(state, revision);
      if (revision !== undefined && revision <= state.revision) {
        return reject(
          `delete ${key} created revision ${revision}, but revision ${state.revision} was observed before it`,
        );
      }
      const next = withKey(state, key, undefined);
      return ok(revision === undefined ? next : { ...next, revision });
    }
  }
}

function withKey(state: KvState, key: string, value: KvKeyState | undefined): KvState {
  const keys = new Map(state.keys);
  if (value === undefined) keys.delete(key);
  else keys.set(key, value);
  return { keys, revision: state.revision };
}

function hashKv(state: KvState): string {
  const keys = [...state.keys.keys()].sort();
  let s = String(state.revision);
  for (const k of keys) {
    const v = state.keys.get(k)!;
    const value = v.unread === true ? '*' : JSON.stringify(v.value);
    s += `|${JSON.stringify(k)}=${value}@${v.modRevision ?? '?'}`;
  }
  return s;
}

function describeValue(value: string | null): string {
  return value === null ? 'absent' : JSON.stringify(value);
}

function describeKey(key: KvKeyState | undefined): string {
  if (key === undefined) return 'absent';
  const notes = [
    ...(key.modRevision === null ? [] : [`mod_revision ${key.modRevision}`]),
    ...(key.unread === true ? ['never read'] : []),
  ];
  return `${JSON.stringify(key.value)}${notes.length === 0 ? '' : ` (${notes.join(', ')})`}`;
}

function describeCompare(c: KvCompare): string {
  return c.target === 'value' ? `value == ${describeValue(c.value)}` : `mod_revision == ${c.modRevision}`;
}

function describeRequest(r: KvRequest | undefined): string {
  if (r === undefined) return 'nothing';
  return r.type === 'put' ? `put ${JSON.stringify(r.value)}` : r.type;
}

function describeKv(input: KvInput, output: KvOutput | Unknown): string {
  let call: string;
  switch (input.type) {
    case 'get':
      call = `get(${input.key})`;
      break;
    case 'put':
      call = `put(${input.key}, ${JSON.stringify(input.value)})`;
      break;
    case 'delete':
      call = `delete(${input.key})`;
      break;
    case 'txn':
      call =
        `txn(${input.key}: if ${describeCompare(input.compare)} then ${describeRequest(input.onSuccess)}` +
        ` else ${describeRequest(input.onFailure)})`;
      break;
  }
  if (output === UNKNOWN) return `${call} -> ? (outcome unknown)`;
  const parts: string[] = [];
  if (output.succeeded !== undefined) parts.push(output.succeeded ? 'succeeded' : 'failed');
  if (output.value !== undefined) parts.push(describeValue(output.value));
  if (output.modRevision !== undefined) parts.push(`mod_rev ${output.modRevision}`);
  if (output.deleted !== undefined) parts.push(`deleted ${output.deleted}`);
  if (output.revision !== undefined) parts.push(`rev ${output.revision}`);
  return `${call} -> ${parts.length === 0 ? 'ok' : parts.join(', ')}`;
}

function describeKvState(state: KvState): string {
  const keys = [...state.keys.keys()].sort();
  const body = keys.map((k) => `${k}=${describeKey(state.keys.get(k))}`).join(', ');
  return `{${body}}${state.revision > 0 ? ` at revision >= ${state.revision}` : ''}`;
}

type KvOp = History<KvInput, KvOutput>[number];

/** The value this operation may write to its key, if any (a put, or a txn with a put branch). */
function writtenValues(input: KvInput): string[] {
  if (input.type === 'put') return [input.value];
  if (input.type !== 'txn') return [];
  return [input.onSuccess, input.onFailure].flatMap((r) => (r?.type === 'put' ? [r.value] : []));
}

/** Whether the model reads `output.value` as the result of a get for this operation. */
function reportsGet(input: KvInput, output: KvOutput): boolean {
  if (input.type === 'get') return true;
  if (input.type !== 'txn') return false;
  if (output.succeeded !== undefined) return (output.succeeded ? input.onSuccess : input.onFailure)?.type === 'get';
  return input.onSuccess?.type === 'get' && input.onFailure?.type === 'get';
}

/**
 * Whether `step` returns the state unchanged whenever it accepts this operation (see
 * `Model.readOnly`): gets and non-writing txns, unless they carry revisions the model learns from.
 */
function isReadOnly(input: KvInput, output: KvOutput | Unknown, tracking: boolean): boolean {
  if (input.type === 'put' || input.type === 'delete') return false;
  if (output !== UNKNOWN && tracking && (output.revision !== undefined || output.modRevision !== undefined))
    return false;
  if (input.type === 'get') return true;
  // A compare on mod_revision may teach the model the key's revision when it succeeds.
  if (tracking && input.compare.target === 'mod_revision') return false;
  if (output !== UNKNOWN && output.succeeded !== undefined) {
    const taken = output.succeeded ? input.onSuccess : input.onFailure;
    return taken === undefined || taken.type === 'get';
  }
  return readOnlyTxn(input);
}

/** True for a txn that writes nothing whatever its compare does. */
function readOnlyTxn(input: Extract<KvInput, { type: 'txn' }>): boolean {
  return (
    input.onSuccess?.type !== 'put' &&
    input.onSuccess?.type !== 'delete' &&
    input.onFailure?.type !== 'put' &&
    input.onFailure?.type !== 'delete'
  );
}

/**
 * Simplifies unknown-outcome operations without changing the verdict (see `Model.prepare`):
 * - an unknown get, or an unknown txn that writes nothing, has no effect: dropped;
 * - an unknown put of value v is dropped when nothing could depend on it having happened: no known
 *   operation on its key returned v, and no txn or acknowledged delete on that key ended after its
 *   call (a compare or a delete count could have been explained by it);
 * - an unknown put or txn writing a value v that no other operation writes, when some operation
 *   observed v (read it, or compared equal to it and succeeded), took effect before the first such
 *   observation ended: its return is bounded by it.
 */
function prepareKv(part: History<KvInput, KvOutput>): History<KvInput, KvOutput> {
  const slot = (key: string, value: string): string => `${key.length}:${key}=${value}`;
  const writers = new Map<string, number>();
  const firstSeen = new Map<string, number>();
  const lastDependent = new Map<string, number>();
  // Values some txn compares against: a put of one of them is not "unread".
  const compared = new Set<string>();
  const seen = (k: string, v: string, at: number): void => {
    firstSeen.set(slot(k, v), Math.min(firstSeen.get(slot(k, v)) ?? Number.POSITIVE_INFINITY, at));
  };
  for (const op of part) {
    const { input, output } = op;
    for (const v of writtenValues(input)) writers.set(slot(input.key, v), (writers.get(slot(input.key, v)) ?? 0) + 1);
    if (input.type === 'txn' && input.compare.target === 'value' && input.compare.value !== null) {
      compared.add(slot(input.key, input.compare.value));
    }
    const dependent = input.type === 'txn' || (input.type === 'delete' && output !== UNKNOWN && output.deleted === 1);
    if (dependent)
      lastDependent.set(input.key, Math.max(lastDependent.get(input.key) ?? Number.NEGATIVE_INFINITY, op.return));
    if (output === UNKNOWN) continue;
    if (typeof output.value === 'string' && reportsGet(input, output)) seen(input.key, output.value, op.return);
    if (input.type === 'txn' && input.compare.target === 'value' && input.compare.value !== null && output.succeeded) {
      seen(input.key, input.compare.value, op.return);
    }
  }
  return part.flatMap((op): KvOp[] => {
    const { input } = op;
    if (op.output !== UNKNOWN) {
      if (
        input.type !== 'put' ||
        firstSeen.has(slot(input.key, input.value)) ||
        compared.has(slot(input.key, input.value))
      ) {
        return [op];
      }
      return [{ ...op, input: { ...input, unread: true } }];
    }
    if (input.type === 'get' || (input.type === 'txn' && readOnlyTxn(input))) return [];
    const values = writtenValues(input);
    const observed = values.map((v) => firstSeen.get(slot(input.key, v)));
    if (
      input.type === 'put' &&
      observed[0] === undefined &&
      !((lastDependent.get(input.key) ?? Number.NEGATIVE_INFINITY) > op.call)
    ) {
      return [];
    }
    if (values.length === 1 && observed[0] !== undefined && writers.get(slot(input.key, values[0]!)) === 1) {
      const bound = Math.max(op.call, observed[0]);
      if (bound < op.return) return [{ ...op, return: bound }];
    }
    if (input.type === 'put' && observed[0] === undefined && !compared.has(slot(input.key, input.value))) {
      return [{ ...op, input: { ...input, unread: true } }];
    }
    return [op];
  });
}

/**
 * What an operation's reported revision says about its place in etcd's single revision order: a
 * write created revision `revision`; a read (a get, a delete of nothing, a txn that wrote nothing)
 * saw the store at `revision`. Undefined when the output does not say (unknown outcome, no revision,
 * or a txn/delete whose branch cannot be told from the output).
 */
function revisionOrder(op: KvOp): { revision: number; write: boolean } | undefined {
  const { input, output } = op;
  if (output === UNKNOWN || output.revision === undefined) return undefined;
  switch (input.type) {
    case 'get':
      return { revision: output.revision, write: false };
    case 'put':
      return { revision: output.revision, write: true };
    case 'delete':
      return output.deleted === undefined ? undefined : { revision: output.revision, write: output.deleted > 0 };
    case 'txn': {
      if (output.succeeded === undefined) return undefined;
      const taken = output.succeeded ? input.onSuccess : input.onFailure;
      // A delete in a branch may or may not have found the key; leave such txns unconstrained.
      if (taken?.type === 'delete') return undefined;
      return { revision: output.revision, write: taken?.type === 'put' };
    }
  }
}

/**
 * Narrows intervals using revisions, without changing the verdict under revision checking: in any
 * linearization the model accepts, an operation at a lower revision comes before one at a higher
 * revision, and a write of revision r before a read at r. So an operation must take effect before
 * every later-ordered one returns, and after every earlier-ordered one is called. Real histories
 * are nearly sequential in revision order, so this removes most of the concurrency the search would
 * otherwise explore. If the revisions contradict real time, nothing is narrowed (the search then
 * finds the violation).
 */
function tightenByRevision(part: History<KvInput, KvOutput>): History<KvInput, KvOutput> {
  // Order key: 2*revision for a write, 2*revision+1 for a read, so a write precedes reads at its
  // revision; reads at one revision are mutually unordered, which groups by key handle.
  const ordered = part
    .map((op, index) => ({ op, index, order: revisionOrder(op) }))
    .filter((e): e is { op: KvOp; index: number; order: { revision: number; write: boolean } } => e.order !== undefined)
    .map((e) => ({ ...e, key: 2 * e.order.revision + (e.order.write ? 0 : 1) }))
    .sort((a, b) => a.key - b.key);
  if (ordered.length < 2) return part;
  const n = ordered.length;
  // latestReturn[i]: min return over entries with a strictly greater key; earliestCall likewise.
  const returnBound = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  for (let i = n - 1, min = Number.POSITIVE_INFINITY, j = n - 1; i >= 0; i--) {
    while (j > i && ordered[j]!.key > ordered[i]!.key) {
      min = Math.min(min, ordered[j]!.op.return);
      j--;
    }
    // j walked down to the last entry with the same key as i; entries above it are all greater.
    returnBound[i] = min;
  }
  const callBound = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0, max = Number.NEGATIVE_INFINITY, j = 0; i < n; i++) {
    while (j < i && ordered[j]!.key < ordered[i]!.key) {
      max = Math.max(max, ordered[j]!.op.call);
      j++;
    }
    callBound[i] = max;
  }
  const replaced = new Map<number, KvOp>();
  for (let i = 0; i < n; i++) {
    const { op, index } = ordered[i]!;
    const call = Math.max(op.call, callBound[i]!);
    const ret = Math.min(op.return, returnBound[i]!);
    if (call > ret) return part;
    if (call !== op.call || ret !== op.return) replaced.set(index, { ...op, call, return: ret });
  }
  return part.map((op, i) => replaced.get(i) ?? op);
}
