// The three PATCH body types kubectl sends (kubectl-contract.md §5.3), as pure functions:
//   application/merge-patch+json           → applyMergePatch (RFC 7386)
//   application/json-patch+json            → applyJsonPatch (RFC 6902)
//   application/strategic-merge-patch+json → applyStrategicMergePatch, with the merge keys of the
//     built-in kinds (containers/volumes/env by name, container ports by containerPort, service
//     ports by port, volumeMounts by mountPath, conditions by type, …) and the directives kubectl
//     emits: `$patch: delete|replace|merge`, `$setElementOrder/<list>`, `$retainKeys`,
//     `$deleteFromPrimitiveList/<list>`.
// Lists without a merge key are replaced, as upstream does for lists without a patch strategy.
import { ApiInputError } from './errors.js';

/** A patch that cannot be applied (maps to 422 Invalid or 400 BadRequest, see the apiserver). */
export class PatchError extends ApiInputError {
  constructor(message: string) {
    super('PATCH_INVALID', message);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

// ---------- RFC 7386 ----------

/** JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v) as Json;
  }
  return out;
}

// ---------- RFC 6902 ----------

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}": must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[], pointer: string): { parent: Json; key: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      if (!/^(0|[1-9][0-9]*)$/.test(t) || i >= cur.length)
        throw new PatchError(`doc is missing path: "${pointer}": missing value`);
      cur = cur[i] as Json;
    } else if (isObject(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t] as Json;
    } else {
      throw new PatchError(`doc is missing path: "${pointer}": missing value`);
    }
  }
  return { parent: cur, key: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, key } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!/^(0|[1-9][0-9]*)$/.test(key) || i >= parent.length)
      throw new PatchError(`doc is missing path: "${pointer}": missing value`);
    return parent[i] as Json;
  }
  if (isObject(parent) && Object.hasOwn(parent, key)) return parent[key] as Json;
  throw new PatchError(`doc is missing path: "${pointer}": missing value`);
}

function removeAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('unable to remove the whole document');
  const { parent, key } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!/^(0|[1-9][0-9]*)$/.test(key) || i >= parent.length)
      throw new PatchError(`remove operation does not apply: doc is missing path: "${pointer}"`);
    return parent.splice(i, 1)[0] as Json;
  }
  if (!isObject(parent) || !Object.hasOwn(parent, key)) {
    throw new PatchError(`remove operation does not apply: doc is missing path: "${pointer}"`);
  }
  const v = parent[key] as Json;
  delete parent[key];
  return v;
}

function addAt(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    if (key === '-' && !replace) {
      parent.push(value);
      return doc;
    }
    const i = Number(key);
    const max = replace ? parent.length - 1 : parent.length;
    if (!/^(0|[1-9][0-9]*)$/.test(key) || i > max)
      throw new PatchError(
        `${replace ? 'replace' : 'add'} operation does not apply: index out of bounds: "${pointer}"`,
      );
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
    return doc;
  }
  if (!isObject(parent))
    throw new PatchError(`${replace ? 'replace' : 'add'} operation does not apply: doc is missing path: "${pointer}"`);
  if (replace && !Object.hasOwn(parent, key)) {
    throw new PatchError(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
  }
  parent[key] = value;
  return doc;
}

/** RFC 6902 JSON patch; operations apply in order to a copy, all-or-nothing. */
export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError('json patch must be an array of operations');
  let doc = clone(target) as Json;
  for (const raw of operations) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError('json patch operations need string "op" and "path"');
    }
    const op = raw as unknown as JsonPatchOperation;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, clone(op.value) as Json, false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, clone(op.value) as Json, true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move': {
        if (op.from === undefined) throw new PatchError('move operation needs "from"');
        const v = removeAt(doc, op.from);
        doc = addAt(doc, op.path, v, false);
        break;
      }
      case 'copy': {
        if (op.from === undefined) throw new PatchError('copy operation needs "from"');
        doc = addAt(doc, op.path, clone(getAt(doc, op.from)), false);
        break;
      }
      case 'test':
        if (JSON.stringify(canonical(getAt(doc, op.path))) !== JSON.stringify(canonical(op.value as Json))) {
          throw new PatchError(`testing value ${op.path} failed: test failed`);
        }
        break;
      default:
        throw new PatchError(`unexpected kind of operation: ${String((raw as { op: unknown }).op)}`);
    }
  }
  return doc;
}

function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k] as Json)]),
    );
  return v;
}

// ---------- strategic merge patch ----------

/**
 * How a list field merges, from the `patchStrategy`/`patchMergeKey` tags of the built-in types.
 * Keyed by field name with the parent field name for names that mean different things in
 * different places (`ports` under containers vs. under a Service spec).
 */
export function listStrategy(path: readonly string[]): { key: string } | 'set' | 'replace' {
  const field = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'resourceClaims':
    case 'schedulingGates':
      return { key: 'name' };
    case 'ports':
      if (parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers') {
        return { key: 'containerPort' };
      }
      return parent === 'spec' ? { key: 'port' } : 'replace';
    case 'volumeMounts':
      return { key: 'mountPath' };
    case 'volumeDevices':
      return { key: 'devicePath' };
    case 'conditions':
      return { key: 'type' };
    case 'addresses':
      return parent === 'status' ? { key: 'type' } : 'replace';
    case 'hostAliases':
      return { key: 'ip' };
    case 'topologySpreadConstraints':
      return { key: 'topologyKey' };
    case 'ownerReferences':
      return { key: 'uid' };
    case 'finalizers':
      return parent === 'metadata' ? 'set' : 'replace';
    default:
      return 'replace';
  }
}

const DIRECTIVE = '$patch';

function mergeList(original: Json[] | undefined, patch: Json[], path: readonly string[]): Json[] {
  const strategy = listStrategy(path);
  // A `{$patch: replace}` element replaces the whole list with the other elements.
  if (patch.some((p) => isObject(p) && p[DIRECTIVE] === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p[DIRECTIVE] === 'replace')).map((p) => clone(p));
  }
  if (strategy === 'replace') return clone(patch);
  const out = clone(original ?? []);
  if (strategy === 'set') {
    for (const p of patch) if (!out.some((o) => JSON.stringify(o) === JSON.stringify(p))) out.push(clone(p));
    return out;
  }
  const key = strategy.key;
  for (const p of patch) {
    if (!isObject(p)) {
      out.push(clone(p));
      continue;
    }
    const idx = out.findIndex((o) => isObject(o) && o[key] === p[key]);
    if (p[DIRECTIVE] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = mergeObject(out[idx] as JsonObject, p, path) as Json;
    else out.push(stripDirectives(p) as Json);
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(val as Json);
  }
  return out;
}

function orderList(list: Json[], order: Json[], path: readonly string[]): Json[] {
  const strategy = listStrategy(path);
  const keyOf = (v: Json): string =>
    typeof strategy === 'object' && isObject(v) ? JSON.stringify(v[strategy.key]) : JSON.stringify(v);
  const rank = new Map(order.map((o, i) => [keyOf(o), i]));
  const ranked = list
    .filter((v) => rank.has(keyOf(v)))
    .sort((a, b) => (rank.get(keyOf(a)) ?? 0) - (rank.get(keyOf(b)) ?? 0));
  const rest = list.filter((v) => !rank.has(keyOf(v)));
  return [...ranked, ...rest];
}

function mergeObject(original: JsonObject | undefined, patch: JsonObject, path: readonly string[]): Json | undefined {
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge')
    throw new PatchError(`Unknown patch type: ${JSON.stringify(directive)}`);
  let out: JsonObject = isObject(original) ? clone(original) : {};
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    const keep = new Set(retain.filter((k): k is string => typeof k === 'string'));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  const orders: [string, Json[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      if (Array.isArray(v)) orders.push([k.slice('$setElementOrder/'.length), v]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) {
        const drop = new Set(v.map((x) => JSON.stringify(x)));
        out[field] = cur.filter((x) => !drop.has(JSON.stringify(x)));
      }
      continue;
    }
    const childPath = [...path, k];
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const cur = out[k];
      out[k] = mergeList(Array.isArray(cur) ? cur : undefined, v, childPath);
    } else if (isObject(v)) {
      const merged = mergeObject(isObject(out[k]) ? (out[k] as JsonObject) : undefined, v, childPath);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [field, order] of orders) {
    const cur = out[field];
    if (Array.isArray(cur)) out[field] = orderList(cur, order, [...path, field]);
  }
  return out;
}

/** Strategic merge patch for built-in kinds (upstream's strategicpatch, with kemu's merge-key table). */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw new PatchError('strategic merge patch must be a JSON object');
  const merged = mergeObject(isObject(target) ? (target as JsonObject) : {}, patch, []);
  return merged ?? {};
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** The patch type for a Content-Type, or undefined (→ 415 UnsupportedMediaType). */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const ct = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  switch (ct) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+json':
      return 'apply';
    default:
      return undefined;
  }
}
