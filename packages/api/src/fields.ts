// Field selectors (`metadata.name=p1,status.phase!=Failed`): upstream's term syntax with `\` escapes,
// plus the per-kind selectable fields the apiserver's strategies expose (contract §8). A field a kind
// does not expose is rejected with the apiserver's `field label not supported: <field>`.
import { FieldSelectorError } from './errors.js';
import type { KubeObject } from './types/meta.js';

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  readonly value: string;
}

export interface FieldSelector {
  readonly empty: boolean;
  readonly requirements: readonly FieldRequirement[];
  /** Matches a selectable-field set (see selectableFields); absent fields compare as ''. */
  matches(fields: Readonly<Record<string, string>>): boolean;
  toString(): string;
}

function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

function splitTerm(term: string): { lhs: string; op: FieldOperator; rhs: string } | null {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return null;
}

function unescapeValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '\\') {
      const next = s[i + 1];
      if (next === undefined || !'\\,='.includes(next)) {
        throw new FieldSelectorError(`invalid field selector: invalid escape sequence: \\${next ?? ''}`);
      }
      out += next;
      i++;
    } else if (c === ',' || c === '=') {
      throw new FieldSelectorError(`invalid field selector: unescaped character in value: ${c}`);
    } else {
      out += c;
    }
  }
  return out;
}

function escapeValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

class TermSelector implements FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}
  get empty(): boolean {
    return this.requirements.length === 0;
  }
  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((r) => {
      const actual = fields[r.field] ?? '';
      return r.operator === '!=' ? actual !== r.value : actual === r.value;
    });
  }
  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(',');
  }
}

/** fields.ParseSelector: syntax only (any field name). Terms are sorted like upstream. */
export function parseFieldSelector(selector: string): FieldSelector {
  const reqs: FieldRequirement[] = [];
  for (const part of splitTerms(selector).sort()) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (t === null) throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    reqs.push({ field: t.lhs, operator: t.op, value: unescapeValue(t.rhs) });
  }
  return new TermSelector(reqs);
}

// ---------- selectable fields per resource ----------
type Getter = (o: Record<string, unknown>) => string;

function path(o: unknown, ...keys: string[]): unknown {
  let cur = o;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

const str =
  (...keys: string[]): Getter =>
  (o) => {
    const v = path(o, ...keys);
    return v === undefined || v === null ? '' : String(v);
  };
const bool =
  (...keys: string[]): Getter =>
  (o) =>
    path(o, ...keys) === true ? 'true' : 'false';
const num =
  (...keys: string[]): Getter =>
  (o) => {
    const v = path(o, ...keys);
    return typeof v === 'number' ? String(v) : '0';
  };

const metaFields: Record<string, Getter> = {
  'metadata.name': str('metadata', 'name'),
  'metadata.namespace': str('metadata', 'namespace'),
};

const extraFields: Record<string, Record<string, Getter>> = {
  pods: {
    'spec.nodeName': str('spec', 'nodeName'),
    'spec.restartPolicy': str('spec', 'restartPolicy'),
    'spec.schedulerName': str('spec', 'schedulerName'),
    'spec.serviceAccountName': str('spec', 'serviceAccountName'),
    'spec.hostNetwork': bool('spec', 'hostNetwork'),
    'status.phase': str('status', 'phase'),
    'status.podIP': (o) => {
      const ips = path(o, 'status', 'podIPs');
      const first = Array.isArray(ips) ? path(ips[0], 'ip') : undefined;
      return typeof first === 'string' ? first : str('status', 'podIP')(o);
    },
    'status.nominatedNodeName': str('status', 'nominatedNodeName'),
  },
  events: {
    'involvedObject.kind': str('involvedObject', 'kind'),
    'involvedObject.namespace': str('involvedObject', 'namespace'),
    'involvedObject.name': str('involvedObject', 'name'),
    'involvedObject.uid': str('involvedObject', 'uid'),
    'involvedObject.apiVersion': str('involvedObject', 'apiVersion'),
    'involvedObject.resourceVersion': str('involvedObject', 'resourceVersion'),
    'involvedObject.fieldPath': str('involvedObject', 'fieldPath'),
    reason: str('reason'),
    reportingComponent: str('reportingComponent'),
    source: str('source', 'component'),
    type: str('type'),
  },
  nodes: { 'spec.unschedulable': bool('spec', 'unschedulable') },
  namespaces: { 'status.phase': str('status', 'phase') },
  secrets: { type: str('type') },
  replicasets: { 'status.replicas': num('status', 'replicas') },
  jobs: { 'status.successful': num('status', 'succeeded') },
  services: { 'spec.clusterIP': str('spec', 'clusterIP'), 'spec.type': str('spec', 'type') },
};

function gettersFor(resource: string): Record<string, Getter> {
  return { ...metaFields, ...(extraFields[resource] ?? {}) };
}

/** The field labels a resource (plural) can be selected by. */
export function supportedFieldLabels(resource: string): string[] {
  return Object.keys(gettersFor(resource));
}

/** The selectable-field set of an object (what field selectors compare against). */
export function selectableFields(resource: string, obj: KubeObject | Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, get] of Object.entries(gettersFor(resource))) out[k] = get(obj as Record<string, unknown>);
  return out;
}

export interface ObjectFieldMatcher {
  readonly selector: FieldSelector;
  matches(obj: KubeObject | Record<string, unknown>): boolean;
}

/**
 * Parses a field selector for one resource and rejects fields it does not support, with the
 * apiserver's message (`field label not supported: foo`).
 */
export function compileFieldSelector(resource: string, selector: string): ObjectFieldMatcher {
  const parsed = parseFieldSelector(selector);
  const getters = gettersFor(resource);
  for (const r of parsed.requirements) {
    if (!Object.hasOwn(getters, r.field)) throw new FieldSelectorError(`field label not supported: ${r.field}`);
  }
  return {
    selector: parsed,
    matches: (obj) => parsed.empty || parsed.matches(selectableFields(resource, obj)),
  };
}
