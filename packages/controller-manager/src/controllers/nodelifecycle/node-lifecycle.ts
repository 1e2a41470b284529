// node-lifecycle-controller (upstream pkg/controller/nodelifecycle), the health part:
// - nodeHealth bookkeeping: a node is alive while its kube-node-lease Lease's renewTime or its Ready
//   condition's lastHeartbeatTime keeps changing; "when did it last change" is measured on THIS
//   controller's clock (probeTimestamp), never trusting the kubelet's clock.
// - no change for nodeMonitorGracePeriod → Ready, MemoryPressure, DiskPressure, PIDPressure become
//   Unknown (`NodeStatusUnknown`, `Kubelet stopped posting node status.`), event NodeNotReady, and
//   the pods on the node are marked Ready=False (MarkPodsNotReady);
// - taints follow the conditions: NoExecute not-ready/unreachable (what taint-based eviction acts
//   on) and the taint-node-by-condition NoSchedule taints (not-ready, unreachable, pressure,
//   unschedulable), removed again once the node is Ready.
// Simplified against upstream: no zones, no --node-eviction-rate / secondary rate / large-cluster
// threshold (taints are applied at once to every node), and nodeStartupGracePeriod = the grace period.
import {
  formatTime,
  type Lease,
  type Node,
  type NodeCondition,
  type Pod,
  type PodCondition,
  parseTime,
} from '@kemu/api';
import { fieldIndexFunc, isConflict, isNotFound, runController, type SharedIndexInformer } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../../context.js';
import { eachObject, newQueue, same } from '../util.js';
import { condition, reconcileTaints } from './taints.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const POD_BY_NODE_INDEX = 'byNode';
/** The conditions a silent node's kubelet can no longer vouch for (upstream nodeConditionTypes). */
const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

interface NodeHealth {
  /** When (controller clock) the node last showed a sign of life. */
  probeTimestamp: number;
  /** Ready.lastHeartbeatTime as last observed (a change is a sign of life). */
  readyHeartbeat: string | undefined;
  /** Lease renewTime (epoch ms) as last observed. */
  leaseRenew: number | undefined;
  /** Ready status as last observed, to act on transitions (event, pods not ready). */
  readyStatus: string | undefined;
}

/** Pods informer with the by-node index every node controller shares. */
export function podsByNode(ctx: ControllerContext): SharedIndexInformer<Pod> {
  return ctx.informers.forResource<Pod>('pods', { indexers: { [POD_BY_NODE_INDEX]: fieldIndexFunc('spec.nodeName') } });
}

/**
 * The node's conditions after `grace` without a sign of life: every monitored condition Unknown
 * (missing ones added as never updated), keeping each one's lastHeartbeatTime. Undefined if nothing changes.
 */
export function unknownConditions(node: Node, nowTime: string): NodeCondition[] | undefined {
  const conds = structuredClone(node.status?.conditions ?? []);
  let changed = false;
  for (const type of MONITORED_CONDITIONS) {
    const c = conds.find((x) => x.type === type);
    if (c === undefined) {
      conds.push({
        type,
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastHeartbeatTime: node.metadata.creationTimestamp ?? nowTime,
        lastTransitionTime: nowTime,
      });
      changed = true;
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = 'NodeStatusUnknown';
      c.message = 'Kubelet stopped posting node status.';
      c.lastTransitionTime = nowTime;
      changed = true;
    }
  }
  return changed ? conds : undefined;
}

export const nodeLifecycleController: ControllerDescriptor = {
  name: 'nodelifecycle',
  start(ctx: ControllerContext) {
    const nodes = ctx.informers.forResource<Node>('nodes');
    const leases = ctx.informers.forResource<Lease>('leases.coordination.k8s.io');
    const pods = podsByNode(ctx);
    const recorder = ctx.recorder('node-controller');
    const queue = newQueue(ctx, 'nodelifecycle');
    const health = new Map<string, NodeHealth>();
    const graceMs = ctx.profile.nodeMonitorGracePeriodMs;

    nodes.addEventHandler(eachObject((n) => queue.add(n.metadata.name ?? '')));
    leases.addEventHandler(
      eachObject((l) => {
        if (l.metadata.namespace === NODE_LEASE_NAMESPACE) queue.add(l.metadata.name ?? '');
      }),
    );
    // A ready pod showing up on an unreachable node is marked not ready too.
    pods.addEventHandler(
      eachObject((p) => {
        const nodeName = p.spec.nodeName;
        if (nodeName === undefined || nodeName === '') return;
        if (condition(nodes.get(undefined, nodeName) ?? { metadata: {} }, 'Ready')?.status === 'Unknown') {
          queue.add(nodeName);
        }
      }),
    );

    const nodeClient = ctx.api.resource<Node>('nodes');

    /** upstream MarkPodsNotReady: the Ready condition of every pod on the node becomes False. */
    const markPodsNotReady = async (node: Node, nowTime: string) => {
      const name = node.metadata.name ?? '';
      for (const pod of pods.store.byIndex(POD_BY_NODE_INDEX, name)) {
        if (pod.spec.nodeName !== name) continue;
        const conds = pod.status?.conditions ?? [];
        const ready = conds.find((c) => c.type === 'Ready');
        if (ready === undefined || ready.status === 'False') continue;
        const next: PodCondition[] = conds.map((c) =>
          c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: nowTime } : c,
        );
        try {
          await ctx.api
            .resource<Pod>('pods', { namespace: pod.metadata.namespace ?? 'default' })
            .updateStatus({ ...pod, status: { ...pod.status, conditions: next } });
        } catch (err) {
          // Gone or changed meanwhile: the pod's next event brings us back here.
          if (!isNotFound(err) && !isConflict(err)) throw err;
          if (isConflict(err)) queue.addAfter(name, 50);
        }
      }
    };

    const reconcile = async (name: string) => {
      let node = nodes.get(undefined, name);
      if (node === undefined) {
        health.delete(name);
        return;
      }
      const now = ctx.runtime.now();
      const nowTime = formatTime(now);
      const lease = leases.get(NODE_LEASE_NAMESPACE, name);
      const leaseRenew = parseTime(lease?.spec?.renewTime);
      const observedReady = condition(node, 'Ready');
      let h = health.get(name);
      if (h === undefined) {
        // First sight (also after a restart): the node gets a full grace period from now.
        h = {
          probeTimestamp: now,
          readyHeartbeat: observedReady?.lastHeartbeatTime,
          leaseRenew,
          readyStatus: observedReady?.status,
        };
        health.set(name, h);
      } else {
        if (observedReady?.lastHeartbeatTime !== h.readyHeartbeat) {
          h.readyHeartbeat = observedReady?.lastHeartbeatTime;
          h.probeTimestamp = now;
        }
        if (leaseRenew !== undefined && (h.leaseRenew === undefined || leaseRenew > h.leaseRenew)) {
          h.leaseRenew = leaseRenew;
          h.probeTimestamp = now;
        }
      }

      const wasReady = h.readyStatus === 'True';
      if (now - h.probeTimestamp > graceMs) {
        const conds = unknownConditions(node, nowTime);
        if (conds !== undefined) {
          node = await nodeClient.updateStatus({ ...node, status: { ...node.status, conditions: conds } });
          // Our own write is not a sign of life.
          h.readyHeartbeat = condition(node, 'Ready')?.lastHeartbeatTime;
          if (wasReady) {
            void recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
          }
        }
      }
      const ready = condition(node, 'Ready')?.status;

      const taints = reconcileTaints(node, nowTime);
      if (!same(taints, node.spec?.taints ?? [])) {
        node = await nodeClient.update({ ...node, spec: { ...node.spec, taints } });
      }

      // Pods on an unreachable node are marked not ready (their kubelet cannot); on a node whose
      // kubelet reports NotReady itself, only once at the transition, as upstream.
      if (ready === 'Unknown' || (ready === 'False' && h.readyStatus !== 'False')) {
        await markPodsNotReady(node, nowTime);
      }
      h.readyStatus = ready;

      // Health is re-checked every monitor period even without events (a silent node sends none).
      const untilGrace = h.probeTimestamp + graceMs + 1 - now;
      return {
        requeueAfterMs: Math.max(1, Math.min(ctx.profile.nodeMonitorPeriodMs, untilGrace > 0 ? untilGrace : Infinity)),
      };
    };

    return runController({
      name: 'nodelifecycle',
      runtime: ctx.runtime,
      informers: [nodes, leases, pods],
      queue,
      reconcile,
      workers: 2,
      log: ctx.log,
    });
  },
};
