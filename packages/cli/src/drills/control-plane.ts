/**
 * Drill 4: delete the scheduler's pod in kube-system — it comes back; stop the control-plane kubelet
 * and delete it again — it stays Terminating, yet workloads are still created and scaled.
 */
import type { Pod } from '@kemu/api';
import type { DrillCluster } from './cluster.js';
import type { Drill, DrillContext } from './framework.js';
import { allReady, createDeployment, deleteDrillObjects, formatSpread, scale, spread } from './workload.js';

const DRILL = 'control-plane';
/** How long the deleted mirror pod must stay Terminating with its kubelet stopped. */
const STAYS_MS = 8000;

export const controlPlaneDrill: Drill<DrillCluster> = {
  name: DRILL,
  title: "Delete the scheduler's pod; then stop the control-plane kubelet",
  description:
    'The control-plane components run as static pods: the kubelet on the control-plane node starts them from ' +
    'manifest files and publishes a read-only "mirror pod" for each in kube-system. Deleting the scheduler\'s pod ' +
    'deletes only that mirror: the kubelet publishes it again at once, and the scheduler process never stopped. ' +
    'With the control-plane kubelet stopped, nobody can confirm the deletion, so the pod stays Terminating — yet ' +
    'the scheduler itself still runs, so new workloads are created, scheduled and scaled as usual.',
  preflight: (c) => c.require({ kinds: ['kube-scheduler', 'kube-controller-manager', 'kubelet'], workers: 1 }),
  start(ctx: DrillContext<DrillCluster>) {
    const c = ctx.cluster;
    const cp = c.nodes.find((n) => n.role === 'control-plane');
    const cpNode = cp?.name ?? 'control-plane';
    const kubelet = cp?.kubelet ?? `kubelet-${cpNode}`;
    const mirror = `kube-scheduler-${cpNode}`;
    const app = `drill-cp-${Date.now().toString(36)}`;
    const workers = c.workers.map((n) => n.name);
    let schedulerPid: number | undefined;
    let firstUid = '';
    let deletedAt = 0;

    const getMirror = async (): Promise<Pod | undefined> => {
      const r = await c.kubectl(['get', 'pod', mirror, '-n', 'kube-system', '-o', 'json']);
      return r.code === 0 ? (JSON.parse(r.stdout) as Pod) : undefined;
    };

    return {
      async setup() {
        const p = await ctx.expect(
          `the scheduler's mirror pod ${mirror} is Running in kube-system`,
          { deadlineMs: 30_000, intervalMs: 250, describe: (x) => `uid ${x.metadata.uid}, on ${x.spec.nodeName}` },
          async () => {
            const x = await getMirror();
            return x?.status?.phase === 'Running' && !x.metadata.deletionTimestamp ? x : undefined;
          },
        );
        firstUid = p.metadata.uid ?? '';
        schedulerPid = c.pidOf(await c.faults.resolve('kube-scheduler'));
      },
      stages: [
        {
          title: "delete the scheduler's pod",
          inject: async () => {
            ctx.fault(`kubectl delete pod ${mirror} -n kube-system`);
            await c.k(['delete', 'pod', mirror, '-n', 'kube-system', '--wait=false']);
          },
          check: async () => {
            const back = await ctx.expect(
              'it comes back (the kubelet publishes the mirror pod again)',
              { deadlineMs: 20_000, intervalMs: 250, describe: (x) => `new uid ${x.metadata.uid}, ${x.status?.phase}` },
              async () => {
                const x = await getMirror();
                return x &&
                  x.metadata.uid !== firstUid &&
                  !x.metadata.deletionTimestamp &&
                  x.status?.phase === 'Running'
                  ? x
                  : undefined;
              },
            );
            firstUid = back.metadata.uid ?? '';
            const now = c.pidOf(await c.faults.resolve('kube-scheduler'));
            ctx.verify(
              'the scheduler process itself never stopped',
              schedulerPid !== undefined && now === schedulerPid,
              `pid ${schedulerPid} before, ${now ?? 'none'} after`,
            );
          },
        },
        {
          title: 'stop the control-plane kubelet, then delete the pod',
          inject: async () => {
            const out = await c.faults.component('stop', kubelet);
            ctx.fault(`stopped ${kubelet} (pid ${out.pid})`);
            ctx.fault(`kubectl delete pod ${mirror} -n kube-system`);
            deletedAt = Date.now();
            await c.k(['delete', 'pod', mirror, '-n', 'kube-system', '--wait=false']);
          },
          check: async () => {
            await ctx.expect(
              'the pod is Terminating',
              {
                deadlineMs: 10_000,
                intervalMs: 250,
                describe: (x) => `deletionTimestamp ${x.metadata.deletionTimestamp}`,
              },
              async () => {
                const x = await getMirror();
                return x?.metadata.deletionTimestamp ? x : undefined;
              },
            );
            ctx.action(`kubectl apply: Deployment ${app} (nginx, 1 replica)`);
            await createDeployment(c, { name: app, drill: DRILL, replicas: 1 });
            await ctx.expect(
              'a new workload is created and runs',
              { deadlineMs: 45_000, intervalMs: 250, describe: (p) => formatSpread(spread(p, workers)) },
              () => allReady(c, app, 1),
            );
            ctx.action(`kubectl scale deployment ${app} --replicas=3`);
            await scale(c, app, 3);
            await ctx.expect(
              'and scales to 3 (the scheduler still schedules)',
              { deadlineMs: 45_000, intervalMs: 250, describe: (p) => formatSpread(spread(p, workers)) },
              () => allReady(c, app, 3),
            );
            // "Stays": well past the time it took to come back while the kubelet ran.
            const waited = Date.now() - deletedAt;
            if (waited < STAYS_MS) await ctx.sleep(STAYS_MS - waited);
            const x = await getMirror();
            ctx.verify(
              `${mirror} still Terminating ${Math.round((Date.now() - deletedAt) / 1000)} s later (no kubelet to confirm)`,
              x?.metadata.deletionTimestamp !== undefined && x.metadata.uid === firstUid,
              x ? `deletionTimestamp ${x.metadata.deletionTimestamp ?? 'none'}` : 'gone',
            );
          },
        },
      ],
      async heal() {
        for (const o of await c.faults.undoAll()) ctx.fault(`restored ${o.component}: ${o.detail}`);
      },
      async recovery() {
        await ctx.expect(
          `with its kubelet back, ${mirror} is recreated and Running`,
          { deadlineMs: 30_000, intervalMs: 250, describe: (x) => `new uid ${x.metadata.uid}` },
          async () => {
            const x = await getMirror();
            return x && x.metadata.uid !== firstUid && !x.metadata.deletionTimestamp && x.status?.phase === 'Running'
              ? x
              : undefined;
          },
        );
      },
      async teardown() {
        await deleteDrillObjects(c, DRILL);
        ctx.action('deleted the drill Deployment');
      },
    };
  },
};
