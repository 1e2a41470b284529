// The resource registry: every kind kemu serves, with the names discovery advertises (plural,
// singular, short names, categories, verbs, subresources) and where the apiserver stores it.
// Storage layout (DESIGN.md): `/registry/<plural>/<namespace>/<name>` for namespaced resources and
// `/registry/<plural>/<name>` for cluster-scoped ones. Upstream uses a few special prefixes
// (`services/specs`, `minions`); kemu deliberately does not.
import { UnknownResourceError } from './errors.js';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface SubresourceDef {
  /** e.g. `status`, `scale`, `log`. */
  name: string;
  /** What the subresource takes and returns (autoscaling/v1 Scale for `scale`). */
  responseKind: GroupVersionKind;
  verbs: readonly string[];
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** The plural resource name used in URLs and etcd keys. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  verbs: readonly string[];
  subresources: readonly SubresourceDef[];
}

export const STANDARD_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;
const GPU = ['get', 'patch', 'update'] as const;

function def(
  group: string,
  version: string,
  kind: string,
  resource: string,
  opts: {
    namespaced?: boolean;
    shortNames?: string[];
    categories?: string[];
    verbs?: readonly string[];
    subresources?: SubresourceDef[];
  } = {},
): ResourceDef {
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    resource,
    singular: kind.toLowerCase(),
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    verbs: opts.verbs ?? STANDARD_VERBS,
    subresources: [...(opts.subresources ?? [])].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function status(group: string, version: string, kind: string): SubresourceDef {
  return { name: 'status', responseKind: { group, version, kind }, verbs: GPU };
}

const scale: SubresourceDef = {
  name: 'scale',
  responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  verbs: GPU,
};

function core(kind: string, verbs: readonly string[], name: string): SubresourceDef {
  return { name, responseKind: { group: '', version: 'v1', kind }, verbs };
}

const ALL = ['all'];

/** Every served resource, core first, then groups in discovery order; alphabetical within a group. */
export const RESOURCES: readonly ResourceDef[] = [
  def('', 'v1', 'Binding', 'bindings', { verbs: ['create'] }),
  def('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  def('', 'v1', 'Endpoints', 'endpoints', { shortNames: ['ep'] }),
  def('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  def('', 'v1', 'Namespace', 'namespaces', {
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: [core('Namespace', ['update'], 'finalize'), status('', 'v1', 'Namespace')],
  }),
  def('', 'v1', 'Node', 'nodes', { namespaced: false, shortNames: ['no'], subresources: [status('', 'v1', 'Node')] }),
  def('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', {
    shortNames: ['pvc'],
    subresources: [status('', 'v1', 'PersistentVolumeClaim')],
  }),
  def('', 'v1', 'PersistentVolume', 'persistentvolumes', {
    namespaced: false,
    shortNames: ['pv'],
    subresources: [status('', 'v1', 'PersistentVolume')],
  }),
  def('', 'v1', 'Pod', 'pods', {
    shortNames: ['po'],
    categories: ALL,
    subresources: [
      core('PodAttachOptions', ['create', 'get'], 'attach'),
      core('Binding', ['create'], 'binding'),
      { name: 'eviction', responseKind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] },
      core('PodExecOptions', ['create', 'get'], 'exec'),
      core('Pod', ['get'], 'log'),
      core('PodPortForwardOptions', ['create', 'get'], 'portforward'),
      status('', 'v1', 'Pod'),
    ],
  }),
  def('', 'v1', 'Secret', 'secrets'),
  def('', 'v1', 'ServiceAccount', 'serviceaccounts', {
    shortNames: ['sa'],
    subresources: [
      {
        name: 'token',
        responseKind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
        verbs: ['create'],
      },
    ],
  }),
  def('', 'v1', 'Service', 'services', {
    shortNames: ['svc'],
    categories: ALL,
    subresources: [status('', 'v1', 'Service')],
  }),
  def('apps', 'v1', 'ControllerRevision', 'controllerrevisions'),
  def('apps', 'v1', 'DaemonSet', 'daemonsets', {
    shortNames: ['ds'],
    categories: ALL,
    subresources: [status('apps', 'v1', 'DaemonSet')],
  }),
  def('apps', 'v1', 'Deployment', 'deployments', {
    shortNames: ['deploy'],
    categories: ALL,
    subresources: [scale, status('apps', 'v1', 'Deployment')],
  }),
  def('apps', 'v1', 'ReplicaSet', 'replicasets', {
    shortNames: ['rs'],
    categories: ALL,
    subresources: [scale, status('apps', 'v1', 'ReplicaSet')],
  }),
  def('apps', 'v1', 'StatefulSet', 'statefulsets', {
    shortNames: ['sts'],
    categories: ALL,
    subresources: [scale, status('apps', 'v1', 'StatefulSet')],
  }),
  def('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    shortNames: ['hpa'],
    categories: ALL,
    subresources: [status('autoscaling', 'v2', 'HorizontalPodAutoscaler')],
  }),
  def('batch', 'v1', 'CronJob', 'cronjobs', {
    shortNames: ['cj'],
    categories: ALL,
    subresources: [status('batch', 'v1', 'CronJob')],
  }),
  def('batch', 'v1', 'Job', 'jobs', { categories: ALL, subresources: [status('batch', 'v1', 'Job')] }),
  def('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', { namespaced: false }),
  def('networking.k8s.io', 'v1', 'Ingress', 'ingresses', {
    shortNames: ['ing'],
    subresources: [status('networking.k8s.io', 'v1', 'Ingress')],
  }),
  def('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', { shortNames: ['netpol'] }),
  def('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', {
    shortNames: ['pdb'],
    subresources: [status('policy', 'v1', 'PodDisruptionBudget')],
  }),
  def('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  def('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  def('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  def('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  def('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', { namespaced: false, shortNames: ['sc'] }),
  def('scheduling.k8s.io', 'v1', 'PriorityClass', 'priorityclasses', { namespaced: false, shortNames: ['pc'] }),
  def('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  def('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
];

/** Groups in the order `/apis` lists them (core `""` first). */
export const GROUP_ORDER: readonly string[] = [
  '',
  'apps',
  'autoscaling',
  'batch',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
];

/** `v1` for core, `apps/v1` otherwise. */
export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** Splits `apps/v1` into group and version (`v1` → core). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** How Status messages name a resource: `pods` for core, `deployments.apps` otherwise. */
export function qualifiedResource(r: { group: string; resource: string }): string {
  return r.group === '' ? r.resource : `${r.resource}.${r.group}`;
}

/** How Invalid messages name a kind: `Pod` for core, `Deployment.apps` otherwise (schema.GroupKind.String()). */
export function qualifiedKind(r: { group: string; kind: string }): string {
  return r.group === '' ? r.kind : `${r.kind}.${r.group}`;
}

/** The resource at `/api/v1/…/<resource>` or `/apis/<group>/<version>/…/<resource>`. */
export function resourceFor(group: string, version: string, resource: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

/** The resource storing objects of `apiVersion`/`kind`. */
export function resourceForKind(apiVersion: string, kind: string): ResourceDef | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  return RESOURCES.find((r) => r.group === group && r.version === version && r.kind === kind);
}

/**
 * What a user typed (`po`, `pod`, `pods`, `Pod`, `deployments.apps`, `deploy`): plural, singular and
 * short names match case-insensitively; an optional `.group` suffix narrows the group.
 */
export function findResource(name: string): ResourceDef | undefined {
  const lower = name.toLowerCase();
  const byName = (n: string, group?: string) =>
    RESOURCES.find(
      (r) =>
        (group === undefined || r.group === group) &&
        (r.resource === n || r.singular === n || r.shortNames.includes(n) || r.kind.toLowerCase() === n),
    );
  const direct = byName(lower);
  if (direct !== undefined) return direct;
  const dot = lower.indexOf('.');
  return dot < 0 ? undefined : byName(lower.slice(0, dot), lower.slice(dot + 1));
}

/** Like findResource but throws UnknownResourceError (`the server doesn't have a resource type "x"`). */
export function mustFindResource(name: string): ResourceDef {
  const r = findResource(name);
  if (r === undefined) throw new UnknownResourceError(`the server doesn't have a resource type "${name}"`);
  return r;
}

/** Resources in a category (`all` → pods, services, deployments, …), in registry order. */
export function resourcesInCategory(category: string): ResourceDef[] {
  return RESOURCES.filter((r) => r.categories.includes(category));
}

export function subresourceOf(r: ResourceDef, name: string): SubresourceDef | undefined {
  return r.subresources.find((s) => s.name === name);
}

/** The etcd key of one object. */
export function storageKey(r: ResourceDef, namespace: string | undefined, name: string): string {
  if (r.namespaced) {
    if (namespace === undefined || namespace === '') {
      throw new UnknownResourceError(`${qualifiedResource(r)} is namespaced: a namespace is required for its key`);
    }
    return `/registry/${r.resource}/${namespace}/${name}`;
  }
  return `/registry/${r.resource}/${name}`;
}

/** The etcd prefix for a list: all namespaces (no namespace given) or one namespace; ends with `/`. */
export function storagePrefix(r: ResourceDef, namespace?: string): string {
  if (r.namespaced && namespace !== undefined && namespace !== '') return `/registry/${r.resource}/${namespace}/`;
  return `/registry/${r.resource}/`;
}
