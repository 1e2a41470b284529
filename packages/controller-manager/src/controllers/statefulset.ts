// StatefulSet controller (upstream pkg/controller/statefulset): pods with stable ordinal names
// `<set>-<n>`, their own PVCs `<claim>-<set>-<n>` created before them, OrderedReady (one at a time,
// up in order, down in reverse) or Parallel, RollingUpdate (highest ordinal first, down to the
// partition) or OnDelete, ControllerRevisions and current/update revisions in status.
import {
  type ControllerRevision,
  controllerRef,
  isBeingDeleted,
  isPodReady,
  type KubeObject,
  type OwnerReference,
  type PersistentVolumeClaim,
  type Pod,
  type PodTemplateSpec,
  type StatefulSet,
  type Volume,
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
import { ControllerExpectations } from '../workload/expectations.js';
import { podFromTemplate } from '../workload/pod-template.js';
import { CONTROLLER_REVISION_HASH, syncRevisions, templateOf, truncateHistory } from '../workload/revisions.js';
import {
  claimObjects,
  errorMessage,
  isPodAvailable,
  newQueue,
  quietConflicts,
  sameJson,
  selectorOf,
} from '../workload/util.js';
import {
  claimCandidates,
  controllerUidIndex,
  POD_CONTROLLER_UID_INDEX,
  podOwnerHandler,
  withKind,
} from './replicaset.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

type SetStatus = NonNullable<StatefulSet['status']>;

/** The ordinal of `<set>-<n>`, or -1. */
export function ordinalOf(set: StatefulSet, pod: Pod): number {
  const prefix = `${set.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return -1;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : -1;
}

export function claimName(claim: PersistentVolumeClaim, set: StatefulSet, ordinal: number): string {
  return `${claim.metadata.name}-${set.metadata.name}-${ordinal}`;
}

function isRunningAndReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && isPodReady(p);
}
function isTerminated(p: Pod): boolean {
  return p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
}

export class StatefulSetController {
  readonly expectations: ControllerExpectations;
  private readonly setInformer: SharedIndexInformer<StatefulSet>;
  private readonly podInformer: SharedIndexInformer<Pod>;
  private readonly revInformer: SharedIndexInformer<ControllerRevision>;
  private readonly pvcInformer: SharedIndexInformer<PersistentVolumeClaim>;
  private readonly queue;
  private readonly recorder;

  constructor(private readonly ctx: ControllerContext) {
    this.expectations = new ControllerExpectations(ctx.runtime);
    this.setInformer = ctx.informers.forResource<StatefulSet>('statefulsets.apps');
    this.podInformer = ctx.informers.forResource<Pod>('pods', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.revInformer = ctx.informers.forResource<ControllerRevision>('controllerrevisions.apps', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.pvcInformer = ctx.informers.forResource<PersistentVolumeClaim>('persistentvolumeclaims');
    this.queue = newQueue(ctx, 'statefulset');
    this.recorder = ctx.recorder('statefulset-controller');
    const enqueue = (key: string) => this.queue.add(key);
    const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    this.setInformer.addEventHandler({
      onAdd: (s) => enqueue(keyOf(s)),
      onUpdate: (_o, s) => enqueue(keyOf(s)),
      onDelete: (obj) => {
        const s = obj instanceof DeletedFinalStateUnknown ? (obj.obj as StatefulSet) : obj;
        this.expectations.delete(keyOf(s));
      },
    });
    this.podInformer.addEventHandler(
      podOwnerHandler({
        kind: 'StatefulSet',
        owners: this.setInformer,
        expectations: this.expectations,
        enqueue,
        selectorOf: (s) => selectorOf(s.spec.selector),
        onReadinessChange: (key) => {
          const { namespace, name } = splitKey(key);
          const min = this.setInformer.get(namespace ?? '', name)?.spec.minReadySeconds ?? 0;
          if (min > 0) this.queue.addAfter(key, min * 1000 + 1);
        },
      }),
    );
  }

  run(workers = 1): RunningController {
    return runController({
      name: 'statefulset',
      runtime: this.ctx.runtime,
      informers: [this.setInformer, this.podInformer, this.revInformer, this.pvcInformer],
      queue: this.queue,
      workers,
      log: this.ctx.log,
      reconcile: quietConflicts(this.ctx.log, (key) => this.sync(key)),
    });
  }

  private pods(ns: string) {
    return this.ctx.api.resource<Pod>('pods', { namespace: ns });
  }

  async sync(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const cached = this.setInformer.get(ns, name);
    if (!cached) return undefined;
    const set = withKind(cached, 'StatefulSet');
    const selector = selectorOf(set.spec.selector);
    if (selector.empty) return undefined;
    const pods = await claimObjects<Pod>({
      owner: set,
      ownerRef: controllerRef(set),
      selector,
      candidates: claimCandidates(this.podInformer, set),
      client: this.pods(ns),
      // upstream adopts only pods whose name is one of this set's ordinals
      canAdopt: (p) => ordinalOf(set, p) >= 0,
    });
    const revClient = this.ctx.api.resource<ControllerRevision>('controllerrevisions.apps', { namespace: ns });
    const owned = this.revInformer.store.byIndex(POD_CONTROLLER_UID_INDEX, set.metadata.uid ?? '');
    const revs = await syncRevisions({
      client: revClient,
      owner: set,
      owned,
      template: set.spec.template,
      collisionCount: set.status?.collisionCount ?? 0,
    });
    const updateRevision = revs.update;
    const currentRevision = revs.all.find((r) => r.metadata.name === set.status?.currentRevision) ?? updateRevision;
    let status: SetStatus;
    let requeue: number | undefined;
    if (this.expectations.satisfied(key) && !isBeingDeleted(set)) {
      const r = await this.update(key, set, pods, currentRevision, updateRevision);
      status = r.status;
      requeue = r.requeueAfterMs;
    } else {
      status = this.computeStatus(set, pods, currentRevision, updateRevision);
    }
    status.collisionCount = revs.collisionCount;
    await this.writeStatus(set, status);
    const live = new Set([status.currentRevision ?? '', status.updateRevision ?? '']);
    for (const p of pods) live.add(p.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? '');
    await truncateHistory(revClient, revs.all, live, set.spec.revisionHistoryLimit ?? 10);
    return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
  }

  private newPod(set: StatefulSet, rev: ControllerRevision, ordinal: number): Pod {
    const template: PodTemplateSpec = templateOf(rev) ?? set.spec.template;
    const name = `${set.metadata.name}-${ordinal}`;
    const pod = podFromTemplate(template, set, controllerRef(set), {
      name,
      extraLabels: {
        [CONTROLLER_REVISION_HASH]: rev.metadata.name ?? '',
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
      },
    });
    pod.spec.hostname = name;
    if (set.spec.serviceName) pod.spec.subdomain = set.spec.serviceName;
    // updateStorage: each claim template becomes this ordinal's PVC, replacing a same-named volume.
    const claims = set.spec.volumeClaimTemplates ?? [];
    const volumes: Volume[] = (pod.spec.volumes ?? []).filter((v) => !claims.some((c) => c.metadata.name === v.name));
    for (const c of claims) {
      volumes.push({ name: c.metadata.name ?? '', persistentVolumeClaim: { claimName: claimName(c, set, ordinal) } });
    }
    if (volumes.length > 0) pod.spec.volumes = volumes;
    return pod;
  }

  private async createClaims(set: StatefulSet, pod: Pod, ordinal: number): Promise<void> {
    const ns = set.metadata.namespace ?? '';
    const client = this.ctx.api.resource<PersistentVolumeClaim>('persistentvolumeclaims', { namespace: ns });
    for (const tmpl of set.spec.volumeClaimTemplates ?? []) {
      const name = claimName(tmpl, set, ordinal);
      if (this.pvcInformer.get(ns, name)) continue;
      const claim: PersistentVolumeClaim = {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(tmpl.metadata.labels ?? {}), ...(set.spec.selector.matchLabels ?? {}) },
          ...(retention(set).whenDeleted === 'Delete' ? { ownerReferences: [plainRef(set)] } : {}),
          ...(tmpl.metadata.annotations ? { annotations: { ...tmpl.metadata.annotations } } : {}),
        },
        spec: structuredClone(tmpl.spec ?? {}),
      };
      try {
        await client.create(claim);
        void this.recorder.event(
          set,
          'Normal',
          'SuccessfulCreate',
          `create Claim ${name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`,
        );
      } catch (err) {
        if (isAlreadyExists(err)) continue;
        void this.recorder.event(
          set,
          'Warning',
          'FailedCreate',
          `create Claim ${name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${errorMessage(err)}`,
        );
        throw err;
      }
    }
  }

  /**
   * updateClaimOwnerRefForSetAndPod: `whenDeleted: Delete` makes the set an owner of its claims,
   * `whenScaled: Delete` makes a scaled-down pod the owner of its claims (the garbage collector then
   * deletes them); Retain removes those references again.
   */
  private async syncClaimOwners(set: StatefulSet, pod: Pod, ordinal: number, inRange: boolean): Promise<void> {
    const policy = retention(set);
    const ns = set.metadata.namespace ?? '';
    const client = this.ctx.api.resource<PersistentVolumeClaim>('persistentvolumeclaims', { namespace: ns });
    for (const tmpl of set.spec.volumeClaimTemplates ?? []) {
      const claim = this.pvcInformer.get(ns, claimName(tmpl, set, ordinal));
      if (!claim) continue;
      const wantSet = policy.whenDeleted === 'Delete' && (inRange || policy.whenScaled !== 'Delete');
      const wantPod = policy.whenScaled === 'Delete' && !inRange;
      let refs = (claim.metadata.ownerReferences ?? []).filter(
        (r) => r.uid !== set.metadata.uid && r.uid !== pod.metadata.uid,
      );
      if (wantSet) refs = [...refs, plainRef(set)];
      if (wantPod) refs = [...refs, plainRef(withKind(pod, 'Pod', 'v1'))];
      const before = (claim.metadata.ownerReferences ?? []).map((r) => r.uid).sort();
      if (sameJson(before, refs.map((r) => r.uid).sort())) continue;
      const copy = structuredClone(claim);
      copy.metadata.ownerReferences = refs;
      try {
        await client.update(copy);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async createPod(key: string, set: StatefulSet, pod: Pod, ordinal: number): Promise<void> {
    await this.createClaims(set, pod, ordinal);
    this.expectations.raise(key, 1);
    try {
      await this.pods(set.metadata.namespace ?? '').create(pod);
      void this.recorder.event(
        set,
        'Normal',
        'SuccessfulCreate',
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (err) {
      this.expectations.creationObserved(key);
      if (isAlreadyExists(err)) return;
      void this.recorder.event(
        set,
        'Warning',
        'FailedCreate',
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${errorMessage(err)}`,
      );
      throw err;
    }
  }

  private async deletePod(key: string, set: StatefulSet, pod: Pod): Promise<void> {
    this.expectations.raise(key, 0, [pod.metadata.uid ?? '']);
    try {
      await this.pods(set.metadata.namespace ?? '').delete(pod.metadata.name ?? '', {
        preconditions: { uid: pod.metadata.uid ?? '' },
      });
      void this.recorder.event(
        set,
        'Normal',
        'SuccessfulDelete',
        `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (err) {
      this.expectations.deletionObserved(key, pod.metadata.uid ?? '');
      if (isNotFound(err)) return;
      void this.recorder.event(
        set,
        'Warning',
        'FailedDelete',
        `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${errorMessage(err)}`,
      );
      throw err;
    }
  }

  /** defaultStatefulSetControl.updateStatefulSet, one step per sync for OrderedReady. */
  private async update(
    key: string,
    set: StatefulSet,
    pods: Pod[],
    current: ControllerRevision,
    update: ControllerRevision,
  ): Promise<{ status: SetStatus; requeueAfterMs?: number }> {
    const replicaCount = set.spec.replicas ?? 1;
    const start = set.spec.ordinals?.start ?? 0;
    const monotonic = (set.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    const minReady = set.spec.minReadySeconds ?? 0;
    const now = this.ctx.runtime.now();
    const rolling = (set.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rolling ? (set.spec.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    const slots: (Pod | undefined)[] = Array.from({ length: replicaCount }, () => undefined);
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(set, p);
      if (ord >= start && ord < start + replicaCount) slots[ord - start] = p;
      else if (ord >= 0) condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(set, b) - ordinalOf(set, a));
    const revisionFor = (ordinal: number) => (rolling && ordinal - start < partition ? current : update);
    const healthy = (p: Pod) => isRunningAndReady(p) && !isBeingDeleted(p) && isPodAvailable(p, minReady, now);
    const done = (extra?: number) => ({
      status: this.computeStatus(set, pods, current, update),
      ...(extra ? { requeueAfterMs: extra } : {}),
    });

    for (let i = 0; i < replicaCount; i++) {
      const ordinal = start + i;
      let pod = slots[i];
      if (pod && isTerminated(pod) && !isBeingDeleted(pod)) {
        // A failed or completed stateful pod is replaced under the same identity.
        await this.deletePod(key, set, pod);
        return done();
      }
      if (!pod) {
        pod = this.newPod(set, revisionFor(ordinal), ordinal);
        await this.createPod(key, set, pod, ordinal);
        if (monotonic) return done();
        continue;
      }
      // Existing pod: its claims must exist (they may have been deleted meanwhile) and carry the
      // owner references the retention policy asks for.
      await this.createClaims(set, pod, ordinal);
      if (!isBeingDeleted(pod)) await this.syncClaimOwners(set, pod, ordinal, true);
      if (monotonic && isBeingDeleted(pod)) return done();
      if (monotonic && !healthy(pod)) {
        const wait = isRunningAndReady(pod) && minReady > 0 ? minReady * 1000 : undefined;
        return done(wait);
      }
    }
    for (const pod of condemned) {
      if (isBeingDeleted(pod)) {
        if (monotonic) return done();
        continue;
      }
      if (monotonic) {
        const unhealthy = [...slots, ...condemned].find(
          (p) => p && p !== pod && !healthy(p) && ordinalOf(set, p) < ordinalOf(set, pod),
        );
        if (unhealthy) return done();
      }
      // whenScaled: Delete hands the claims to the pod, so the garbage collector removes them with it.
      await this.syncClaimOwners(set, pod, ordinalOf(set, pod), false);
      await this.deletePod(key, set, pod);
      if (monotonic) return done();
    }
    if (!rolling) return done();
    // Rolling update: highest ordinal first, one pod at a time, waiting for each to be healthy.
    for (let i = replicaCount - 1; i >= partition; i--) {
      const pod = slots[i];
      if (!pod) return done();
      if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH] !== update.metadata.name && !isBeingDeleted(pod)) {
        if (slots.some((p) => p && p !== pod && !healthy(p))) return done();
        await this.deletePod(key, set, pod);
        return done();
      }
      if (!healthy(pod)) return done();
    }
    return done();
  }

  private computeStatus(
    set: StatefulSet,
    pods: Pod[],
    current: ControllerRevision,
    update: ControllerRevision,
  ): SetStatus {
    const now = this.ctx.runtime.now();
    const minReady = set.spec.minReadySeconds ?? 0;
    const mine = pods.filter((p) => ordinalOf(set, p) >= 0);
    const s: SetStatus = {
      observedGeneration: set.metadata.generation ?? 0,
      replicas: mine.length,
      readyReplicas: mine.filter(isRunningAndReady).length,
      availableReplicas: mine.filter((p) => isRunningAndReady(p) && isPodAvailable(p, minReady, now)).length,
      currentReplicas: mine.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === current.metadata.name)
        .length,
      updatedReplicas: mine.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === update.metadata.name)
        .length,
      currentRevision: current.metadata.name ?? '',
      updateRevision: update.metadata.name ?? '',
    };
    // completeRollingUpdate: once every pod runs the update revision and is ready, it becomes current.
    if (s.updatedReplicas === s.replicas && s.readyReplicas === s.replicas && s.replicas === (set.spec.replicas ?? 1)) {
      s.currentRevision = s.updateRevision;
      s.currentReplicas = s.updatedReplicas;
    }
    return s;
  }

  private async writeStatus(set: StatefulSet, status: SetStatus): Promise<void> {
    const cur = set.status ?? { replicas: 0 };
    const keys: (keyof SetStatus)[] = [
      'observedGeneration',
      'replicas',
      'readyReplicas',
      'availableReplicas',
      'currentReplicas',
      'updatedReplicas',
      'currentRevision',
      'updateRevision',
      'collisionCount',
    ];
    if (keys.every((k) => (cur[k] ?? 0) === (status[k] ?? 0))) return;
    const copy = structuredClone(set);
    copy.status = { ...(set.status ?? {}), ...status };
    try {
      await this.ctx.api
        .resource<StatefulSet>('statefulsets.apps', { namespace: set.metadata.namespace ?? '' })
        .updateStatus(copy);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function retention(set: StatefulSet): { whenDeleted: 'Retain' | 'Delete'; whenScaled: 'Retain' | 'Delete' } {
  const p = set.spec.persistentVolumeClaimRetentionPolicy;
  return { whenDeleted: p?.whenDeleted ?? 'Retain', whenScaled: p?.whenScaled ?? 'Retain' };
}

/** setOwnerRef: a plain (non-controller) owner reference, as upstream puts on retained claims. */
function plainRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
  };
}

export const statefulSetController: ControllerDescriptor = {
  name: 'statefulset',
  start: (ctx) => new StatefulSetController(ctx).run(),
};
