// `fieldValidation=Strict`: unknown fields are rejected with upstream's message
// (`strict decoding error: unknown field "spec.foo"`). kemu has no generated schemas, so this
// knows the structs users write by hand (object envelope, ObjectMeta, pod specs and templates,
// containers, workload and service specs); anything below a struct it does not know is accepted.
import type { KubeObject } from '@kemu/api';

/** A struct: its fields, each either another struct, a list of structs (`[S]`), or free ('*'). */
type Schema = { [field: string]: Schema | [Schema] | '*' };

const free = '*' as const;
const objectMeta: Schema = Object.fromEntries(
  [
    'name',
    'generateName',
    'namespace',
    'selfLink',
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'labels',
    'annotations',
    'ownerReferences',
    'finalizers',
    'managedFields',
  ].map((k) => [k, free]),
);

function freeFields(...names: string[]): Schema {
  return Object.fromEntries(names.map((n) => [n, free]));
}

const containerPort = freeFields('name', 'hostPort', 'containerPort', 'protocol', 'hostIP');
const envVar = freeFields('name', 'value', 'valueFrom');
const container: Schema = {
  ...freeFields(
    'name',
    'image',
    'command',
    'args',
    'workingDir',
    'envFrom',
    'resources',
    'resizePolicy',
    'restartPolicy',
    'volumeMounts',
    'volumeDevices',
    'livenessProbe',
    'readinessProbe',
    'startupProbe',
    'lifecycle',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'imagePullPolicy',
    'securityContext',
    'stdin',
    'stdinOnce',
    'tty',
  ),
  ports: [containerPort],
  env: [envVar],
};
const podSpec: Schema = {
  ...freeFields(
    'volumes',
    'ephemeralContainers',
    'restartPolicy',
    'terminationGracePeriodSeconds',
    'activeDeadlineSeconds',
    'dnsPolicy',
    'nodeSelector',
    'serviceAccountName',
    'serviceAccount',
    'automountServiceAccountToken',
    'nodeName',
    'hostNetwork',
    'hostPID',
    'hostIPC',
    'shareProcessNamespace',
    'securityContext',
    'imagePullSecrets',
    'hostname',
    'subdomain',
    'affinity',
    'schedulerName',
    'tolerations',
    'hostAliases',
    'priorityClassName',
    'priority',
    'dnsConfig',
    'readinessGates',
    'runtimeClassName',
    'enableServiceLinks',
    'preemptionPolicy',
    'overhead',
    'topologySpreadConstraints',
    'setHostnameAsFQDN',
    'os',
    'hostUsers',
    'schedulingGates',
    'resourceClaims',
    'resources',
  ),
  containers: [container],
  initContainers: [container],
};
const template: Schema = { metadata: objectMeta, spec: podSpec };
const selector = freeFields('matchLabels', 'matchExpressions');

const specs: Record<string, Schema> = {
  'v1/Pod': podSpec,
  'apps/v1/Deployment': {
    ...freeFields(
      'replicas',
      'strategy',
      'minReadySeconds',
      'revisionHistoryLimit',
      'paused',
      'progressDeadlineSeconds',
    ),
    selector,
    template,
  },
  'apps/v1/ReplicaSet': { ...freeFields('replicas', 'minReadySeconds'), selector, template },
  'apps/v1/StatefulSet': {
    ...freeFields(
      'replicas',
      'volumeClaimTemplates',
      'serviceName',
      'podManagementPolicy',
      'updateStrategy',
      'revisionHistoryLimit',
      'minReadySeconds',
      'persistentVolumeClaimRetentionPolicy',
      'ordinals',
    ),
    selector,
    template,
  },
  'apps/v1/DaemonSet': {
    ...freeFields('updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'),
    selector,
    template,
  },
  'batch/v1/Job': {
    ...freeFields(
      'parallelism',
      'completions',
      'activeDeadlineSeconds',
      'podFailurePolicy',
      'successPolicy',
      'backoffLimit',
      'backoffLimitPerIndex',
      'maxFailedIndexes',
      'manualSelector',
      'ttlSecondsAfterFinished',
      'completionMode',
      'suspend',
      'podReplacementPolicy',
      'managedBy',
    ),
    selector,
    template,
  },
  'v1/Service': freeFields(
    'ports',
    'selector',
    'clusterIP',
    'clusterIPs',
    'type',
    'externalIPs',
    'sessionAffinity',
    'loadBalancerIP',
    'loadBalancerSourceRanges',
    'externalName',
    'externalTrafficPolicy',
    'healthCheckNodePort',
    'publishNotReadyAddresses',
    'sessionAffinityConfig',
    'ipFamilies',
    'ipFamilyPolicy',
    'allocateLoadBalancerNodePorts',
    'loadBalancerClass',
    'internalTrafficPolicy',
    'trafficDistribution',
  ),
};

/** Top-level fields besides apiVersion/kind/metadata, per kind; absent kinds: spec + status. */
const topLevel: Record<string, string[]> = {
  'v1/ConfigMap': ['data', 'binaryData', 'immutable'],
  'v1/Secret': ['data', 'stringData', 'type', 'immutable'],
  'v1/ServiceAccount': ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  'v1/Endpoints': ['subsets'],
  'v1/Event': [
    'involvedObject',
    'reason',
    'message',
    'source',
    'firstTimestamp',
    'lastTimestamp',
    'count',
    'type',
    'eventTime',
    'series',
    'action',
    'related',
    'reportingComponent',
    'reportingInstance',
  ],
  'v1/Binding': ['target'],
  'apps/v1/ControllerRevision': ['data', 'revision'],
  'discovery.k8s.io/v1/EndpointSlice': ['addressType', 'endpoints', 'ports'],
  'rbac.authorization.k8s.io/v1/Role': ['rules'],
  'rbac.authorization.k8s.io/v1/ClusterRole': ['rules', 'aggregationRule'],
  'rbac.authorization.k8s.io/v1/RoleBinding': ['subjects', 'roleRef'],
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ['subjects', 'roleRef'],
  'storage.k8s.io/v1/StorageClass': [
    'provisioner',
    'parameters',
    'reclaimPolicy',
    'mountOptions',
    'allowVolumeExpansion',
    'volumeBindingMode',
    'allowedTopologies',
  ],
  'scheduling.k8s.io/v1/PriorityClass': ['value', 'globalDefault', 'description', 'preemptionPolicy'],
};

/** The first unknown field path in `obj` (dotted, lists as `[i]`), or undefined. */
export function unknownFields(obj: KubeObject): string[] {
  const key = `${obj.apiVersion ?? ''}/${obj.kind ?? ''}`;
  const schema: Schema = { apiVersion: free, kind: free, metadata: objectMeta };
  for (const f of topLevel[key] ?? ['spec', 'status']) schema[f] = free;
  const spec = specs[key];
  if (spec && 'spec' in schema) schema.spec = spec;
  const out: string[] = [];
  walk(obj, schema, '', out);
  return out;
}

function walk(value: unknown, schema: Schema, path: string, out: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const p = path === '' ? k : `${path}.${k}`;
    const s = schema[k];
    if (s === undefined) {
      out.push(p);
      continue;
    }
    if (s === free) continue;
    if (Array.isArray(s)) {
      if (Array.isArray(v)) {
        for (const [i, item] of v.entries()) walk(item, s[0], `${p}[${i}]`, out);
      }
      continue;
    }
    walk(v, s, p, out);
  }
}
