// DaemonSet controller (upstream pkg/controller/daemon): one pod per eligible node. Eligibility is
// nodeSelector + required node affinity + taints (with the default daemon tolerations); each pod is
// pinned with required node affinity `matchFields metadata.name In [node]` so the scheduler places
// it (upstream has not set nodeName directly since 1.12). RollingUpdate replaces old pods within
// maxUnavailable; OnDelete waits for pods to be deleted.
import {
  type Affinity,
  type ControllerRevision,
  controllerRef,
  type DaemonSet,
  isBeingDeleted,
  isPodReady,
  type KubeObject,
  type Node,
  type Pod,
} from '@kemu/api';
import { DeletedFinalStateUnknown, isNotFound, runController, type SharedIndexInformer, splitKey } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor, RunningController } from '../context.js';
import { ControllerExpectations } from '../workload/expectations.js';
import { daemonTolerations, nodeMatchesPod, untoleratedTaint } from '../workload/node-fit.js';
import { podFromTemplate } from '../workload/pod-template.js';
import { CONTROLLER_REVISION_HASH, syncRevisions, truncateHistory } from '../workload/revisions.js';
import {
  claimObjects,
  errorMessage,
  isPodAvailable,
  newQueue,
  quietConflicts,
  sameJson,
  scaledValue,
  selectorOf,
} from '../workload/util.js';
import {
  claimCandidates,
  controllerUidIndex,
  POD_CONTROLLER_UID_INDEX,
  podOwnerHandler,
  slowStartBatch,
  withKind,
} from './replicaset.js';

export const POD_TEMPLATE_GENERATION = 'pod-template-generation';

/** util.ReplaceDaemonSetPodNodeNameNodeAffinity. */
export function pinToNode(affinity: Affinity | undefined, node: string): Affinity {
  const required = {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In' as const, values: [node] }] }],
  };
  const a: Affinity = structuredClone(affinity ?? {});
  a.nodeAffinity = { ...(a.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: required };
  return a;
}

/** util.GetTargetNodeName: the pod's node, or the one its matchFields affinity pins it to. */
export function targetNode(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  for (const t of pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ??
    []) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

type DsStatus = NonNullable<DaemonSet['status']>;

export class DaemonSetController {
  readonly expectations: ControllerExpectations;
  private readonly dsInformer: SharedIndexInformer<DaemonSet>;
  private readonly podInformer: SharedIndexInformer<Pod>;
  private readonly nodeInformer: SharedIndexInformer<Node>;
  private readonly revInformer: SharedIndexInformer<ControllerRevision>;
  private readonly queue;
  private readonly recorder;

  constructor(private readonly ctx: ControllerContext) {
    this.expectations = new ControllerExpectations(ctx.runtime);
    this.dsInformer = ctx.informers.forResource<DaemonSet>('daemonsets.apps');
    this.podInformer = ctx.informers.forResource<Pod>('pods', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.nodeInformer = ctx.informers.forResource<Node>('nodes');
    this.revInformer = ctx.informers.forResource<ControllerRevision>('controllerrevisions.apps', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.queue = newQueue(ctx, 'daemonset');
    this.recorder = ctx.recorder('daemonset-controller');
    const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    const enqueue = (key: string) => this.queue.add(key);
    const enqueueAll = () => {
      for (const ds of this.dsInformer.list()) enqueue(keyOf(ds));
    };
    this.dsInformer.addEventHandler({
      onAdd: (d) => enqueue(keyOf(d)),
      onUpdate: (_o, d) => enqueue(keyOf(d)),
      onDelete: (obj) =>
        this.expectations.delete(keyOf(obj instanceof DeletedFinalStateUnknown ? (obj.obj as DaemonSet) : obj)),
    });
    this.podInformer.addEventHandler(
      podOwnerHandler({
        kind: 'DaemonSet',
        owners: this.dsInformer,
        expectations: this.expectations,
        enqueue,
        selectorOf: (d) => selectorOf(d.spec.selector),
        onReadinessChange: (key) => {
          const { namespace, name } = splitKey(key);
          const min = this.dsInformer.get(namespace ?? '', name)?.spec.minReadySeconds ?? 0;
          if (min > 0) this.queue.addAfter(key, min * 1000 + 1);
        },
      }),
    );
    this.nodeInformer.addEventHandler({
      onAdd: enqueueAll,
      onUpdate: (old, node) => {
        // Only what changes eligibility or availability matters (not every heartbeat).
        const relevant =
          !sameJson(old.metadata.labels, node.metadata.labels) ||
          !sameJson(old.spec?.taints, node.spec?.taints) ||
          old.spec?.unschedulable !== node.spec?.unschedulable;
        if (relevant) enqueueAll();
      },
      onDelete: enqueueAll,
    });
  }

  run(workers = 2): RunningController {
    return runController({
      name: 'daemonset',
      runtime: this.ctx.runtime,
      informers: [this.dsInformer, this.podInformer, this.nodeInformer, this.revInformer],
      queue: this.queue,
      workers,
      log: this.ctx.log,
      reconcile: quietConflicts(this.ctx.log, (key) => this.sync(key)),
    });
  }

  private podsApi(ns: string) {
    return this.ctx.api.resource<Pod>('pods', { namespace: ns });
  }

  /** nodeShouldRunDaemonPod: (should run a new pod, may keep running an existing one). */
  shouldRun(ds: DaemonSet, node: Node): { run: boolean; keep: boolean } {
    const spec = { ...ds.spec.template.spec, tolerations: daemonTolerations(ds.spec.template.spec) };
    if (!nodeMatchesPod(spec, node)) return { run: false, keep: false };
    const taint = untoleratedTaint(spec.tolerations, node);
    if (!taint) return { run: true, keep: true };
    return { run: false, keep: taint.effect !== 'NoExecute' };
  }

  async sync(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const cached = this.dsInformer.get(ns, name);
    if (!cached) {
      this.expectations.delete(key);
      return undefined;
    }
    const ds = withKind(cached, 'DaemonSet');
    const selector = selectorOf(ds.spec.selector);
    if (selector.empty) return undefined;
    const pods = await claimObjects<Pod>({
      owner: ds,
      ownerRef: controllerRef(ds),
      selector,
      candidates: claimCandidates(this.podInformer, ds),
      client: this.podsApi(ns),
    });
    const revClient = this.ctx.api.resource<ControllerRevision>('controllerrevisions.apps', { namespace: ns });
    const revs = await syncRevisions({
      client: revClient,
      owner: ds,
      owned: this.revInformer.store.byIndex(POD_CONTROLLER_UID_INDEX, ds.metadata.uid ?? ''),
      template: ds.spec.template,
      collisionCount: ds.status?.collisionCount ?? 0,
    });
    const hash = revs.update.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? '';
    const nodes = this.nodeInformer.list();
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = targetNode(p);
      if (n === undefined) continue;
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    let requeue: number | undefined;
    if (this.expectations.satisfied(key) && !isBeingDeleted(ds)) {
      requeue = await this.manage(key, ds, nodes, byNode, hash);
    }
    await this.writeStatus(ds, nodes, byNode, hash, revs.collisionCount);
    const live = new Set<string>([revs.update.metadata.name ?? '']);
    for (const r of revs.all) {
      const h = r.metadata.labels?.[CONTROLLER_REVISION_HASH];
      if (pods.some((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === h)) live.add(r.metadata.name ?? '');
    }
    await truncateHistory(revClient, revs.all, live, ds.spec.revisionHistoryLimit ?? 10);
    return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
  }

  private async manage(
    key: string,
    ds: DaemonSet,
    nodes: Node[],
    byNode: Map<string, Pod[]>,
    hash: string,
  ): Promise<number | undefined> {
    const toCreate: string[] = [];
    const toDelete: Pod[] = [];
    for (const node of nodes) {
      const nodeName = node.metadata.name ?? '';
      const { run, keep } = this.shouldRun(ds, node);
      const pods = (byNode.get(nodeName) ?? []).filter((p) => !isBeingDeleted(p));
      if (run && pods.length === 0) {
        // Wait for terminating pods on the node to go first (upstream does the same).
        if ((byNode.get(nodeName) ?? []).length === 0) toCreate.push(nodeName);
        continue;
      }
      if (!keep) {
        toDelete.push(...pods);
        continue;
      }
      const failed = pods.filter((p) => p.status?.phase === 'Failed');
      toDelete.push(...failed);
      const running = pods.filter((p) => p.status?.phase !== 'Failed');
      if (running.length > 1) {
        // Keep the oldest daemon pod on the node, delete the rest.
        const sorted = [...running].sort((a, b) =>
          (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
        );
        toDelete.push(...sorted.slice(1));
      }
    }
    // Rolling update: replace old pods within maxUnavailable.
    if ((ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      toDelete.push(...this.rollingUpdateVictims(ds, nodes, byNode, hash, new Set(toDelete)));
    }
    if (toCreate.length > 0 || toDelete.length > 0) {
      this.expectations.expect(
        key,
        toCreate.length,
        toDelete.map((p) => p.metadata.uid ?? ''),
      );
    }
    const ns = ds.metadata.namespace ?? '';
    let firstError: unknown;
    let i = 0;
    const created = await slowStartBatch(toCreate.length, 1, async () => {
      const nodeName = toCreate[i++] as string;
      const pod = podFromTemplate(ds.spec.template, ds, controllerRef(ds), {
        generateName: `${ds.metadata.name}-`,
        extraLabels: {
          [CONTROLLER_REVISION_HASH]: hash,
          [POD_TEMPLATE_GENERATION]: String(ds.metadata.generation ?? 1),
        },
      });
      pod.spec.tolerations = daemonTolerations(pod.spec);
      pod.spec.affinity = pinToNode(pod.spec.affinity, nodeName);
      try {
        const out = await this.podsApi(ns).create(pod);
        void this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${out.metadata.name}`);
      } catch (err) {
        void this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
        throw err;
      }
    });
    for (let k = created; k < toCreate.length; k++) this.expectations.creationObserved(key);
    if (created < toCreate.length)
      firstError = new Error(`created ${created} of ${toCreate.length} daemon pods for ${key}`);
    for (const p of toDelete) {
      try {
        await this.podsApi(ns).delete(p.metadata.name ?? '', { preconditions: { uid: p.metadata.uid ?? '' } });
        void this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (err) {
        this.expectations.deletionObserved(key, p.metadata.uid ?? '');
        if (!isNotFound(err)) firstError ??= err;
      }
    }
    if (firstError) throw firstError;
    // Pods that are ready but not yet available: come back when minReadySeconds has passed.
    const min = ds.spec.minReadySeconds ?? 0;
    if (min > 0) {
      const now = this.ctx.runtime.now();
      const pending = [...byNode.values()].flat().some((p) => isPodReady(p) && !isPodAvailable(p, min, now));
      if (pending) return min * 1000;
    }
    return undefined;
  }

  private rollingUpdateVictims(
    ds: DaemonSet,
    nodes: Node[],
    byNode: Map<string, Pod[]>,
    hash: string,
    already: Set<Pod>,
  ): Pod[] {
    const now = this.ctx.runtime.now();
    const min = ds.spec.minReadySeconds ?? 0;
    const desired = nodes.filter((n) => this.shouldRun(ds, n).run).length;
    const maxUnavailable = scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable, desired, true, 1);
    let unavailable = 0;
    const allowed: Pod[] = [];
    const candidates: Pod[] = [];
    for (const node of nodes) {
      if (!this.shouldRun(ds, node).run) continue;
      const pods = (byNode.get(node.metadata.name ?? '') ?? []).filter((p) => !isBeingDeleted(p) && !already.has(p));
      if (pods.length !== 1) {
        unavailable++;
        continue;
      }
      const pod = pods[0] as Pod;
      const available = isPodAvailable(pod, min, now);
      if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash) {
        if (!available) unavailable++;
        continue;
      }
      if (!available) {
        // An old pod that is not available anyway can be replaced without spending the budget.
        unavailable++;
        allowed.push(pod);
      } else candidates.push(pod);
    }
    const remaining = Math.max(0, Math.min(maxUnavailable - unavailable, candidates.length));
    return [...allowed, ...candidates.slice(0, remaining)];
  }

  private async writeStatus(
    ds: DaemonSet,
    nodes: Node[],
    byNode: Map<string, Pod[]>,
    hash: string,
    collisionCount: number,
  ): Promise<void> {
    const now = this.ctx.runtime.now();
    const min = ds.spec.minReadySeconds ?? 0;
    const s: DsStatus = {
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
      updatedNumberScheduled: 0,
      numberAvailable: 0,
      numberUnavailable: 0,
      observedGeneration: ds.metadata.generation ?? 0,
    };
    if (collisionCount > 0) s.collisionCount = collisionCount;
    for (const node of nodes) {
      const { run } = this.shouldRun(ds, node);
      const pods = (byNode.get(node.metadata.name ?? '') ?? []).filter((p) => !isBeingDeleted(p));
      if (run) s.desiredNumberScheduled++;
      if (pods.length === 0) continue;
      if (!run) {
        s.numberMisscheduled++;
        continue;
      }
      s.currentNumberScheduled++;
      const pod = pods[0] as Pod;
      if (isPodReady(pod)) s.numberReady++;
      if (isPodAvailable(pod, min, now)) s.numberAvailable = (s.numberAvailable ?? 0) + 1;
      if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash)
        s.updatedNumberScheduled = (s.updatedNumberScheduled ?? 0) + 1;
    }
    s.numberUnavailable = s.desiredNumberScheduled - (s.numberAvailable ?? 0);
    const cur = ds.status ?? {
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
    };
    const keys = Object.keys(s) as (keyof DsStatus)[];
    if (keys.every((k) => (cur[k] ?? 0) === (s[k] ?? 0))) return;
    const copy = structuredClone(ds);
    copy.status = { ...(ds.status ?? {}), ...s };
    try {
      await this.ctx.api
        .resource<DaemonSet>('daemonsets.apps', { namespace: ds.metadata.namespace ?? '' })
        .updateStatus(copy);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const daemonSetController: ControllerDescriptor = {
  name: 'daemonset',
  start: (ctx) => new DaemonSetController(ctx).run(),
};
