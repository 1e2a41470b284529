// Deployment controller (upstream pkg/controller/deployment): owns ReplicaSets, one per pod template
// (named `<deployment>-<pod-template-hash>`), and moves replicas from old to new by the strategy
// (RollingUpdate within maxSurge/maxUnavailable, or Recreate), keeps revision annotations, cleans up
// history, and reports status and the Available/Progressing conditions with upstream's reasons.
import {
  computeTemplateHash,
  controllerOf,
  controllerRef,
  type Deployment,
  isBeingDeleted,
  isPodTerminal,
  type KubeObject,
  type Pod,
  type PodTemplateSpec,
  parseTime,
  type ReplicaSet,
} from '@kemu/api';
import {
  DeletedFinalStateUnknown,
  isAlreadyExists,
  isNotFound,
  runController,
  type SharedIndexInformer,
  splitKey,
} from '@kemu/client';
import type { ControllerContext, ControllerDescriptor, RunningController } from '../context.js';
import {
  claimObjects,
  errorMessage,
  getCondition,
  newQueue,
  nowTime,
  ownerKey,
  quietConflicts,
  sameJson,
  sameStatus,
  scaledValue,
  selectorOf,
  setCondition,
  type WorkloadCondition,
} from '../workload/util.js';
import { claimCandidates, controllerUidIndex, POD_CONTROLLER_UID_INDEX, withKind } from './replicaset.js';

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const ROLLBACK_TO = 'deprecated.deployment.rollback.to';
/** Deployment annotations that are not copied to its ReplicaSets (upstream annotationsToSkip). */
const SKIPPED_ANNOTATIONS = new Set([
  LAST_APPLIED,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  ROLLBACK_TO,
]);

// Condition reasons (upstream deploymentutil).
export const REASON = {
  newRSCreated: 'NewReplicaSetCreated',
  foundNewRS: 'FoundNewReplicaSet',
  rsUpdated: 'ReplicaSetUpdated',
  newRSAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  minAvailable: 'MinimumReplicasAvailable',
  minUnavailable: 'MinimumReplicasUnavailable',
} as const;

type DStatus = NonNullable<Deployment['status']> & { conditions?: WorkloadCondition[] };

function replicasOf(d: Deployment): number {
  return d.spec.replicas ?? 1;
}
function rsReplicas(rs: ReplicaSet | undefined): number {
  return rs?.spec.replicas ?? 0;
}
function revisionOf(rs: KubeObject): number {
  const v = Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');
  return Number.isFinite(v) ? v : 0;
}
function createdAt(o: KubeObject): number {
  return parseTime(o.metadata.creationTimestamp ?? undefined) ?? 0;
}
function byCreation(a: KubeObject, b: KubeObject): number {
  return createdAt(a) - createdAt(b) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}
const sum = (rss: readonly ReplicaSet[], f: (rs: ReplicaSet) => number) => rss.reduce((n, rs) => n + f(rs), 0);
const specSum = (rss: readonly ReplicaSet[]) => sum(rss, (rs) => rs.spec.replicas ?? 0);
const actualSum = (rss: readonly ReplicaSet[]) => sum(rss, (rs) => rs.status?.replicas ?? 0);
const availableSum = (rss: readonly ReplicaSet[]) => sum(rss, (rs) => rs.status?.availableReplicas ?? 0);
const readySum = (rss: readonly ReplicaSet[]) => sum(rss, (rs) => rs.status?.readyReplicas ?? 0);

/** The template without the pod-template-hash label (upstream EqualIgnoreHash compares these). */
function templateWithoutHash(t: PodTemplateSpec | undefined): unknown {
  const copy = structuredClone(t ?? { spec: { containers: [] } });
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
  }
  return normalize(copy);
}

/** Drops empty maps/arrays and undefined so a template read back from the apiserver compares equal. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = normalize((v as Record<string, unknown>)[k]);
      // null is Go's zero value (kubectl sends `creationTimestamp: null` in templates)
      if (x === undefined || x === null) continue;
      if (x !== null && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 0) continue;
      out[k] = x;
    }
    return out;
  }
  return v;
}

/**
 * The pod-template-hash of the deployment's template, over its normalized form so that what
 * kubectl round-trips (`creationTimestamp: null`, empty maps) does not change it.
 */
export function templateHash(d: Deployment): string {
  return computeTemplateHash(templateWithoutHash(d.spec.template), d.status?.collisionCount);
}

export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return sameJson(templateWithoutHash(a), templateWithoutHash(b));
}

/** deploymentutil.ResolveFenceposts: maxSurge rounds up, maxUnavailable down; both 0 → 1 unavailable. */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const ru = d.spec.strategy?.rollingUpdate;
  const desired = replicasOf(d);
  const surge = scaledValue(ru?.maxSurge, desired, true, '25%');
  let unavailable = scaledValue(ru?.maxUnavailable, desired, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

function isRolling(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

export function maxUnavailable(d: Deployment): number {
  if (!isRolling(d) || replicasOf(d) === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, replicasOf(d));
}

export function maxSurge(d: Deployment): number {
  return isRolling(d) ? resolveFenceposts(d).surge : 0;
}

/** deploymentutil.NewRSNewReplicas. */
export function newRSNewReplicas(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet): number {
  if (!isRolling(d)) return replicasOf(d);
  const current = specSum(all);
  const maxTotal = replicasOf(d) + maxSurge(d);
  if (current >= maxTotal) return rsReplicas(newRS);
  const up = Math.min(maxTotal - current, replicasOf(d) - rsReplicas(newRS));
  return rsReplicas(newRS) + up;
}

function deploymentComplete(d: Deployment, s: DStatus): boolean {
  const r = replicasOf(d);
  return (
    (s.updatedReplicas ?? 0) === r &&
    (s.replicas ?? 0) === r &&
    (s.availableReplicas ?? 0) === r &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

function deploymentProgressing(d: Deployment, s: DStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

function hasProgressDeadline(d: Deployment): boolean {
  const p = d.spec.progressDeadlineSeconds;
  return p !== undefined && p !== 2147483647;
}

export class DeploymentController {
  private readonly dInformer: SharedIndexInformer<Deployment>;
  private readonly rsInformer: SharedIndexInformer<ReplicaSet>;
  private readonly podInformer: SharedIndexInformer<Pod>;
  private readonly queue;
  private readonly recorder;

  constructor(private readonly ctx: ControllerContext) {
    this.dInformer = ctx.informers.forResource<Deployment>('deployments.apps');
    this.rsInformer = ctx.informers.forResource<ReplicaSet>('replicasets.apps', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.podInformer = ctx.informers.forResource<Pod>('pods', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.queue = newQueue(ctx, 'deployment');
    this.recorder = ctx.recorder('deployment-controller');
    const enqueue = (d: KubeObject) => this.queue.add(`${d.metadata.namespace}/${d.metadata.name}`);
    this.dInformer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_o, d) => enqueue(d),
      onDelete: (obj) => enqueue(obj instanceof DeletedFinalStateUnknown ? (obj.obj as Deployment) : obj),
    });
    const lookup = (ns: string, name: string) => this.dInformer.get(ns, name);
    const enqueueOwnerOrMatching = (rs: ReplicaSet) => {
      const key = ownerKey(rs, 'Deployment', lookup);
      if (key) return this.queue.add(key);
      if (controllerOf(rs)) return;
      for (const d of this.dInformer.list({ namespace: rs.metadata.namespace ?? '' })) {
        const sel = selectorOf(d.spec.selector);
        if (!sel.empty && sel.matches(rs.metadata.labels)) enqueue(d);
      }
    };
    this.rsInformer.addEventHandler({
      onAdd: enqueueOwnerOrMatching,
      onUpdate: (old, rs) => {
        if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
        const oldKey = ownerKey(old, 'Deployment', lookup);
        if (oldKey) this.queue.add(oldKey);
        enqueueOwnerOrMatching(rs);
      },
      onDelete: (obj) => {
        const rs = obj instanceof DeletedFinalStateUnknown ? (obj.obj as ReplicaSet) : obj;
        const key = ownerKey(rs, 'Deployment', lookup);
        if (key) this.queue.add(key);
      },
    });
    // Recreate waits for old pods to be gone; a pod deletion may be what it waits for.
    this.podInformer.addEventHandler({
      onDelete: (obj) => {
        const pod = obj instanceof DeletedFinalStateUnknown ? (obj.obj as Pod) : obj;
        const ref = controllerOf(pod);
        if (ref?.kind !== 'ReplicaSet') return;
        const rs = this.rsInformer.get(pod.metadata.namespace ?? '', ref.name);
        if (!rs) return;
        const key = ownerKey(rs, 'Deployment', lookup);
        if (key) this.queue.add(key);
      },
    });
  }

  run(workers = 2): RunningController {
    return runController({
      name: 'deployment',
      runtime: this.ctx.runtime,
      informers: [this.dInformer, this.rsInformer, this.podInformer],
      queue: this.queue,
      workers,
      log: this.ctx.log,
      reconcile: quietConflicts(this.ctx.log, (key) => this.sync(key)),
    });
  }

  private rsApi(ns: string) {
    return this.ctx.api.resource<ReplicaSet>('replicasets.apps', { namespace: ns });
  }
  private dApi(ns: string) {
    return this.ctx.api.resource<Deployment>('deployments.apps', { namespace: ns });
  }

  async sync(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const cached = this.dInformer.get(ns, name);
    if (!cached) return undefined;
    let d = structuredClone(withKind(cached, 'Deployment'));
    const selector = selectorOf(d.spec.selector);
    if (selector.empty) {
      void this.recorder.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status = { ...(d.status ?? {}), observedGeneration: d.metadata.generation ?? 0 };
        await this.dApi(ns).updateStatus(d);
      }
      return undefined;
    }
    const rsList = await claimObjects<ReplicaSet>({
      owner: d,
      ownerRef: controllerRef(d),
      selector,
      candidates: claimCandidates(this.rsInformer, d),
      client: this.rsApi(ns),
    });
    if (isBeingDeleted(d)) {
      await this.syncStatusOnly(d, rsList);
      return undefined;
    }
    d = await this.checkPausedConditions(d);
    if (d.spec.paused) {
      await this.scaleOnly(d, rsList);
      return undefined;
    }
    if (this.isScalingEvent(d, rsList)) {
      await this.scaleOnly(d, rsList);
      return undefined;
    }
    if (isRolling(d)) return this.rolloutRolling(d, rsList);
    return this.rolloutRecreate(d, rsList);
  }

  private async checkPausedConditions(d: Deployment): Promise<Deployment> {
    if (!hasProgressDeadline(d)) return d;
    const conds = (d.status?.conditions ?? []) as WorkloadCondition[];
    const cond = getCondition(conds, 'Progressing');
    if (cond?.reason === REASON.timedOut) return d;
    const paused = d.spec.paused === true;
    let next: WorkloadCondition | undefined;
    if (paused && cond?.reason !== REASON.paused) {
      next = this.condition('Progressing', 'Unknown', REASON.paused, 'Deployment is paused');
    } else if (!paused && cond?.reason === REASON.paused) {
      next = this.condition('Progressing', 'Unknown', REASON.resumed, 'Deployment is resumed');
    }
    if (!next) return d;
    d.status = { ...(d.status ?? {}), conditions: setCondition(conds, next) as DStatus['conditions'] };
    return this.dApi(d.metadata.namespace ?? '').updateStatus(d);
  }

  private condition(type: string, status: string, reason: string, message: string): WorkloadCondition {
    const now = nowTime(this.ctx);
    return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
  }

  private isScalingEvent(d: Deployment, rsList: ReplicaSet[]): boolean {
    const { newRS, oldRSs } = this.split(d, rsList);
    const all = newRS ? [newRS, ...oldRSs] : oldRSs;
    for (const rs of all.filter((r) => rsReplicas(r) > 0)) {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      if (desired === undefined) continue;
      if (Number(desired) !== replicasOf(d)) return true;
    }
    return false;
  }

  /** FindNewReplicaSet / FindOldReplicaSets: the oldest RS with the deployment's template is new. */
  private split(d: Deployment, rsList: ReplicaSet[]): { newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] } {
    const sorted = [...rsList].sort(byCreation);
    // Upstream compares templates only; the hash label is checked first so that a field the
    // apiserver defaults differently in a ReplicaSet's template can never make us miss our own RS.
    const hash = templateHash(d);
    const newRS =
      sorted.find(
        (rs) => rs.metadata.labels?.[POD_TEMPLATE_HASH] === hash && rs.metadata.name === `${d.metadata.name}-${hash}`,
      ) ?? sorted.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    return { newRS, oldRSs: sorted.filter((rs) => rs !== newRS) };
  }

  /**
   * getAllReplicaSetsAndSyncRevision: the new RS (created when asked and missing) with its revision
   * and annotations brought up to date, and the deployment's revision annotation set from it.
   */
  private async getAllAndSyncRevision(
    d: Deployment,
    rsList: ReplicaSet[],
    create: boolean,
  ): Promise<{ d: Deployment; newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const { newRS: existing, oldRSs } = this.split(d, rsList);
    const maxOld = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const newRevision = String(maxOld + 1);
    const ns = d.metadata.namespace ?? '';
    let newRS: ReplicaSet | undefined;
    if (existing) {
      const copy = structuredClone(existing);
      const changed = this.setNewRSAnnotations(d, copy, newRevision, true);
      const minReadyChanged = (copy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (minReadyChanged) copy.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
      newRS = changed || minReadyChanged ? await this.rsApi(ns).update(copy) : existing;
      let statusChanged = false;
      const conds = (d.status?.conditions ?? []) as WorkloadCondition[];
      if (hasProgressDeadline(d) && !getCondition(conds, 'Progressing')) {
        const c = this.condition(
          'Progressing',
          'True',
          REASON.foundNewRS,
          `Found new replica set "${newRS.metadata.name}"`,
        );
        d.status = { ...(d.status ?? {}), conditions: setCondition(conds, c) as DStatus['conditions'] };
        statusChanged = true;
      }
      d = await this.syncDeploymentRevision(d, newRS.metadata.annotations?.[REVISION_ANNOTATION]);
      if (statusChanged) d = await this.dApi(ns).updateStatus(d);
    } else if (create) {
      const hash = templateHash(d);
      const template = structuredClone(d.spec.template);
      template.metadata = { ...(template.metadata ?? {}) };
      template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
      const sel = structuredClone(d.spec.selector);
      sel.matchLabels = { ...(sel.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
      const rs: ReplicaSet = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...(template.metadata.labels ?? {}) },
          ownerReferences: [controllerRef(d)],
        },
        spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector: sel, template },
      };
      rs.spec.replicas = newRSNewReplicas(d, oldRSs, rs);
      this.setNewRSAnnotations(d, rs, newRevision, false);
      let created: ReplicaSet;
      let alreadyExisted = false;
      try {
        created = await this.rsApi(ns).create(rs);
      } catch (err) {
        if (!isAlreadyExists(err)) {
          const conds = (d.status?.conditions ?? []) as WorkloadCondition[];
          const c = this.condition('ReplicaFailure', 'True', 'FailedCreate', errorMessage(err));
          d.status = { ...(d.status ?? {}), conditions: setCondition(conds, c) as DStatus['conditions'] };
          await this.dApi(ns)
            .updateStatus(d)
            .catch(() => undefined);
          throw err;
        }
        const other = await this.rsApi(ns).get(rs.metadata.name ?? '');
        const ref = controllerOf(other);
        if (ref?.uid === d.metadata.uid) {
          created = other;
          alreadyExisted = true;
        } else {
          // A hash collision: bump collisionCount so the next attempt picks another name.
          d.status = { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
          await this.dApi(ns).updateStatus(d);
          throw new Error(
            `hash collision for ReplicaSet ${rs.metadata.name}; collisionCount is now ${d.status.collisionCount}`,
          );
        }
      }
      newRS = created;
      if (!alreadyExisted && rsReplicas(created) > 0) {
        void this.recorder.event(
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled up replica set ${created.metadata.name} from 0 to ${rsReplicas(created)}`,
        );
      }
      d = await this.syncDeploymentRevision(d, created.metadata.annotations?.[REVISION_ANNOTATION]);
      if (!alreadyExisted && hasProgressDeadline(d)) {
        const conds = (d.status?.conditions ?? []) as WorkloadCondition[];
        const c = this.condition(
          'Progressing',
          'True',
          REASON.newRSCreated,
          `Created new replica set "${created.metadata.name}"`,
        );
        d.status = { ...(d.status ?? {}), conditions: setCondition(conds, c) as DStatus['conditions'] };
        d = await this.dApi(ns).updateStatus(d);
      }
    }
    return { d, newRS, oldRSs };
  }

  /** SetNewReplicaSetAnnotations: copy the deployment's annotations, set revision, desired/max replicas. */
  private setNewRSAnnotations(d: Deployment, rs: ReplicaSet, newRevision: string, exists: boolean): boolean {
    const before = JSON.stringify(rs.metadata.annotations ?? {});
    const ann = { ...(rs.metadata.annotations ?? {}) };
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
      if (!SKIPPED_ANNOTATIONS.has(k)) ann[k] = v;
    }
    const oldRevision = ann[REVISION_ANNOTATION];
    if (oldRevision === undefined || Number(oldRevision) < Number(newRevision)) {
      ann[REVISION_ANNOTATION] = newRevision;
      if (exists && oldRevision !== undefined && oldRevision !== '') {
        const history = ann[REVISION_HISTORY_ANNOTATION];
        ann[REVISION_HISTORY_ANNOTATION] = history ? `${history},${oldRevision}` : oldRevision;
      }
    }
    if (!exists || ann[DESIRED_REPLICAS_ANNOTATION] === undefined) {
      ann[DESIRED_REPLICAS_ANNOTATION] = String(replicasOf(d));
      ann[MAX_REPLICAS_ANNOTATION] = String(replicasOf(d) + maxSurge(d));
    }
    rs.metadata.annotations = ann;
    return JSON.stringify(ann) !== before;
  }

  private async syncDeploymentRevision(d: Deployment, revision: string | undefined): Promise<Deployment> {
    if (revision === undefined || d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return d;
    // Annotations are metadata: a merge patch does not bump the generation or touch the spec.
    const patched = await this.dApi(d.metadata.namespace ?? '').patch(d.metadata.name ?? '', 'merge', {
      metadata: { annotations: { [REVISION_ANNOTATION]: revision } },
    });
    return { ...patched, status: d.status ?? {} } as Deployment;
  }

  /** Scales `rs` to `n` (with desired/max annotations) and records ScalingReplicaSet. */
  private async scaleRS(rs: ReplicaSet, n: number, d: Deployment): Promise<ReplicaSet> {
    const from = rsReplicas(rs);
    const desired = String(replicasOf(d));
    const max = String(replicasOf(d) + maxSurge(d));
    const ann = rs.metadata.annotations ?? {};
    if (from === n && ann[DESIRED_REPLICAS_ANNOTATION] === desired && ann[MAX_REPLICAS_ANNOTATION] === max) return rs;
    const copy = structuredClone(rs);
    copy.spec.replicas = n;
    copy.metadata.annotations = { ...ann, [DESIRED_REPLICAS_ANNOTATION]: desired, [MAX_REPLICAS_ANNOTATION]: max };
    const out = await this.rsApi(rs.metadata.namespace ?? '').update(copy);
    if (from !== n) {
      const op = from < n ? 'up' : 'down';
      void this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${op} replica set ${rs.metadata.name} from ${from} to ${n}`,
      );
    }
    return out;
  }

  private async rolloutRolling(d0: Deployment, rsList: ReplicaSet[]): Promise<{ requeueAfterMs: number } | undefined> {
    const { d, newRS: nrs, oldRSs } = await this.getAllAndSyncRevision(d0, rsList, true);
    if (!nrs) return undefined;
    let newRS = nrs;
    const all = () => [newRS, ...oldRSs];
    // reconcileNewReplicaSet
    if (rsReplicas(newRS) !== replicasOf(d)) {
      const target = rsReplicas(newRS) > replicasOf(d) ? replicasOf(d) : newRSNewReplicas(d, all(), newRS);
      if (target !== rsReplicas(newRS)) {
        newRS = await this.scaleRS(newRS, target, d);
        return this.syncRolloutStatus(all(), newRS, d);
      }
    }
    if (await this.reconcileOldReplicaSets(oldRSs, newRS, d)) return this.syncRolloutStatus(all(), newRS, d);
    const status = this.calculateStatus(all(), newRS, d);
    if (deploymentComplete(d, status)) await this.cleanup(oldRSs, d);
    return this.syncRolloutStatus(all(), newRS, d);
  }

  /** reconcileOldReplicaSets: scale old RSs down as far as maxUnavailable allows, unhealthy ones first. */
  private async reconcileOldReplicaSets(oldRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
    const oldPods = specSum(oldRSs);
    if (oldPods === 0) return false;
    const allPods = oldPods + rsReplicas(newRS);
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const active = [...oldRSs].sort(byCreation);
    let cleaned = 0;
    // cleanupUnhealthyReplicas
    for (let i = 0; i < active.length && cleaned < maxScaledDown; i++) {
      const rs = active[i] as ReplicaSet;
      const spec = rsReplicas(rs);
      const avail = rs.status?.availableReplicas ?? 0;
      if (spec === 0 || spec === avail) continue;
      const down = Math.min(maxScaledDown - cleaned, spec - avail);
      active[i] = await this.scaleRS(rs, spec - down, d);
      cleaned += down;
    }
    // scaleDownOldReplicaSetsForRollingUpdate
    const available = availableSum([newRS, ...active]);
    let scaled = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (let i = 0; i < active.length && scaled < total; i++) {
        const rs = active[i] as ReplicaSet;
        const spec = rsReplicas(rs);
        if (spec === 0) continue;
        const down = Math.min(spec, total - scaled);
        active[i] = await this.scaleRS(rs, spec - down, d);
        scaled += down;
      }
    }
    for (const [i, rs] of active.entries()) {
      const idx = oldRSs.findIndex((o) => o.metadata.uid === rs.metadata.uid);
      if (idx >= 0) oldRSs[idx] = active[i] as ReplicaSet;
    }
    return cleaned + scaled > 0;
  }

  private async rolloutRecreate(d0: Deployment, rsList: ReplicaSet[]): Promise<{ requeueAfterMs: number } | undefined> {
    let { d, newRS, oldRSs } = await this.getAllAndSyncRevision(d0, rsList, false);
    const all = () => (newRS ? [newRS, ...oldRSs] : oldRSs);
    let scaledDown = false;
    for (const [i, rs] of oldRSs.entries()) {
      if (rsReplicas(rs) === 0) continue;
      oldRSs[i] = await this.scaleRS(rs, 0, d);
      scaledDown = true;
    }
    if (scaledDown) return this.syncRolloutStatus(all(), newRS, d);
    if (this.oldPodsRunning(newRS, oldRSs)) return this.syncRolloutStatus(all(), newRS, d);
    if (!newRS) ({ d, newRS, oldRSs } = await this.getAllAndSyncRevision(d, rsList, true));
    if (newRS && rsReplicas(newRS) !== replicasOf(d)) newRS = await this.scaleRS(newRS, replicasOf(d), d);
    if (deploymentComplete(d, this.calculateStatus(all(), newRS, d))) await this.cleanup(oldRSs, d);
    return this.syncRolloutStatus(all(), newRS, d);
  }

  /** Any pod of an old RS that has not terminated (Recreate waits for all of them). */
  private oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
    if (oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
    for (const rs of oldRSs) {
      if (rs.metadata.uid === newRS?.metadata.uid) continue;
      const pods = this.podInformer.store.byIndex(POD_CONTROLLER_UID_INDEX, rs.metadata.uid ?? '');
      if (pods.some((p) => !isPodTerminal(p))) return true;
    }
    return false;
  }

  /** `sync`: scaling while paused or a replicas change mid-rollout (proportional scaling). */
  private async scaleOnly(d0: Deployment, rsList: ReplicaSet[]): Promise<undefined> {
    const { d, newRS, oldRSs } = await this.getAllAndSyncRevision(d0, rsList, false);
    await this.scale(d, newRS, oldRSs);
    if (d.spec.paused) await this.cleanup(oldRSs, d);
    await this.writeStatus(d, this.calculateStatus(newRS ? [newRS, ...oldRSs] : oldRSs, newRS, d));
    return undefined;
  }

  private async scale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const all = newRS ? [newRS, ...oldRSs] : [...oldRSs];
    const active = all.filter((rs) => rsReplicas(rs) > 0);
    // FindActiveOrLatest
    let target: ReplicaSet | undefined;
    if (active.length === 1) target = active[0];
    else if (active.length === 0) target = newRS ?? [...oldRSs].sort(byCreation).at(-1);
    if (target) {
      if (rsReplicas(target) !== replicasOf(d)) await this.scaleRS(target, replicasOf(d), d);
      return;
    }
    // IsSaturated: the new RS runs everything; the old ones go to zero.
    if (
      newRS &&
      rsReplicas(newRS) === replicasOf(d) &&
      Number(newRS.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]) === replicasOf(d) &&
      (newRS.status?.availableReplicas ?? 0) === replicasOf(d)
    ) {
      for (const rs of oldRSs.filter((r) => rsReplicas(r) > 0)) await this.scaleRS(rs, 0, d);
      return;
    }
    if (!isRolling(d)) return;
    // Proportional scaling: spread the change over the active RSs by their current size.
    const current = specSum(active);
    const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
    const toAdd = allowed - current;
    if (toAdd === 0) return;
    const sorted = [...active].sort((a, b) =>
      toAdd > 0 ? rsReplicas(b) - rsReplicas(a) || byCreation(b, a) : rsReplicas(a) - rsReplicas(b) || byCreation(a, b),
    );
    const next = new Map<string, number>();
    let added = 0;
    for (const rs of sorted) {
      let share = current > 0 ? Math.round((rsReplicas(rs) * toAdd) / current) : 0;
      if (Math.abs(added + share) > Math.abs(toAdd)) share = toAdd - added;
      added += share;
      next.set(rs.metadata.uid ?? '', Math.max(0, rsReplicas(rs) + share));
    }
    const first = sorted[0];
    if (first && added !== toAdd) {
      const k = first.metadata.uid ?? '';
      next.set(k, Math.max(0, (next.get(k) ?? 0) + toAdd - added));
    }
    for (const rs of sorted) {
      const n = next.get(rs.metadata.uid ?? '') ?? rsReplicas(rs);
      await this.scaleRS(rs, n, d);
    }
  }

  /** cleanupDeployment: delete old, fully scaled-down RSs beyond revisionHistoryLimit, oldest revision first. */
  private async cleanup(oldRSs: ReplicaSet[], d: Deployment): Promise<void> {
    const limit = d.spec.revisionHistoryLimit;
    if (limit === undefined) return;
    const cleanable = oldRSs.filter(
      (rs) =>
        !isBeingDeleted(rs) &&
        rsReplicas(rs) === 0 &&
        (rs.status?.replicas ?? 0) === 0 &&
        (rs.metadata.generation ?? 0) <= (rs.status?.observedGeneration ?? 0),
    );
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      try {
        await this.rsApi(rs.metadata.namespace ?? '').delete(rs.metadata.name ?? '', {
          preconditions: { uid: rs.metadata.uid ?? '' },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private calculateStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): DStatus {
    const available = availableSum(all);
    const total = specSum(all);
    const status: DStatus = {
      observedGeneration: d.metadata.generation ?? 0,
      replicas: actualSum(all),
      updatedReplicas: newRS ? (newRS.status?.replicas ?? 0) : 0,
      readyReplicas: readySum(all),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    let conds = [...((d.status?.conditions ?? []) as WorkloadCondition[])];
    if (available >= replicasOf(d) - maxUnavailable(d)) {
      conds = setCondition(
        conds,
        this.condition('Available', 'True', REASON.minAvailable, 'Deployment has minimum availability.'),
      );
    } else {
      conds = setCondition(
        conds,
        this.condition('Available', 'False', REASON.minUnavailable, 'Deployment does not have minimum availability.'),
      );
    }
    status.conditions = conds as DStatus['conditions'];
    return status;
  }

  private async syncStatusOnly(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = this.split(d, rsList);
    await this.writeStatus(d, this.calculateStatus(newRS ? [newRS, ...oldRSs] : oldRSs, newRS, d));
  }

  private async writeStatus(d: Deployment, status: DStatus): Promise<void> {
    if (sameStatus(d.status, status)) return;
    const copy = structuredClone(d);
    copy.status = status;
    await this.dApi(d.metadata.namespace ?? '').updateStatus(copy);
  }

  /** syncRolloutStatus: status plus the Progressing condition; requeues a stuck rollout at its deadline. */
  private async syncRolloutStatus(
    all: ReplicaSet[],
    newRS: ReplicaSet | undefined,
    d: Deployment,
  ): Promise<{ requeueAfterMs: number } | undefined> {
    const status = this.calculateStatus(all, newRS, d);
    let conds = (status.conditions ?? []) as WorkloadCondition[];
    if (!hasProgressDeadline(d)) conds = conds.filter((c) => c.type !== 'Progressing');
    const current = getCondition((d.status?.conditions ?? []) as WorkloadCondition[], 'Progressing');
    const complete = status.replicas === status.updatedReplicas && current?.reason === REASON.newRSAvailable;
    const rsName = newRS?.metadata.name;
    if (hasProgressDeadline(d) && !complete) {
      if (deploymentComplete(d, status)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has successfully progressed.`
          : `Deployment "${d.metadata.name}" has successfully progressed.`;
        conds = setCondition(conds, this.condition('Progressing', 'True', REASON.newRSAvailable, msg));
      } else if (deploymentProgressing(d, status)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" is progressing.`
          : `Deployment "${d.metadata.name}" is progressing.`;
        const c = this.condition('Progressing', 'True', REASON.rsUpdated, msg);
        if (current?.status === 'True' && current.lastTransitionTime) c.lastTransitionTime = current.lastTransitionTime;
        // Progress refreshes lastUpdateTime even when the reason stays the same (the deadline restarts).
        conds = [...conds.filter((x) => x.type !== 'Progressing'), c];
      } else if (this.timedOut(d, current)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has timed out progressing.`
          : `Deployment "${d.metadata.name}" has timed out progressing.`;
        conds = setCondition(conds, this.condition('Progressing', 'False', REASON.timedOut, msg));
      }
    }
    status.conditions = conds as DStatus['conditions'];
    await this.writeStatus(d, status);
    // requeueStuckDeployment: come back when the progress deadline would pass.
    const cond = getCondition(conds, 'Progressing');
    if (hasProgressDeadline(d) && cond && cond.reason !== REASON.timedOut && !deploymentComplete(d, status)) {
      const last = parseTime(cond.lastUpdateTime) ?? this.ctx.runtime.now();
      const after = last + (d.spec.progressDeadlineSeconds ?? 600) * 1000 - this.ctx.runtime.now();
      return { requeueAfterMs: Math.max(1000, after + 1000) };
    }
    return undefined;
  }

  private timedOut(d: Deployment, cond: WorkloadCondition | undefined): boolean {
    if (!cond) return false;
    if (cond.reason === REASON.newRSAvailable) return false;
    if (cond.reason === REASON.timedOut) return true;
    const last = parseTime(cond.lastUpdateTime);
    if (last === undefined) return false;
    return last + (d.spec.progressDeadlineSeconds ?? 600) * 1000 < this.ctx.runtime.now();
  }
}

export const deploymentController: ControllerDescriptor = {
  name: 'deployment',
  start: (ctx) => new DeploymentController(ctx).run(),
};
