// Field ownership (`metadata.managedFields`) and server-side apply, after upstream's
// structured-merge-diff, reduced to what the built-in kinds need: maps are walked field by field,
// lists with a merge key (containers by name, ports, env, conditions, …; the table in patch.ts) are
// walked item by item, `metadata.finalizers` is a set, every other list is atomic (one leaf).
//
// - A write that is not an apply (create, update, patch) gives its manager the fields it changed and
//   takes them from everybody else; nobody is ever refused.
// - An apply owns exactly the fields in the applied configuration. A field another manager owns with
//   a different value is a conflict (409) unless forced, which moves the field. A field the manager
//   applied before and no longer applies is removed from the object when nobody else owns it.
import { ApiInputError } from './errors.js';
import { applyStrategicMergePatch, listStrategy } from './patch.js';
import { formatTime } from './time.js';
import type { KubeObject, ManagedFieldsEntry } from './types/meta.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One step of a field path in fieldsV1 spelling: `f:name`, `k:{"name":"web"}`, `v:"x"`, or `.` (the item itself). */
type Step = string;
/** A set of leaf paths, each the JSON of its steps. */
export type FieldSet = Set<string>;

/** Fields nobody owns: identity and bookkeeping the server sets. */
const UNOWNED_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

/** The apply conflicts of one request: 409 Conflict with a FieldManagerConflict cause per field. */
export class ApplyConflictError extends ApiInputError {
  constructor(
    message: string,
    readonly causes: { type: 'FieldManagerConflict'; message: string; field: string }[],
  ) {
    super('APPLY_CONFLICT', message);
  }
}

export interface ManagerRef {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  /** `status`, `scale`, …; absent for the main resource. */
  subresource?: string;
}

/** The leaf paths of an object, as the owner of all of it would hold them. */
export function fieldSetOf(obj: unknown, opts: { includeStatus?: boolean } = {}): FieldSet {
  const out: FieldSet = new Set();
  if (!isObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !opts.includeStatus) continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (UNOWNED_METADATA.has(mk)) continue;
        walk(mv, ['metadata', mk], [`f:metadata`, `f:${mk}`], out);
      }
      continue;
    }
    walk(v, [k], [`f:${k}`], out);
  }
  return out;
}

function walk(v: Json | undefined, names: string[], steps: Step[], out: FieldSet): void {
  if (v === undefined) return;
  if (isObject(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) {
      out.add(JSON.stringify(steps));
      return;
    }
    for (const [k, child] of entries) walk(child, [...names, k], [...steps, `f:${k}`], out);
    return;
  }
  if (Array.isArray(v)) {
    const strategy = listStrategy(names);
    if (strategy === 'replace' || v.length === 0) {
      out.add(JSON.stringify(steps));
      return;
    }
    for (const item of v) {
      if (strategy === 'set') {
        out.add(JSON.stringify([...steps, `v:${JSON.stringify(item)}`]));
        continue;
      }
      if (!isObject(item) || item[strategy.key] === undefined) {
        out.add(JSON.stringify(steps));
        continue;
      }
      const itemStep = `k:${JSON.stringify({ [strategy.key]: item[strategy.key] })}`;
      out.add(JSON.stringify([...steps, itemStep, '.']));
      for (const [k, child] of Object.entries(item)) walk(child, [...names, k], [...steps, itemStep, `f:${k}`], out);
    }
    return;
  }
  out.add(JSON.stringify(steps));
}

/** The value at a path, or undefined when the object does not have it. */
function valueAt(obj: unknown, steps: readonly Step[]): Json | undefined {
  let cur: Json | undefined = obj as Json;
  for (const step of steps) {
    if (cur === undefined) return undefined;
    if (step === '.') continue;
    if (step.startsWith('f:')) {
      cur = isObject(cur) ? cur[step.slice(2)] : undefined;
    } else if (step.startsWith('k:')) {
      const key = JSON.parse(step.slice(2)) as JsonObject;
      cur = Array.isArray(cur)
        ? cur.find((item) => isObject(item) && Object.entries(key).every(([k, want]) => item[k] === want))
        : undefined;
    } else if (step.startsWith('v:')) {
      const want = step.slice(2);
      cur = Array.isArray(cur) ? cur.find((item) => JSON.stringify(item) === want) : undefined;
    } else {
      return undefined;
    }
  }
  return cur;
}

function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: Json | undefined): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    isObject(val)
      ? Object.fromEntries(
          Object.keys(val)
            .sort()
            .map((k) => [k, val[k]]),
        )
      : val,
  );
}

/** Removes the value at a path (a leaf or a whole list item); empties left behind go too. */
function removeAt(obj: JsonObject, steps: readonly Step[]): void {
  const path = steps[steps.length - 1] === '.' ? steps.slice(0, -1) : steps;
  const parents: { container: Json; step: Step }[] = [];
  let cur: Json | undefined = obj;
  for (const step of path) {
    if (cur === undefined) return;
    parents.push({ container: cur, step });
    cur = valueAt(cur, [step]);
  }
  if (cur === undefined) return;
  for (let i = parents.length - 1; i >= 0; i--) {
    const { container, step } = parents[i]!;
    if (isObject(container) && step.startsWith('f:')) delete container[step.slice(2)];
    else if (Array.isArray(container)) {
      const target = valueAt(container, [step]);
      const idx = container.indexOf(target as Json);
      if (idx >= 0) container.splice(idx, 1);
    }
    // Stop unless this left an empty map (not at the top level: metadata/spec stay).
    const empty = isObject(container) ? Object.keys(container).length === 0 : false;
    if (!empty || i <= 1) break;
  }
}

/** fieldsV1: `{"f:spec": {"f:replicas": {}}, …}` with `.` marking a list item owned as a whole. */
export function toFieldsV1(set: FieldSet): Record<string, unknown> {
  const root: Record<string, Record<string, unknown>> = {};
  for (const p of [...set].sort()) {
    let node: Record<string, unknown> = root;
    for (const step of JSON.parse(p) as Step[]) {
      node[step] ??= {};
      node = node[step] as Record<string, unknown>;
    }
  }
  return root;
}

export function fromFieldsV1(tree: unknown): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: unknown, steps: Step[]) => {
    if (!isObject(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && steps.length > 0) out.add(JSON.stringify(steps));
    for (const k of keys) visit(node[k], [...steps, k]);
  };
  visit(tree, []);
  return out;
}

/** `.spec.template.spec.containers[name="web"].image`, as upstream prints field paths. */
export function fieldPathString(path: string): string {
  let out = '';
  for (const step of JSON.parse(path) as Step[]) {
    if (step === '.') continue;
    if (step.startsWith('f:')) out += `.${step.slice(2)}`;
    else if (step.startsWith('k:')) {
      const key = JSON.parse(step.slice(2)) as JsonObject;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (step.startsWith('v:')) out += `[=${step.slice(2)}]`;
  }
  return out;
}

function sameManager(e: ManagedFieldsEntry, ref: ManagerRef): boolean {
  return (
    e.manager === ref.manager &&
    e.operation === ref.operation &&
    (e.subresource ?? '') === (ref.subresource ?? '') &&
    (ref.operation === 'Apply' || e.apiVersion === ref.apiVersion)
  );
}

function entryOf(ref: ManagerRef, fields: FieldSet, now: number): ManagedFieldsEntry {
  return {
    manager: ref.manager,
    operation: ref.operation,
    apiVersion: ref.apiVersion,
    time: formatTime(now),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(fields),
    ...(ref.subresource ? { subresource: ref.subresource } : {}),
  };
}

/** Drops entries that own nothing, keeping upstream's order (oldest first, the writer last). */
function tidy(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] | undefined {
  const kept = entries.filter((e) => Object.keys(e.fieldsV1 ?? {}).length > 0);
  return kept.length > 0 ? kept : undefined;
}

/**
 * managedFields after a create, update or patch by `ref` (operation Update): the manager gains
 * every field whose value it changed or added; those fields leave every other manager; fields
 * the write removed leave everybody.
 */
export function managedFieldsAfterUpdate(
  before: KubeObject | undefined,
  after: KubeObject,
  ref: ManagerRef,
  now: number,
): ManagedFieldsEntry[] | undefined {
  const statusOnly = ref.subresource === 'status';
  const scope = (set: FieldSet) => (statusOnly ? new Set([...set].filter((p) => p.startsWith('["f:status"'))) : set);
  const oldSet = scope(fieldSetOf(before, { includeStatus: statusOnly }));
  const newSet = scope(fieldSetOf(after, { includeStatus: statusOnly }));
  const changed: FieldSet = new Set();
  for (const p of newSet) {
    const steps = JSON.parse(p) as Step[];
    // A list item's own marker changes only when the item is new; its fields speak for its content.
    const isItem = steps[steps.length - 1] === '.';
    if (!oldSet.has(p) || (!isItem && !sameJson(valueAt(before, steps), valueAt(after, steps)))) changed.add(p);
  }
  const removed = [...oldSet].filter((p) => !newSet.has(p));
  const entries: ManagedFieldsEntry[] = [];
  let mine: FieldSet | undefined;
  for (const e of before?.metadata.managedFields ?? []) {
    const owned = fromFieldsV1(e.fieldsV1);
    for (const p of removed) owned.delete(p);
    if (sameManager(e, ref)) {
      mine = owned;
      continue;
    }
    for (const p of changed) owned.delete(p);
    entries.push({ ...e, fieldsV1: toFieldsV1(owned) });
  }
  if (changed.size > 0 || mine !== undefined) {
    const fields = new Set([...(mine ?? []), ...changed]);
    entries.push(entryOf(ref, fields, now));
  }
  return tidy(entries);
}

export interface ApplyResult {
  object: KubeObject;
  managedFields: ManagedFieldsEntry[] | undefined;
}

/**
 * Server-side apply of `applied` (the manager's whole intent) onto `current`. Throws
 * ApplyConflictError unless `force`. The returned object has the new managedFields set.
 */
export function serverSideApply(
  current: KubeObject,
  applied: KubeObject,
  ref: ManagerRef,
  opts: { force: boolean; now: number },
): ApplyResult {
  const appliedSet = fieldSetOf(applied);
  const conflicts: { manager: ManagedFieldsEntry; path: string }[] = [];
  const others: { entry: ManagedFieldsEntry; owned: FieldSet }[] = [];
  let previous: FieldSet = new Set();
  for (const e of current.metadata.managedFields ?? []) {
    const owned = fromFieldsV1(e.fieldsV1);
    if (sameManager(e, ref)) {
      previous = owned;
      continue;
    }
    // Across subresources too: `kubectl scale` (subresource scale) owns .spec.replicas as much as an update does.
    for (const p of appliedSet) {
      if (!owned.has(p) || p.endsWith('"."]')) continue;
      const steps = JSON.parse(p) as Step[];
      if (!sameJson(valueAt(applied, steps), valueAt(current, steps))) conflicts.push({ manager: e, path: p });
    }
    others.push({ entry: e, owned });
  }
  if (conflicts.length > 0 && !opts.force) throw conflictError(conflicts);
  for (const c of conflicts) others.find((o) => o.entry === c.manager)?.owned.delete(c.path);

  const patch = structuredClone(applied);
  delete patch.metadata.resourceVersion;
  delete patch.metadata.managedFields;
  const merged = applyStrategicMergePatch(current, patch) as KubeObject;
  // What this manager applied before and dropped now goes, unless somebody else holds it too.
  const ownedByOthers = (p: string) => others.some((o) => o.owned.has(p));
  const dropped = [...previous].filter((p) => !appliedSet.has(p) && !ownedByOthers(p));
  // Whole list items (`.`) first, found by their key while it is still there; then single fields.
  dropped.sort((a, b) => Number(b.endsWith('"."]')) - Number(a.endsWith('"."]')));
  for (const p of dropped) {
    const steps = JSON.parse(p) as Step[];
    if (steps[steps.length - 1] === '.') {
      // An item goes only when no field of it is still owned by anybody.
      const prefix = p.slice(0, -'"."]'.length);
      const stillOwned = [...appliedSet, ...others.flatMap((o) => [...o.owned])].some((q) => q.startsWith(prefix));
      if (stillOwned) continue;
    }
    removeAt(merged as unknown as JsonObject, steps);
  }

  const entries: ManagedFieldsEntry[] = others.map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.owned) }));
  entries.push(entryOf(ref, appliedSet, opts.now));
  return { object: merged, managedFields: tidy(entries) };
}

function managerLabel(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager ?? '');
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion ?? ''}`;
  return s;
}

function conflictError(conflicts: { manager: ManagedFieldsEntry; path: string }[]): ApplyConflictError {
  const causes = conflicts.map((c) => ({
    type: 'FieldManagerConflict' as const,
    message: `conflict with ${managerLabel(c.manager)}`,
    field: fieldPathString(c.path),
  }));
  if (conflicts.length === 1) {
    const c = causes[0]!;
    return new ApplyConflictError(`Apply failed with 1 conflict: ${c.message}: ${c.field}`, causes);
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const label = managerLabel(c.manager);
    byManager.set(label, [...(byManager.get(label) ?? []), fieldPathString(c.path)]);
  }
  const lines: string[] = [];
  for (const label of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${label}:`);
    for (const f of byManager.get(label) ?? []) lines.push(`- ${f}`);
  }
  return new ApplyConflictError(`Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, causes);
}

/** The manager name of a request: `fieldManager`, else the User-Agent's first word (as upstream). */
export function defaultFieldManager(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager !== undefined && fieldManager !== '') return fieldManager;
  const ua = (userAgent ?? '').split('/')[0]?.trim() ?? '';
  return ua === '' ? 'unknown' : ua.slice(0, 128);
}

/** managedFields of an object created by a server-side apply: the applier owns what it applied. */
export function managedFieldsForApplyCreate(
  applied: KubeObject,
  ref: ManagerRef,
  now: number,
): ManagedFieldsEntry[] | undefined {
  return tidy([entryOf(ref, fieldSetOf(applied), now)]);
}
