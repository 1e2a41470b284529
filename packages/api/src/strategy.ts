// The parts of upstream's registry strategies (PrepareForCreate / PrepareForUpdate) and
// rest.BeforeCreate/BeforeUpdate that set fields clients cannot: status resets, generation,
// system metadata carried over on update, a new pod's phase and QoS class, a namespace's
// finalizer and phase, a job's generated selector. Pure: copies in, copies out.
import { tryParseQuantity } from './quantity.js';
import { resourceForKind, subresourceOf } from './registry.js';
import type { Job } from './types/batch.js';
import type { Namespace, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec } from './types/core.js';
import type { KubeObject } from './types/meta.js';

type Loose = KubeObject & { spec?: unknown; status?: Record<string, unknown> };

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Kinds whose strategies track `metadata.generation` (bumped on every spec change). */
function tracksGeneration(obj: KubeObject): boolean {
  const v = obj.apiVersion ?? '';
  return v === 'apps/v1' || v === 'batch/v1';
}

function hasStatusSubresource(obj: KubeObject): boolean {
  const def = resourceForKind(obj.apiVersion ?? '', obj.kind ?? '');
  return def !== undefined && subresourceOf(def, 'status') !== undefined;
}

/** QoS class from requests/limits of cpu and memory (after requests were defaulted from limits). */
export function podQOSClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let anySet = false;
  let guaranteed = all.length > 0;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const rq = tryParseQuantity(req[r] ?? lim[r]);
      const lq = tryParseQuantity(lim[r]);
      if ((rq !== null && !rq.isZero()) || (lq !== null && !lq.isZero())) anySet = true;
      if (lq === null || lq.isZero() || rq === null || !rq.equals(lq)) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * Create-time fields: status cleared for kinds with a status subresource (nodes keep theirs, as
 * upstream allows), then a pod's Pending phase + qosClass, a namespace's `kubernetes` finalizer and
 * Active phase, PV/PVC phase Pending; generation 1 where tracked; a job's generated selector
 * (needs metadata.uid, which the apiserver assigns first).
 */
export function prepareForCreate<T extends KubeObject>(obj: T): T {
  let o = clone(obj) as Loose;
  const key = `${o.apiVersion ?? ''}/${o.kind ?? ''}`;
  if (hasStatusSubresource(o) && key !== 'v1/Node') delete o.status;
  if (tracksGeneration(o)) o.metadata.generation = 1;
  switch (key) {
    case 'v1/Pod': {
      const pod = o as unknown as Pod;
      pod.status = { phase: 'Pending', qosClass: podQOSClass(pod.spec ?? { containers: [] }) };
      break;
    }
    case 'v1/Namespace': {
      const ns = o as unknown as Namespace;
      ns.spec = { finalizers: ['kubernetes'] };
      ns.status = { phase: 'Active' };
      break;
    }
    case 'v1/PersistentVolume':
      (o as unknown as PersistentVolume).status = { phase: 'Pending' };
      break;
    case 'v1/PersistentVolumeClaim':
      (o as unknown as PersistentVolumeClaim).status = { phase: 'Pending' };
      break;
    case 'apps/v1/Deployment':
    case 'apps/v1/ReplicaSet':
    case 'apps/v1/StatefulSet':
    case 'apps/v1/DaemonSet':
    case 'batch/v1/Job':
    case 'batch/v1/CronJob':
    case 'v1/Service':
      o.status = {};
      break;
  }
  if (key === 'apps/v1/StatefulSet' || key === 'apps/v1/ReplicaSet') o.status = { replicas: 0 };
  if (key === 'apps/v1/DaemonSet') {
    o.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
  }
  if (key === 'v1/Service') o.status = { loadBalancer: {} };
  if (key === 'batch/v1/Job') o = generateJobSelector(o as unknown as Job) as unknown as Loose;
  return o as unknown as T;
}

export interface UpdateOptions {
  /** '' for the main resource, 'status' for the status subresource. */
  subresource?: '' | 'status';
}

/**
 * Update-time fields (BeforeUpdate + PrepareForUpdate): uid (when omitted), creationTimestamp,
 * deletion fields and generation come from the stored object; a main-resource update keeps the
 * stored status (for kinds with a status subresource) and bumps generation when the spec changed;
 * a status update keeps everything but the new status.
 */
export function prepareForUpdate<T extends KubeObject>(newObj: T, oldObj: T, opts: UpdateOptions = {}): T {
  const old = oldObj as Loose;
  if (opts.subresource === 'status') {
    const o = clone(old);
    const incoming = (newObj as Loose).status;
    if (incoming === undefined) delete o.status;
    else o.status = clone(incoming);
    return o as unknown as T;
  }
  const o = clone(newObj) as Loose;
  const m = o.metadata;
  const om = old.metadata;
  if (m.uid === undefined || m.uid === '') {
    if (om.uid !== undefined) m.uid = om.uid;
  }
  if (om.creationTimestamp !== undefined) m.creationTimestamp = om.creationTimestamp;
  if (om.deletionTimestamp !== undefined) m.deletionTimestamp = om.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (om.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
  if (om.generation !== undefined) m.generation = om.generation;
  else delete m.generation;
  if (hasStatusSubresource(o)) {
    if (old.status === undefined) delete o.status;
    else o.status = clone(old.status);
  }
  if (tracksGeneration(o) && JSON.stringify(o.spec) !== JSON.stringify(old.spec)) {
    m.generation = (om.generation ?? 0) + 1;
  }
  return o as unknown as T;
}

/**
 * The selector and template labels the Job strategy generates unless `spec.manualSelector` is true:
 * `batch.kubernetes.io/controller-uid=<uid>` plus the legacy `controller-uid`/`job-name` labels.
 */
export function generateJobSelector(input: Job): Job {
  const job = clone(input);
  const uid = job.metadata.uid;
  if (job.spec.manualSelector === true || uid === undefined || uid === '') return job;
  const name = job.metadata.name ?? '';
  job.spec.template.metadata ??= {};
  job.spec.template.metadata.labels = {
    ...(job.spec.template.metadata.labels ?? {}),
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
  job.spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  // Upstream re-runs SetDefaults_Job when it decodes the stored object, so a job without labels of
  // its own shows the generated template labels.
  if (Object.keys(job.metadata.labels ?? {}).length === 0)
    job.metadata.labels = { ...job.spec.template.metadata.labels };
  return job;
}
