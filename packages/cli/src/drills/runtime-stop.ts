/**
 * Drill 3: stop a worker's container runtime — the node stops taking pods; scale up — the other
 * nodes take them; restore the runtime and scale further — the scheduler evens out the spread.
 */
import type { Node } from '@kemu/api';
import type { DrillCluster } from './cluster.js';
import type { Drill, DrillContext } from './framework.js';
import {
  allReady,
  createDeployment,
  deleteDrillObjects,
  formatSpread,
  live,
  podsOf,
  scale,
  spread,
} from './workload.js';

const DRILL = 'runtime-stop';

function readyStatus(n: Node): string | undefined {
  return n.status?.conditions?.find((x) => x.type === 'Ready')?.status;
}

export const runtimeStopDrill: Drill<DrillCluster> = {
  name: DRILL,
  title: "Stop a worker's container runtime",
  description:
    "With the container runtime down (like 'systemctl stop docker'), the kubelet still runs and still talks to the " +
    'apiserver, but it reports the node NotReady ("container runtime is down") and its containers are gone: the ' +
    'node is tainted and the scheduler sends new pods elsewhere. Scale up and the other nodes take every new pod. ' +
    'Restore the runtime and scale further: the scheduler prefers the emptier node until the spread is even again.',
  preflight: (c) => c.require({ kinds: ['kube-scheduler', 'kube-controller-manager', 'kubelet'], workers: 2 }),
  start(ctx: DrillContext<DrillCluster>) {
    const c = ctx.cluster;
    const app = `drill-rt-${Date.now().toString(36)}`;
    const workers = c.workers.map((n) => n.name);
    const n = workers.length;
    const target = workers[0] ?? '';

    return {
      async setup() {
        ctx.action(`kubectl apply: Deployment ${app} with ${n} nginx replicas`);
        await createDeployment(c, { name: app, drill: DRILL, replicas: n });
        await ctx.expect(
          `${n} pods Ready`,
          { deadlineMs: 60_000, intervalMs: 250, describe: (p) => formatSpread(spread(p, workers)) },
          () => allReady(c, app, n),
        );
      },
      stages: [
        {
          title: `stop ${target}'s container runtime`,
          inject: async () => {
            const out = await c.faults.runtime('stop', target);
            ctx.fault(`kemu runtime stop ${target}: ${out.detail}`);
          },
          check: async () => {
            await ctx.expect(
              `${target} stops taking pods (NotReady, tainted)`,
              {
                deadlineMs: 20_000,
                intervalMs: 250,
                describe: (nd) =>
                  `Ready=${readyStatus(nd)} (${nd.status?.conditions?.find((x) => x.type === 'Ready')?.message ?? ''}); taints ${(nd.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).join(', ')}`,
              },
              async () => {
                const nd = await c.getJson<Node>(['node', target]);
                const tainted = (nd.spec?.taints ?? []).some(
                  (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
                );
                return readyStatus(nd) !== 'True' && tainted ? nd : undefined;
              },
            );
            const bigger = 2 * n;
            ctx.action(`kubectl scale deployment ${app} --replicas=${bigger}`);
            await scale(c, app, bigger);
            const pods = await ctx.expect(
              `the other nodes take all ${bigger} pods`,
              { deadlineMs: 60_000, intervalMs: 250, describe: (p) => formatSpread(spread(p, workers)) },
              () => allReady(c, app, bigger),
            );
            const onTarget = live(await podsOf(c, app)).filter((p) => p.spec.nodeName === target);
            ctx.verify(
              `no pod runs on ${target}`,
              onTarget.length === 0,
              onTarget.length === 0
                ? `pods per node: ${formatSpread(spread(pods, workers))}`
                : `${onTarget.map((p) => p.metadata.name).join(', ')} on ${target}`,
            );
          },
        },
      ],
      async heal() {
        for (const o of await c.faults.undoAll()) ctx.fault(`restored ${o.component}: ${o.detail}`);
      },
      async recovery() {
        await ctx.expect(
          `${target} is Ready again`,
          { deadlineMs: 30_000, intervalMs: 250, describe: () => 'Ready=True, no NoSchedule taint' },
          async () => {
            const nd = await c.getJson<Node>(['node', target]);
            const tainted = (nd.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
            return readyStatus(nd) === 'True' && !tainted ? true : undefined;
          },
        );
        // Enough pods that an even spread is possible without moving any: every node as full as the
        // fullest one now (3 workers: 0/3/3 → 9, as in the classic exercise).
        const now = spread(live(await podsOf(c, app)), workers);
        const biggest = n * Math.max(...now.values());
        ctx.say(`pods per node before scaling: ${formatSpread(now)}`);
        ctx.action(`kubectl scale deployment ${app} --replicas=${biggest}`);
        await scale(c, app, biggest);
        const pods = await ctx.expect(
          `${biggest} pods Ready`,
          { deadlineMs: 60_000, intervalMs: 250, describe: (p) => formatSpread(spread(p, workers)) },
          () => allReady(c, app, biggest),
        );
        const m = spread(pods, workers);
        const counts = [...m.values()];
        ctx.verify(
          'the scheduler evens the spread',
          Math.max(...counts) - Math.min(...counts) <= 1,
          `pods per node: ${formatSpread(m)}`,
        );
      },
      async teardown() {
        await deleteDrillObjects(c, DRILL);
        ctx.action('deleted the drill Deployment');
      },
    };
  },
};
