import type { History } from '../history.js';
import { UNKNOWN, type Unknown } from '../history.js';
import type { Model, StepResult } from '../model.js';

/** A txn compare on one key. `value: null` and `modRevision: 0` both mean "the key is absent". */
export type KvCompare = { target: 'value'; value: string | null } | { target: 'mod_revision'; modRevision: number };

/** A request inside a txn branch; it acts on the txn's key. */
export type KvRequest = { type: 'get' } | { type: 'put'; value: string } | { type: 'delete' };

export type KvInput =
  | { type: 'get'; key: string }
  | { type: 'put'; key: string; value: string }
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
      if (revision === undefined) return ok(withKey(state, key, { value: request.value, modRevision: null }));
      if (revision <= state.revision) {
        return reject(`put ${key} created revision ${revision}, but revision ${state.revision} was observed before it`);
      }
      return ok({ ...withKey(state, key, { value: request.value, modRevision: revision }), revision });
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
    s += `|${JSON.stringify(k)}=${JSON.stringify(v.value)}@${v.modRevision ?? '?'}`;
  }
  return s;
}

function describeValue(value: string | null): string {
  return value === null ? 'absent' : JSON.stringify(value);
}

function describeKey(key: KvKeyState | undefined): string {
  if (key === undefined) return 'absent';
  return `${JSON.stringify(key.value)}${key.modRevision === null ? '' : ` (mod_revision ${key.modRevision})`}`;
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
