// Type checks the Go decoder does for free: a body whose fields have the wrong JSON type is rejected
// with 400 BadRequest before anything else looks at it. kemu has no generated schemas, so this covers
// the fields users and controllers touch (metadata, pod specs and templates, workload specs, service
// ports, config data) with upstream's message shape:
//   Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct
//   field PodSpec.spec.containers of type []v1.Container
import { ApiInputError } from './errors.js';
import { parseApiVersion } from './registry.js';
import type { KubeObject } from './types/meta.js';

/** A body that cannot be decoded into its kind (maps to 400 BadRequest). */
export class MalformedObjectError extends ApiInputError {
  constructor(message: string) {
    super('OBJECT_MALFORMED', message);
  }
}

type Expect = 'string' | 'int' | 'bool' | 'object' | 'array' | 'map';

interface Rule {
  /** Dotted path; `[*]` walks array items, `.*` walks map values. */
  path: string;
  expect: Expect;
  struct: string;
  goType: string;
}

const rule = (path: string, expect: Expect, struct: string, goType: string): Rule => ({ path, expect, struct, goType });

const metaRules: Rule[] = [
  rule('metadata', 'object', '', 'v1.ObjectMeta'),
  rule('metadata.name', 'string', 'ObjectMeta', 'string'),
  rule('metadata.generateName', 'string', 'ObjectMeta', 'string'),
  rule('metadata.namespace', 'string', 'ObjectMeta', 'string'),
  rule('metadata.labels', 'map', 'ObjectMeta', 'map[string]string'),
  rule('metadata.labels.*', 'string', 'ObjectMeta', 'string'),
  rule('metadata.annotations', 'map', 'ObjectMeta', 'map[string]string'),
  rule('metadata.annotations.*', 'string', 'ObjectMeta', 'string'),
  rule('metadata.finalizers', 'array', 'ObjectMeta', '[]string'),
  rule('metadata.finalizers[*]', 'string', 'ObjectMeta', 'string'),
  rule('metadata.ownerReferences', 'array', 'ObjectMeta', '[]v1.OwnerReference'),
];

function containerRules(p: string): Rule[] {
  return [
    rule(`${p}`, 'array', 'PodSpec', '[]v1.Container'),
    rule(`${p}[*]`, 'object', 'PodSpec', 'v1.Container'),
    rule(`${p}[*].name`, 'string', 'Container', 'string'),
    rule(`${p}[*].image`, 'string', 'Container', 'string'),
    rule(`${p}[*].command`, 'array', 'Container', '[]string'),
    rule(`${p}[*].command[*]`, 'string', 'Container', 'string'),
    rule(`${p}[*].args`, 'array', 'Container', '[]string'),
    rule(`${p}[*].args[*]`, 'string', 'Container', 'string'),
    rule(`${p}[*].ports`, 'array', 'Container', '[]v1.ContainerPort'),
    rule(`${p}[*].ports[*].containerPort`, 'int', 'ContainerPort', 'int32'),
    rule(`${p}[*].ports[*].hostPort`, 'int', 'ContainerPort', 'int32'),
    rule(`${p}[*].env`, 'array', 'Container', '[]v1.EnvVar'),
    rule(`${p}[*].env[*].name`, 'string', 'EnvVar', 'string'),
    rule(`${p}[*].env[*].value`, 'string', 'EnvVar', 'string'),
    rule(`${p}[*].volumeMounts`, 'array', 'Container', '[]v1.VolumeMount'),
    rule(`${p}[*].resources`, 'object', 'Container', 'v1.ResourceRequirements'),
    rule(`${p}[*].resources.limits`, 'map', 'ResourceRequirements', 'v1.ResourceList'),
    rule(`${p}[*].resources.requests`, 'map', 'ResourceRequirements', 'v1.ResourceList'),
  ];
}

function podSpecRules(p: string): Rule[] {
  return [
    rule(p, 'object', '', 'v1.PodSpec'),
    ...containerRules(`${p}.containers`),
    ...containerRules(`${p}.initContainers`),
    rule(`${p}.volumes`, 'array', 'PodSpec', '[]v1.Volume'),
    rule(`${p}.nodeSelector`, 'map', 'PodSpec', 'map[string]string'),
    rule(`${p}.nodeSelector.*`, 'string', 'PodSpec', 'string'),
    rule(`${p}.tolerations`, 'array', 'PodSpec', '[]v1.Toleration'),
    rule(`${p}.restartPolicy`, 'string', 'PodSpec', 'v1.RestartPolicy'),
    rule(`${p}.nodeName`, 'string', 'PodSpec', 'string'),
    rule(`${p}.serviceAccountName`, 'string', 'PodSpec', 'string'),
    rule(`${p}.terminationGracePeriodSeconds`, 'int', 'PodSpec', 'int64'),
  ];
}

function templateRules(p: string): Rule[] {
  return [
    rule(p, 'object', '', 'v1.PodTemplateSpec'),
    rule(`${p}.metadata.labels`, 'map', 'ObjectMeta', 'map[string]string'),
    rule(`${p}.metadata.labels.*`, 'string', 'ObjectMeta', 'string'),
    ...podSpecRules(`${p}.spec`),
  ];
}

function selectorRules(p: string, struct: string): Rule[] {
  return [
    rule(p, 'object', struct, '*v1.LabelSelector'),
    rule(`${p}.matchLabels`, 'map', 'LabelSelector', 'map[string]string'),
    rule(`${p}.matchLabels.*`, 'string', 'LabelSelector', 'string'),
    rule(`${p}.matchExpressions`, 'array', 'LabelSelector', '[]v1.LabelSelectorRequirement'),
  ];
}

function workloadRules(struct: string): Rule[] {
  return [
    rule('spec', 'object', '', `v1.${struct}`),
    rule('spec.replicas', 'int', struct, 'int32'),
    ...selectorRules('spec.selector', struct),
    ...templateRules('spec.template'),
  ];
}

const kindRules: Record<string, Rule[]> = {
  'v1/Pod': podSpecRules('spec'),
  'v1/Service': [
    rule('spec', 'object', '', 'v1.ServiceSpec'),
    rule('spec.ports', 'array', 'ServiceSpec', '[]v1.ServicePort'),
    rule('spec.ports[*].port', 'int', 'ServicePort', 'int32'),
    rule('spec.ports[*].nodePort', 'int', 'ServicePort', 'int32'),
    rule('spec.selector', 'map', 'ServiceSpec', 'map[string]string'),
    rule('spec.selector.*', 'string', 'ServiceSpec', 'string'),
    rule('spec.type', 'string', 'ServiceSpec', 'v1.ServiceType'),
  ],
  'v1/ConfigMap': [
    rule('data', 'map', 'ConfigMap', 'map[string]string'),
    rule('data.*', 'string', 'ConfigMap', 'string'),
  ],
  'v1/Secret': [
    rule('data', 'map', 'Secret', 'map[string][]uint8'),
    rule('data.*', 'string', 'Secret', '[]uint8'),
    rule('stringData', 'map', 'Secret', 'map[string]string'),
    rule('stringData.*', 'string', 'Secret', 'string'),
  ],
  'apps/v1/Deployment': workloadRules('DeploymentSpec'),
  'apps/v1/ReplicaSet': workloadRules('ReplicaSetSpec'),
  'apps/v1/StatefulSet': workloadRules('StatefulSetSpec'),
  'apps/v1/DaemonSet': workloadRules('DaemonSetSpec'),
  'batch/v1/Job': [
    rule('spec', 'object', '', 'v1.JobSpec'),
    rule('spec.completions', 'int', 'JobSpec', 'int32'),
    rule('spec.parallelism', 'int', 'JobSpec', 'int32'),
    rule('spec.backoffLimit', 'int', 'JobSpec', 'int32'),
    ...templateRules('spec.template'),
  ],
  'batch/v1/CronJob': [
    rule('spec', 'object', '', 'v1.CronJobSpec'),
    rule('spec.schedule', 'string', 'CronJobSpec', 'string'),
    ...templateRules('spec.jobTemplate.spec.template'),
  ],
};

function jsonTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return typeof v; // string | object
}

function matches(v: unknown, expect: Expect): boolean {
  switch (expect) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
    case 'map':
      return typeof v === 'object' && !Array.isArray(v);
  }
}

/** Values at `path` (with `[*]` and `.*` wildcards) together with their concrete paths. */
function* walk(root: unknown, segments: string[], at: string): Generator<[unknown, string]> {
  if (segments.length === 0) {
    yield [root, at];
    return;
  }
  const [head, ...rest] = segments as [string, ...string[]];
  if (root === null || typeof root !== 'object') return;
  if (head === '*') {
    if (Array.isArray(root)) return;
    for (const [k, v] of Object.entries(root)) yield* walk(v, rest, `${at}.${k}`);
    return;
  }
  const arr = head.endsWith('[*]');
  const key = arr ? head.slice(0, -3) : head;
  if (Array.isArray(root)) return;
  const child = (root as Record<string, unknown>)[key];
  const childPath = at === '' ? key : `${at}.${key}`;
  if (!arr) {
    yield* walk(child, rest, childPath);
    return;
  }
  if (!Array.isArray(child)) return;
  for (const item of child) yield* walk(item, rest, childPath);
}

/**
 * Throws MalformedObjectError when a known field has the wrong JSON type. `null` is accepted
 * everywhere (Go decodes it as the zero value). Callers answer 400 BadRequest with the message.
 */
export function checkObjectShape(obj: unknown): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new MalformedObjectError(
      `couldn't get version/kind; json parse error: expected an object, got ${jsonTypeName(obj)}`,
    );
  }
  const o = obj as KubeObject;
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const kind = typeof o.kind === 'string' ? o.kind : '';
  const rules = [...metaRules, ...(kindRules[`${apiVersion}/${kind}`] ?? [])];
  for (const r of rules) {
    for (const [value, path] of walk(obj, r.path.split('.'), '')) {
      if (value === undefined || value === null || matches(value, r.expect)) continue;
      const got = typeof value === 'number' && r.expect === 'int' ? `number ${value}` : jsonTypeName(value);
      const field = r.struct === '' ? '' : ` into Go struct field ${r.struct}.${path}`;
      const version = parseApiVersion(apiVersion).version;
      throw new MalformedObjectError(
        `${kind} in version "${version}" cannot be handled as a ${kind}: json: cannot unmarshal ${got}${field === '' ? ` into Go value` : field} of type ${r.goType}`,
      );
    }
  }
}

/**
 * Runs `fn` over a decoded body and turns a TypeError (a field of a type no shape rule covered)
 * into MalformedObjectError, so bad input becomes a 400 instead of an exception in the apiserver.
 */
export function guardMalformed<R>(obj: KubeObject, fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    const kind = obj.kind ?? '';
    const version = parseApiVersion(obj.apiVersion ?? '').version;
    throw new MalformedObjectError(`${kind} in version "${version}" cannot be handled as a ${kind}: ${err.message}`);
  }
}
