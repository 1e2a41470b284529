// Defaulting as the real apiserver applies it (the SetDefaults_* functions of k8s.io/kubernetes
// pkg/apis/*/v1), plus the admission plugins that default new pods; kept apart because the
// apiserver calls them at different moments:
//   defaultObject(obj)          → SetDefaults_* for the object's kind (every create and update)
//   admitPod(pod)               → ServiceAccount, Priority and DefaultTolerationSeconds admission
// (Create/update strategy pieces — status resets, generation, job selectors — are in strategy.ts.)
// All functions return a defaulted deep copy and leave their input alone.
import { guardMalformed } from './decode.js';
import { canonicalResourceList } from './quantity.js';
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from './types/apps.js';
import type { CronJob, Job, JobSpec } from './types/batch.js';
import type {
  Container,
  Endpoints,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Probe,
  Secret,
  Service,
  Toleration,
  Volume,
} from './types/core.js';
import type { KubeObject } from './types/meta.js';
import type { EndpointSlice } from './types/misc.js';

const DEFAULT_MODE = 0o644; // 420, what `kubectl get -o yaml` shows for configMap/secret volumes

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Splits an image reference like upstream's parsers.ParseImageName and returns its tag ('' when pinned by digest). */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > lastSlash) return withoutDigest.slice(colon + 1);
  return at >= 0 ? '' : 'latest';
}

function defaultProbe(p: Probe | undefined): void {
  if (p === undefined) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet !== undefined) {
    p.httpGet.path ??= '/';
    p.httpGet.scheme ??= 'HTTP';
  }
}

function canonicalResources(c: Container): void {
  if (c.resources?.limits !== undefined) c.resources.limits = canonicalResourceList(c.resources.limits);
  if (c.resources?.requests !== undefined) c.resources.requests = canonicalResourceList(c.resources.requests);
}

function defaultContainer(c: Container): void {
  if (c.imagePullPolicy === undefined || (c.imagePullPolicy as string) === '') {
    c.imagePullPolicy = imageTag(c.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  canonicalResources(c);
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef !== undefined) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop]) {
    if (h?.httpGet !== undefined) {
      h.httpGet.path ??= '/';
      h.httpGet.scheme ??= 'HTTP';
    }
  }
}

function defaultVolume(v: Volume): void {
  const sources = Object.keys(v).filter((k) => k !== 'name');
  if (sources.length === 0) v.emptyDir = {};
  if (v.configMap !== undefined) v.configMap.defaultMode ??= DEFAULT_MODE;
  if (v.secret !== undefined) v.secret.defaultMode ??= DEFAULT_MODE;
  if (v.downwardAPI !== undefined) {
    v.downwardAPI.defaultMode ??= DEFAULT_MODE;
    for (const item of v.downwardAPI.items ?? []) if (item.fieldRef !== undefined) item.fieldRef.apiVersion ??= 'v1';
  }
  if (v.projected !== undefined) v.projected.defaultMode ??= DEFAULT_MODE;
  if (v.hostPath !== undefined) v.hostPath.type ??= '';
}

/** SetDefaults_PodSpec + containers + volumes (shared by pods and every pod template). */
function defaultPodSpec(spec: PodSpec): void {
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.restartPolicy ??= 'Always';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

function defaultTemplate(t: PodTemplateSpec | undefined): void {
  if (t?.spec !== undefined) defaultPodSpec(t.spec);
}

function requestsFromLimits(c: Container): void {
  const limits = c.resources?.limits;
  if (limits === undefined || c.resources === undefined) return;
  c.resources.requests ??= {};
  for (const [k, v] of Object.entries(limits)) if (!(k in c.resources.requests)) c.resources.requests[k] = v;
}

export function defaultPod(input: Pod): Pod {
  const pod = clone(input);
  pod.spec ??= { containers: [] };
  for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) requestsFromLimits(c);
  pod.spec.enableServiceLinks ??= true;
  if (pod.spec.hostNetwork === true) {
    // Pods only (templates keep hostPort unset unless a feature gate says otherwise upstream):
    // hostNetwork pods expose containerPort on the host, mirrored into hostPort.
    for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
      for (const p of c.ports ?? []) p.hostPort ??= p.containerPort;
    }
  }
  defaultPodSpec(pod.spec);
  return pod;
}

export interface PodAdmissionOptions {
  /** DefaultTolerationSeconds admission; upstream default 300. */
  notReadyTolerationSeconds?: number;
  unreachableTolerationSeconds?: number;
  /** Priority of `priorityClassName` when set (kemu serves no PriorityClass objects yet). */
  priorityOf?: (priorityClassName: string) => number | undefined;
}

/**
 * The admission plugins that shape every new pod: ServiceAccount (`default`), Priority (0 unless a
 * class says otherwise, preemptionPolicy PreemptLowerPriority) and DefaultTolerationSeconds
 * (NoExecute tolerations for not-ready/unreachable nodes, 300 s, unless the pod tolerates them).
 */
export function admitPod(input: Pod, opts: PodAdmissionOptions = {}): Pod {
  const pod = clone(input);
  const spec = pod.spec;
  if (spec.serviceAccountName === undefined || spec.serviceAccountName === '') {
    spec.serviceAccountName =
      spec.serviceAccount !== undefined && spec.serviceAccount !== '' ? spec.serviceAccount : 'default';
  }
  spec.serviceAccount = spec.serviceAccountName;
  if (spec.priority === undefined) {
    const fromClass = spec.priorityClassName !== undefined ? opts.priorityOf?.(spec.priorityClassName) : undefined;
    spec.priority = fromClass ?? 0;
  }
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  const tolerations = spec.tolerations ?? [];
  const add = (key: string, seconds: number) => {
    const covered = tolerations.some(
      (t) =>
        (t.effect === undefined || t.effect === 'NoExecute') &&
        ((t.operator === 'Exists' && (t.key === undefined || t.key === '')) || t.key === key),
    );
    if (!covered) {
      const t: Toleration = { key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds };
      tolerations.push(t);
    }
  };
  add('node.kubernetes.io/not-ready', opts.notReadyTolerationSeconds ?? 300);
  add('node.kubernetes.io/unreachable', opts.unreachableTolerationSeconds ?? 300);
  spec.tolerations = tolerations;
  return pod;
}

export function defaultDeployment(input: Deployment): Deployment {
  const d = clone(input);
  d.spec.replicas ??= 1;
  d.spec.strategy ??= {};
  d.spec.strategy.type ??= 'RollingUpdate';
  if (d.spec.strategy.type === 'RollingUpdate') {
    d.spec.strategy.rollingUpdate ??= {};
    d.spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
    d.spec.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  d.spec.revisionHistoryLimit ??= 10;
  d.spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(d.spec.template);
  return d;
}

export function defaultReplicaSet(input: ReplicaSet): ReplicaSet {
  const rs = clone(input);
  rs.spec.replicas ??= 1;
  defaultTemplate(rs.spec.template);
  return rs;
}

function defaultPvc(pvc: PersistentVolumeClaim): void {
  pvc.spec ??= {};
  const req = pvc.spec.resources?.requests;
  if (req !== undefined && pvc.spec.resources !== undefined) pvc.spec.resources.requests = canonicalResourceList(req);
  if (pvc.status?.capacity !== undefined) pvc.status.capacity = canonicalResourceList(pvc.status.capacity);
  pvc.spec.volumeMode ??= 'Filesystem';
  pvc.status ??= {};
  pvc.status.phase ??= 'Pending';
}

/**
 * StatefulSet defaults. `spec.serviceName` has no default upstream (it is optional since 1.32 and
 * otherwise given by the user), so it is left as sent.
 */
export function defaultStatefulSet(input: StatefulSet): StatefulSet {
  const s = clone(input);
  s.spec.podManagementPolicy ??= 'OrderedReady';
  s.spec.updateStrategy ??= {};
  if (s.spec.updateStrategy.type === undefined) {
    s.spec.updateStrategy.type = 'RollingUpdate';
    s.spec.updateStrategy.rollingUpdate ??= {};
  }
  if (s.spec.updateStrategy.type === 'RollingUpdate' && s.spec.updateStrategy.rollingUpdate !== undefined) {
    s.spec.updateStrategy.rollingUpdate.partition ??= 0;
  }
  s.spec.persistentVolumeClaimRetentionPolicy ??= {};
  s.spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
  s.spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
  s.spec.replicas ??= 1;
  s.spec.revisionHistoryLimit ??= 10;
  for (const pvc of s.spec.volumeClaimTemplates ?? []) defaultPvc(pvc);
  defaultTemplate(s.spec.template);
  return s;
}

export function defaultDaemonSet(input: DaemonSet): DaemonSet {
  const ds = clone(input);
  ds.spec.updateStrategy ??= {};
  ds.spec.updateStrategy.type ??= 'RollingUpdate';
  if (ds.spec.updateStrategy.type === 'RollingUpdate') {
    ds.spec.updateStrategy.rollingUpdate ??= {};
    ds.spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    ds.spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  ds.spec.revisionHistoryLimit ??= 10;
  defaultTemplate(ds.spec.template);
  return ds;
}

function defaultJobSpec(spec: JobSpec): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy !== undefined ? 'Failed' : 'TerminatingOrFailed';
  defaultTemplate(spec.template);
}

export function defaultJob(input: Job): Job {
  const job = clone(input);
  defaultJobSpec(job.spec);
  // A job without labels takes its template's (upstream SetDefaults_Job).
  const templateLabels = job.spec.template?.metadata?.labels;
  if (templateLabels !== undefined && Object.keys(job.metadata.labels ?? {}).length === 0) {
    job.metadata.labels = { ...templateLabels };
  }
  return job;
}

export function defaultCronJob(input: CronJob): CronJob {
  const cj = clone(input);
  cj.spec.concurrencyPolicy ??= 'Allow';
  cj.spec.suspend ??= false;
  cj.spec.successfulJobsHistoryLimit ??= 3;
  cj.spec.failedJobsHistoryLimit ??= 1;
  defaultTemplate(cj.spec.jobTemplate?.spec?.template);
  return cj;
}

/**
 * Service defaults. `ipFamilies`/`ipFamilyPolicy` are really filled by the IP allocator; kemu's
 * cluster is single-stack IPv4, so they are defaulted here for every service that gets a cluster IP.
 */
export function defaultService(input: Service): Service {
  const svc = clone(input);
  const spec = (svc.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const externallyAccessible =
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0);
  if (externallyAccessible) spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  // clusterIP and clusterIPs[0] are one value seen twice; keep them in step (upstream REST does).
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIPs === undefined)
    spec.clusterIPs = [spec.clusterIP];
  if ((spec.clusterIP === undefined || spec.clusterIP === '') && spec.clusterIPs?.[0] !== undefined)
    spec.clusterIP = spec.clusterIPs[0];
  return svc;
}

export function defaultNamespace(input: Namespace): Namespace {
  const ns = clone(input);
  const name = ns.metadata.name;
  if (name !== undefined && name !== '') {
    ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  }
  return ns;
}

export function defaultNode(input: Node): Node {
  const node = clone(input);
  if (node.status?.capacity !== undefined) node.status.capacity = canonicalResourceList(node.status.capacity);
  if (node.status?.allocatable !== undefined) node.status.allocatable = canonicalResourceList(node.status.allocatable);
  if (node.status?.capacity !== undefined && node.status.allocatable === undefined) {
    node.status.allocatable = { ...node.status.capacity };
  }
  return node;
}

/**
 * Secret defaults, plus what upstream's v1 conversion does with `stringData`: each value is
 * base64-encoded into `data` (overwriting a same-named key) and `stringData` is dropped, so it is
 * never stored or returned.
 */
export function defaultSecret(input: Secret): Secret {
  const s = clone(input);
  s.type ??= 'Opaque';
  if (s.stringData !== undefined) {
    const data = { ...(s.data ?? {}) };
    for (const [k, v] of Object.entries(s.stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
    s.data = data;
    delete s.stringData;
  }
  return s;
}

export function defaultPersistentVolume(input: PersistentVolume): PersistentVolume {
  const pv = clone(input);
  pv.spec ??= {};
  if (pv.spec.capacity !== undefined) pv.spec.capacity = canonicalResourceList(pv.spec.capacity);
  pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
  pv.spec.volumeMode ??= 'Filesystem';
  pv.status ??= {};
  pv.status.phase ??= 'Pending';
  return pv;
}

export function defaultPersistentVolumeClaim(input: PersistentVolumeClaim): PersistentVolumeClaim {
  const pvc = clone(input);
  defaultPvc(pvc);
  return pvc;
}

export function defaultEndpoints(input: Endpoints): Endpoints {
  const ep = clone(input);
  for (const ss of ep.subsets ?? []) for (const p of ss.ports ?? []) p.protocol ??= 'TCP';
  return ep;
}

export function defaultEndpointSlice(input: EndpointSlice): EndpointSlice {
  const es = clone(input);
  for (const p of es.ports ?? []) {
    p.protocol ??= 'TCP';
    p.name ??= '';
  }
  return es;
}

function defaultStorageClass(input: { reclaimPolicy?: string; volumeBindingMode?: string }) {
  const sc = clone(input);
  sc.reclaimPolicy ??= 'Delete';
  sc.volumeBindingMode ??= 'Immediate';
  return sc;
}

function defaultPriorityClass(input: { preemptionPolicy?: string }) {
  const pc = clone(input);
  pc.preemptionPolicy ??= 'PreemptLowerPriority';
  return pc;
}

function defaultHorizontalPodAutoscaler(input: { spec?: { minReplicas?: number } }) {
  const h = clone(input);
  if (h.spec) h.spec.minReplicas ??= 1;
  return h;
}

type Defaulter = (o: never) => unknown;
const defaulters: Record<string, Defaulter> = {
  'v1/Pod': defaultPod,
  'v1/Service': defaultService,
  'v1/Namespace': defaultNamespace,
  'v1/Node': defaultNode,
  'v1/Secret': defaultSecret,
  'v1/PersistentVolume': defaultPersistentVolume,
  'v1/PersistentVolumeClaim': defaultPersistentVolumeClaim,
  'v1/Endpoints': defaultEndpoints,
  'apps/v1/Deployment': defaultDeployment,
  'apps/v1/ReplicaSet': defaultReplicaSet,
  'apps/v1/StatefulSet': defaultStatefulSet,
  'apps/v1/DaemonSet': defaultDaemonSet,
  'batch/v1/Job': defaultJob,
  'batch/v1/CronJob': defaultCronJob,
  'discovery.k8s.io/v1/EndpointSlice': defaultEndpointSlice,
  'storage.k8s.io/v1/StorageClass': defaultStorageClass,
  'scheduling.k8s.io/v1/PriorityClass': defaultPriorityClass,
  'autoscaling/v2/HorizontalPodAutoscaler': defaultHorizontalPodAutoscaler,
};

/**
 * SetDefaults_* for the object's apiVersion/kind; kinds without defaults come back as a plain copy.
 * Throws MalformedObjectError (→ 400) for bodies with fields of the wrong type.
 */
export function defaultObject<T extends KubeObject>(obj: T): T {
  const fn = defaulters[`${obj.apiVersion ?? ''}/${obj.kind ?? ''}`];
  return fn === undefined ? clone(obj) : guardMalformed(obj, () => fn(obj as never) as T);
}
