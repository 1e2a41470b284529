// taint-eviction-controller (upstream pkg/controller/tainteviction, formerly the NoExecute taint
// manager): a pod bound to a node with a NoExecute taint it does not tolerate is deleted at once;
// one that tolerates every such taint only for `tolerationSeconds` is deleted when the first of
// those runs out, counted from the taint's `timeAdded` (the node-lifecycle controller stamps it),
// so a restarted controller keeps the same deadline. Before deleting, the pod gets the
// DisruptionTarget condition (DeletionByTaintManager) and an event TaintManagerEviction.
import { formatTime, type Node, type Pod, parseTime, type Taint, type Toleration } from '@kemu/api';
import { isConflict, isNotFound, objectKey, runController } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../../context.js';
import { eachObject, newQueue, toleratesTaint } from '../util.js';
import { POD_BY_NODE_INDEX, podsByNode } from './node-lifecycle.js';

/** When a pod must go because of its node's NoExecute taints: 'now', an epoch ms, or never (undefined). */
export function evictionDue(
  tolerations: readonly Toleration[] | undefined,
  taints: readonly Taint[],
  firstSeen: (taint: Taint) => number,
): 'now' | number | undefined {
  let due: number | undefined;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    // upstream getMatchingTolerations: the first toleration matching each taint decides.
    const tol = (tolerations ?? []).find((t) => toleratesTaint(t, taint));
    if (tol === undefined) return 'now';
    if (tol.tolerationSeconds === undefined || tol.tolerationSeconds === null) continue;
    const added = parseTime(taint.timeAdded) ?? firstSeen(taint);
    const at = added + Math.max(0, tol.tolerationSeconds) * 1000;
    due = due === undefined ? at : Math.min(due, at);
  }
  return due;
}

export const taintEvictionController: ControllerDescriptor = {
  name: 'taint-eviction-controller',
  start(ctx: ControllerContext) {
    const nodes = ctx.informers.forResource<Node>('nodes');
    const pods = podsByNode(ctx);
    const recorder = ctx.recorder('taint-eviction-controller');
    const queue = newQueue(ctx, 'taint-eviction');
    // Taints written without timeAdded: when this controller first saw them (node/key/effect → ms).
    const seen = new Map<string, number>();

    const noExecute = (n: Node | undefined) => (n?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    nodes.addEventHandler({
      onAdd: (n) => enqueuePodsOn(n),
      onUpdate: (old, n) => {
        if (JSON.stringify(noExecute(old)) !== JSON.stringify(noExecute(n))) enqueuePodsOn(n);
      },
    });
    pods.addEventHandler(
      eachObject((p, kind) => {
        if (kind !== 'delete' && (p.spec.nodeName ?? '') !== '') queue.add(objectKey(p));
      }),
    );
    function enqueuePodsOn(n: Node) {
      if (noExecute(n).length === 0) return;
      for (const p of pods.store.byIndex(POD_BY_NODE_INDEX, n.metadata.name ?? '')) queue.add(objectKey(p));
    }

    const evict = async (pod: Pod) => {
      const ns = pod.metadata.namespace ?? 'default';
      const name = pod.metadata.name ?? '';
      const client = ctx.api.resource<Pod>('pods', { namespace: ns });
      void recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${ns}/${name}`);
      const conds = (pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
      conds.push({
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'DeletionByTaintManager',
        message: 'Taint manager: deleting due to NoExecute taint',
        lastTransitionTime: formatTime(ctx.runtime.now()),
      });
      try {
        await client.updateStatus({ ...pod, status: { ...pod.status, conditions: conds } });
      } catch (err) {
        // The condition is informative; a pod changed or gone meanwhile is still deleted (or already is).
        if (!isConflict(err) && !isNotFound(err)) throw err;
      }
      try {
        await client.delete(name, { preconditions: { uid: pod.metadata.uid ?? '' } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    };

    const reconcile = async (key: string) => {
      const pod = pods.store.getByKey(key);
      if (pod === undefined || pod.metadata.deletionTimestamp !== undefined) return;
      const nodeName = pod.spec.nodeName ?? '';
      const node = nodes.get(undefined, nodeName);
      const taints = noExecute(node);
      if (taints.length === 0) return;
      const now = ctx.runtime.now();
      const due = evictionDue(pod.spec.tolerations, taints, (t) => {
        const id = `${nodeName}/${t.key}/${t.value ?? ''}`;
        const at = seen.get(id) ?? now;
        seen.set(id, at);
        return at;
      });
      if (due === undefined) return;
      if (due === 'now' || due <= now) {
        await evict(pod);
        return;
      }
      return { requeueAfterMs: due - now };
    };

    return runController({
      name: 'taint-eviction-controller',
      runtime: ctx.runtime,
      informers: [nodes, pods],
      queue,
      reconcile,
      workers: 2,
      log: ctx.log,
    });
  },
};
