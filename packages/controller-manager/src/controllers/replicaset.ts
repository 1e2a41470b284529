// ReplicaSet controller (upstream pkg/controller/replicaset): keeps `spec.replicas` active pods that
// match the selector, adopting orphans and releasing pods that stop matching, and reports status.
import {
  controllerOf,
  controllerRef,
  isBeingDeleted,
  isPodActive,
  isPodReady,
  type KubeObject,
  type Pod,
  type ReplicaSet,
} from '@kemu/api';
import {
  DeletedFinalStateUnknown,
  type EventHandler,
  isAlreadyExists,
  isNotFound,
  runController,
  type SharedIndexInformer,
  splitKey,
} from '@kemu/client';
import type { ControllerContext, ControllerDescriptor, RunningController } from '../context.js';
import { ControllerExpectations } from '../workload/expectations.js';
import { podFromTemplate } from '../workload/pod-template.js';
import {
  claimObjects,
  deletionOrder,
  errorMessage,
  isPodAvailable,
  msUntilAvailable,
  newQueue,
  ownerKey,
  quietConflicts,
  sameJson,
  selectorOf,
} from '../workload/util.js';

/** Upstream's burstReplicas: at most this many creates or deletes per sync. */
export const BURST_REPLICAS = 500;
export const POD_CONTROLLER_UID_INDEX = 'controllerUid';

/** Index key of objects without a controller (candidates for adoption). */
export const ORPHAN_KEY = '';

/** Objects by their controller's uid; orphans under ORPHAN_KEY. */
export function controllerUidIndex(obj: KubeObject): string[] {
  const ref = controllerOf(obj);
  return [ref ? ref.uid : ORPHAN_KEY];
}

/**
 * What an owner may claim: the objects it controls plus the orphans in its namespace, from the
 * controller-uid index instead of a scan of the whole namespace (which made every sync cost the
 * namespace's size).
 */
export function claimCandidates<T extends KubeObject>(informer: SharedIndexInformer<T>, owner: KubeObject): T[] {
  const ns = owner.metadata.namespace ?? '';
  const owned = informer.store.byIndex(POD_CONTROLLER_UID_INDEX, owner.metadata.uid ?? '');
  const orphans = informer.store
    .byIndex(POD_CONTROLLER_UID_INDEX, ORPHAN_KEY)
    .filter((o) => (o.metadata.namespace ?? '') === ns);
  return [...owned, ...orphans];
}

/**
 * Pod handlers for a controller of `kind` owners: count expectations down and enqueue the owner; an
 * orphan wakes every owner whose selector matches it (so it can be adopted).
 */
export function podOwnerHandler<O extends KubeObject>(opts: {
  kind: string;
  owners: SharedIndexInformer<O>;
  expectations: ControllerExpectations;
  enqueue: (key: string) => void;
  selectorOf: (owner: O) => ReturnType<typeof selectorOf>;
  onReadinessChange?: (key: string, pod: Pod) => void;
}): EventHandler<Pod> {
  const lookup = (ns: string, name: string) => opts.owners.get(ns, name);
  const orphanOwners = (pod: Pod): string[] =>
    opts.owners
      .list({ namespace: pod.metadata.namespace ?? '' })
      .filter((o) => opts.selectorOf(o).matches(pod.metadata.labels) && !opts.selectorOf(o).empty)
      .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  return {
    onAdd: (pod) => {
      if (isBeingDeleted(pod)) {
        const key = ownerKey(pod, opts.kind, lookup);
        if (key) {
          opts.expectations.deletionObserved(key, pod.metadata.uid ?? '');
          opts.enqueue(key);
        }
        return;
      }
      const key = ownerKey(pod, opts.kind, lookup);
      if (key) {
        opts.expectations.creationObserved(key);
        opts.enqueue(key);
        return;
      }
      if (!controllerOf(pod)) for (const k of orphanOwners(pod)) opts.enqueue(k);
    },
    onUpdate: (old, pod) => {
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      const oldKey = ownerKey(old, opts.kind, lookup);
      const key = ownerKey(pod, opts.kind, lookup);
      if (isBeingDeleted(pod) && !isBeingDeleted(old) && key) {
        // A graceful delete: the pod is no longer active, which is what the deleting owner waited for.
        opts.expectations.deletionObserved(key, pod.metadata.uid ?? '');
      }
      if (oldKey && oldKey !== key) opts.enqueue(oldKey);
      if (key) {
        opts.enqueue(key);
        if (!isPodReady(old) && isPodReady(pod)) opts.onReadinessChange?.(key, pod);
        return;
      }
      if (!controllerOf(pod)) {
        const labelsChanged = !sameJson(old.metadata.labels, pod.metadata.labels);
        if (labelsChanged || oldKey) for (const k of orphanOwners(pod)) opts.enqueue(k);
      }
    },
    onDelete: (obj) => {
      const pod = obj instanceof DeletedFinalStateUnknown ? (obj.obj as Pod) : obj;
      const key = ownerKey(pod, opts.kind, lookup);
      if (!key) return;
      opts.expectations.deletionObserved(key, pod.metadata.uid ?? '');
      opts.enqueue(key);
    },
  };
}

export class ReplicaSetController {
  readonly expectations: ControllerExpectations;
  private readonly rsInformer: SharedIndexInformer<ReplicaSet>;
  private readonly podInformer: SharedIndexInformer<Pod>;
  private readonly queue;
  private readonly recorder;

  constructor(private readonly ctx: ControllerContext) {
    this.expectations = new ControllerExpectations(ctx.runtime);
    this.rsInformer = ctx.informers.forResource<ReplicaSet>('replicasets.apps');
    this.podInformer = ctx.informers.forResource<Pod>('pods', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.queue = newQueue(ctx, 'replicaset');
    this.recorder = ctx.recorder('replicaset-controller');
    const enqueue = (key: string) => this.queue.add(key);
    this.rsInformer.addEventHandler({
      onAdd: (rs) => enqueue(keyOf(rs)),
      onUpdate: (_old, rs) => enqueue(keyOf(rs)),
      onDelete: (obj) => {
        const rs = obj instanceof DeletedFinalStateUnknown ? (obj.obj as ReplicaSet) : obj;
        this.expectations.delete(keyOf(rs));
        enqueue(keyOf(rs));
      },
    });
    this.podInformer.addEventHandler(
      podOwnerHandler({
        kind: 'ReplicaSet',
        owners: this.rsInformer,
        expectations: this.expectations,
        enqueue,
        selectorOf: (rs) => selectorOf(rs.spec.selector),
        onReadinessChange: (key) => {
          // Availability needs minReadySeconds more; come back then (upstream's AddAfter).
          const { namespace, name } = splitKey(key);
          const rs = this.rsInformer.get(namespace ?? '', name);
          const min = rs?.spec.minReadySeconds ?? 0;
          if (min > 0) this.queue.addAfter(key, min * 1000 + 1);
        },
      }),
    );
  }

  run(workers = 2): RunningController {
    return runController({
      name: 'replicaset',
      runtime: this.ctx.runtime,
      informers: [this.rsInformer, this.podInformer],
      queue: this.queue,
      workers,
      log: this.ctx.log,
      reconcile: quietConflicts(this.ctx.log, (key) => this.sync(key)),
    });
  }

  async sync(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const rs = this.rsInformer.get(ns, name);
    if (!rs) {
      this.expectations.delete(key);
      return undefined;
    }
    const selector = selectorOf(rs.spec.selector);
    const needsSync = this.expectations.satisfied(key) && !isBeingDeleted(rs);
    const candidates = claimCandidates(this.podInformer, rs).filter(isPodActive);
    const pods = await claimObjects<Pod>({
      owner: rs,
      ownerRef: controllerRef(withKind(rs)),
      selector,
      candidates,
      client: this.ctx.api.resource<Pod>('pods', { namespace: ns }),
    });
    let manageError: unknown;
    if (needsSync) {
      try {
        await this.manageReplicas(key, pods, rs);
      } catch (err) {
        manageError = err;
      }
    }
    const requeue = await this.updateStatus(rs, pods);
    if (manageError) throw manageError;
    return requeue;
  }

  private async manageReplicas(key: string, pods: Pod[], rs: ReplicaSet): Promise<void> {
    const ns = rs.metadata.namespace ?? '';
    const podsApi = this.ctx.api.resource<Pod>('pods', { namespace: ns });
    const want = rs.spec.replicas ?? 1;
    const diff = pods.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, n);
      const template = rs.spec.template;
      if (!template) return;
      const ref = controllerRef(withKind(rs));
      const created = await slowStartBatch(n, 1, async () => {
        const pod = podFromTemplate(template, rs, ref, { generateName: `${rs.metadata.name}-` });
        try {
          const out = await podsApi.create(pod);
          void this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${out.metadata.name}`);
        } catch (err) {
          if (isAlreadyExists(err)) return; // a generated name collided; the next sync makes another
          void this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          throw err;
        }
      });
      // Creates that were skipped or failed will never be observed.
      for (let i = created; i < n; i++) this.expectations.creationObserved(key);
      if (created < n) throw new Error(`created ${created} of ${n} pods for ReplicaSet ${key}`);
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, BURST_REPLICAS);
      const onNode = new Map<string, number>();
      for (const p of pods) if (p.spec.nodeName) onNode.set(p.spec.nodeName, (onNode.get(p.spec.nodeName) ?? 0) + 1);
      const victims = [...pods]
        .sort((a, b) => deletionOrder(a, b, (p) => (p.spec.nodeName ? (onNode.get(p.spec.nodeName) ?? 0) : 0)))
        .slice(0, n);
      this.expectations.expectDeletions(
        key,
        victims.map((p) => p.metadata.uid ?? ''),
      );
      const errors: unknown[] = [];
      await Promise.all(
        victims.map(async (p) => {
          try {
            await podsApi.delete(p.metadata.name ?? '', { preconditions: { uid: p.metadata.uid ?? '' } });
            void this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (err) {
            this.expectations.deletionObserved(key, p.metadata.uid ?? '');
            if (isNotFound(err)) return;
            void this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
            errors.push(err);
          }
        }),
      );
      if (errors.length > 0) throw errors[0];
    }
  }

  private async updateStatus(rs: ReplicaSet, pods: Pod[]): Promise<{ requeueAfterMs: number } | undefined> {
    const now = this.ctx.runtime.now();
    const min = rs.spec.minReadySeconds ?? 0;
    const templateLabels = rs.spec.template?.metadata?.labels ?? {};
    let ready = 0;
    let available = 0;
    let fullyLabeled = 0;
    let nextAvailableIn: number | undefined;
    for (const p of pods) {
      const labels = p.metadata.labels ?? {};
      if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
      if (isPodReady(p)) {
        ready++;
        if (isPodAvailable(p, min, now)) available++;
        else {
          const wait = msUntilAvailable(p, min, now);
          if (wait !== undefined) nextAvailableIn = Math.min(nextAvailableIn ?? wait, wait);
        }
      }
    }
    const status: NonNullable<ReplicaSet['status']> = {
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 0,
    };
    if (rs.status?.conditions && rs.status.conditions.length > 0) status.conditions = rs.status.conditions;
    const current = rs.status ?? { replicas: 0 };
    const unchanged =
      current.replicas === status.replicas &&
      (current.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
      (current.readyReplicas ?? 0) === status.readyReplicas &&
      (current.availableReplicas ?? 0) === status.availableReplicas &&
      (current.observedGeneration ?? 0) === status.observedGeneration;
    if (!unchanged) {
      const copy = structuredClone(rs);
      copy.status = status;
      try {
        await this.ctx.api
          .resource<ReplicaSet>('replicasets.apps', { namespace: rs.metadata.namespace ?? '' })
          .updateStatus(copy);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return nextAvailableIn !== undefined ? { requeueAfterMs: nextAvailableIn + 1 } : undefined;
  }
}

/** Objects from the watch cache may lack kind/apiVersion; controller refs need them. */
export function withKind<T extends KubeObject>(obj: T, kind = 'ReplicaSet', apiVersion = 'apps/v1'): T {
  return obj.kind ? obj : { ...obj, kind, apiVersion };
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/**
 * controller.slowStartBatch: run `fn` `count` times in batches of 1, 2, 4, … while every call in a
 * batch succeeds, so a failing create (quota, admission) costs one call, not hundreds. Returns how
 * many calls succeeded.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<number> {
  let remaining = count;
  let ok = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const good = results.filter((r) => r.status === 'fulfilled').length;
    ok += good;
    if (good !== batch) break;
    remaining -= batch;
  }
  return ok;
}

export const replicaSetController: ControllerDescriptor = {
  name: 'replicaset',
  start: (ctx) => new ReplicaSetController(ctx).run(),
};
