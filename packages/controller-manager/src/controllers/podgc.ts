// pod-garbage-collector (upstream pkg/controller/podgc), one periodic pass over the caches:
// - gcOrphaned: pods bound to a node that no longer exists (absent from the cache for a quarantine
//   period, then confirmed by a live GET) are marked Failed with DisruptionTarget
//   (`DeletionByPodGC`, `PodGC: node no longer exists`) and force-deleted (grace 0);
// - gcTerminating: pods being deleted on a node that is not Ready are force-deleted once they have
//   been so for profile.podGcTerminatedThresholdMs (upstream additionally requires the
//   `node.kubernetes.io/out-of-service` taint; kemu's nodes never get one, so a dead kubelet would
//   otherwise leave its pods Terminating forever);
// - gcUnscheduledTerminating: unbound pods being deleted are force-deleted.
// Not done: gcTerminated (the --terminated-pod-gc-threshold count of finished pods, 12500 upstream).
import { formatTime, isPodTerminal, type Node, type Pod } from '@kemu/api';
import { isConflict, isNotFound, objectKey, runController } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../context.js';
import { condition } from './nodelifecycle/taints.js';
import { newQueue } from './util.js';

const PASS = 'gc';

export const podGcController: ControllerDescriptor = {
  name: 'podgc',
  start(ctx: ControllerContext) {
    const pods = ctx.informers.forResource<Pod>('pods');
    const nodes = ctx.informers.forResource<Node>('nodes');
    const queue = newQueue(ctx, 'podgc');
    const thresholdMs = ctx.profile.podGcTerminatedThresholdMs;
    const periodMs = Math.min(20_000, Math.max(100, Math.floor(thresholdMs / 4)));
    /** node name → when (controller clock) it was first missing from the cache. */
    const missingSince = new Map<string, number>();
    /** pod key → when it was first seen terminating on a not-ready node. */
    const stuckSince = new Map<string, number>();
    queue.add(PASS);

    const forceDelete = async (pod: Pod, message?: string) => {
      const client = ctx.api.resource<Pod>('pods', { namespace: pod.metadata.namespace ?? 'default' });
      if (message !== undefined) {
        const conds = (pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
        conds.push({
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'DeletionByPodGC',
          message,
          lastTransitionTime: formatTime(ctx.runtime.now()),
        });
        const status = {
          ...pod.status,
          conditions: conds,
          ...(isPodTerminal(pod) ? {} : { phase: 'Failed' as const }),
        };
        try {
          await client.updateStatus({ ...pod, status });
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        }
      }
      try {
        await client.delete(pod.metadata.name ?? '', {
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid ?? '' },
        });
        ctx.log.info({ pod: objectKey(pod), reason: message ?? 'terminating' }, 'podgc: force-deleted pod');
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    };

    const gcOrphaned = async (now: number) => {
      const bound = new Set<string>();
      for (const pod of pods.list()) if ((pod.spec.nodeName ?? '') !== '') bound.add(pod.spec.nodeName ?? '');
      const deleted = new Set<string>();
      for (const name of bound) {
        if (nodes.get(undefined, name) !== undefined) {
          missingSince.delete(name);
          continue;
        }
        const since = missingSince.get(name) ?? now;
        missingSince.set(name, since);
        if (now - since < thresholdMs) continue;
        try {
          await ctx.api.resource<Node>('nodes').get(name);
          missingSince.delete(name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          deleted.add(name);
        }
      }
      for (const name of missingSince.keys()) if (!bound.has(name)) missingSince.delete(name);
      for (const pod of pods.list()) {
        if (deleted.has(pod.spec.nodeName ?? '')) await forceDelete(pod, 'PodGC: node no longer exists');
      }
    };

    const gcTerminating = async (now: number) => {
      const live = new Set<string>();
      for (const pod of pods.list()) {
        if (pod.metadata.deletionTimestamp === undefined) continue;
        const nodeName = pod.spec.nodeName ?? '';
        if (nodeName === '') {
          await forceDelete(pod);
          continue;
        }
        const node = nodes.get(undefined, nodeName);
        if (node === undefined || condition(node, 'Ready')?.status === 'True') continue;
        const key = objectKey(pod);
        live.add(key);
        const since = stuckSince.get(key) ?? now;
        stuckSince.set(key, since);
        if (now - since >= thresholdMs) await forceDelete(pod);
      }
      for (const key of stuckSince.keys()) if (!live.has(key)) stuckSince.delete(key);
    };

    const reconcile = async () => {
      const now = ctx.runtime.now();
      await gcOrphaned(now);
      await gcTerminating(now);
      return { requeueAfterMs: periodMs };
    };

    return runController({
      name: 'podgc',
      runtime: ctx.runtime,
      informers: [pods, nodes],
      queue,
      reconcile,
      workers: 1,
      log: ctx.log,
    });
  },
};
