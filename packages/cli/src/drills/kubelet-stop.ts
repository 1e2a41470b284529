/**
 * Drill 2: stop a worker's kubelet — after the node grace period the node goes NotReady, its pods are
 * evicted (after their toleration) and recreated elsewhere; start it again — the node is Ready, and
 * scaling up fills it again.
 */
import type { Node, Pod } from '@kemu/api';
import type { DrillCluster } from './cluster.js';
import { type Drill, type DrillContext, DrillUnavailableError } from './framework.js';
import {
  allReady,
  createDeployment,
  deleteDrillObjects,
  formatSpread,
  isReady,
  live,
  podsOf,
  scale,
  spread,
} from './workload.js';

const DRILL = 'kubelet-stop';

function readyStatus(n: Node): string | undefined {
  return n.status?.conditions?.find((x) => x.type === 'Ready')?.status;
}

export const kubeletStopDrill: Drill<DrillCluster> = {
  name: DRILL,
  title: "Stop a worker's kubelet",
  description:
    'A kubelet proves its node is alive by renewing a Lease. Stop it and nothing renews: after the node monitor ' +
    "grace period the node-lifecycle controller marks the node NotReady (Unknown) and taints it unreachable; the pods' " +
    'default toleration of that taint runs out and they are evicted, and their ReplicaSet recreates them on the ' +
    'other nodes. The evicted pods stay Terminating: only their kubelet could confirm they stopped. Start the kubelet ' +
    'again: it reports Ready, cleans up, and new pods land on it again when the Deployment scales up.',
  preflight: (c) => {
    c.require({ kinds: ['kube-scheduler', 'kube-controller-manager', 'kubelet'], workers: 2 });
    if (c.workers.some((n) => n.simulated)) {
      throw new DrillUnavailableError(
        'the workers are simulated by one kubelet process (--runtime sim): stopping it would stop every worker; use --runtime process',
      );
    }
  },
  start(ctx: DrillContext<DrillCluster>) {
    const c = ctx.cluster;
    const app = `drill-kl-${Date.now().toString(36)}`;
    const workers = c.workers.map((n) => n.name);
    const replicas = workers.length * 2;
    const grace = c.profile.nodeMonitorGracePeriodMs;
    const toleration = c.profile.defaultTolerationSeconds * 1000;
    let target = '';
    let kubelet = '';
    let stoppedAt = 0;
    let onTarget: Pod[] = [];

    return {
      async setup() {
        ctx.action(`kubectl apply: Deployment ${app} with ${replicas} nginx replicas`);
        await createDeployment(c, { name: app, drill: DRILL, replicas });
        const pods = await ctx.expect(
          `${replicas} pods Ready`,
          { deadlineMs: 60_000, intervalMs: 250, describe: (p) => formatSpread(spread(p, workers)) },
          () => allReady(c, app, replicas),
        );
        // The worker with the most pods shows the eviction best.
        const m = spread(pods, workers);
        target = [...m].sort((a, b) => b[1] - a[1])[0]?.[0] ?? workers[0] ?? '';
        kubelet = c.nodes.find((n) => n.name === target)?.kubelet ?? `kubelet-${target}`;
        onTarget = pods.filter((p) => p.spec.nodeName === target);
        ctx.say(`${target} runs ${onTarget.length} of them: ${onTarget.map((p) => p.metadata.name).join(', ')}`);
      },
      stages: [
        {
          title: `stop a worker's kubelet`,
          inject: async () => {
            const out = await c.faults.component('stop', kubelet);
            stoppedAt = Date.now();
            ctx.fault(`stopped ${kubelet} (pid ${out.pid}): ${target} no longer renews its Lease`);
          },
          check: async () => {
            await ctx.expect(
              `${target} goes NotReady after the grace period (${grace} ms)`,
              {
                deadlineMs: grace + 20_000,
                intervalMs: 250,
                describe: (s) => `Ready=${s} ${Date.now() - stoppedAt} ms after the stop`,
              },
              async () => {
                const s = readyStatus(await c.getJson<Node>(['node', target]));
                return s !== 'True' ? s : undefined;
              },
            );
            const elapsed = Date.now() - stoppedAt;
            // The grace runs from the last renewal, which may be one renew interval before the stop.
            const earliest = grace - c.profile.nodeLeaseRenewIntervalMs;
            ctx.verify(
              'not before the grace period',
              elapsed >= earliest,
              `NotReady ${elapsed} ms after the stop (grace ${grace} ms from the last renewal, so not before ${earliest} ms)`,
            );
            const moved = await ctx.expect(
              `its pods are evicted and recreated on other nodes (toleration ${toleration} ms)`,
              {
                deadlineMs: toleration + 45_000,
                intervalMs: 250,
                describe: (p) =>
                  `${formatSpread(spread(p, workers))}; ${onTarget.length} left Terminating on ${target}`,
              },
              async () => {
                const pods = await podsOf(c, app);
                const ready = live(pods).filter((p) => isReady(p) && p.spec.nodeName !== target);
                return ready.length === replicas ? pods : undefined;
              },
            );
            const stuck = moved.filter((p) => p.spec.nodeName === target && p.metadata.deletionTimestamp);
            ctx.say(
              `${stuck.length} evicted pod(s) stay Terminating on ${target}: only its kubelet can confirm they stopped`,
            );
          },
        },
      ],
      async heal() {
        if (!kubelet) return;
        for (const o of await c.faults.undoAll()) ctx.fault(`restored ${o.component}: ${o.detail}`);
      },
      async recovery() {
        await ctx.expect(
          `${target} is Ready again`,
          { deadlineMs: 30_000, intervalMs: 250, describe: () => 'Ready=True' },
          async () => (readyStatus(await c.getJson<Node>(['node', target])) === 'True' ? true : undefined),
        );
        await ctx.expect(
          `the evicted pods are cleaned up on ${target}`,
          { deadlineMs: 30_000, intervalMs: 250, describe: () => 'none left Terminating' },
          async () => ((await podsOf(c, app)).some((p) => p.metadata.deletionTimestamp) ? undefined : true),
        );
        const more = replicas + workers.length;
        ctx.action(`kubectl scale deployment ${app} --replicas=${more}`);
        await scale(c, app, more);
        const pods = await ctx.expect(
          `scaling to ${more} fills ${target} again`,
          { deadlineMs: 60_000, intervalMs: 250, describe: (p) => formatSpread(spread(p, workers)) },
          async () => {
            const p = await allReady(c, app, more);
            return p && (spread(p, workers).get(target) ?? 0) > 0 ? p : undefined;
          },
        );
        ctx.say(`pods per node now: ${formatSpread(spread(pods, workers))}`);
      },
      async teardown() {
        await deleteDrillObjects(c, DRILL);
        ctx.action('deleted the drill Deployment');
      },
    };
  },
};
