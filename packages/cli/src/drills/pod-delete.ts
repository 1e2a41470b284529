/**
 * Drill 1: delete a Deployment's pod — its ReplicaSet creates a replacement at once; delete a bare
 * pod — nothing owns it, it is simply gone.
 */
import type { Pod } from '@kemu/api';
import type { DrillCluster } from './cluster.js';
import type { Drill, DrillContext } from './framework.js';
import { allReady, createDeployment, DRILL_LABEL, deleteDrillObjects, isReady, live, podsOf } from './workload.js';

const DRILL = 'pod-delete';
const REPLICAS = 3;

export const podDeleteDrill: Drill<DrillCluster> = {
  name: DRILL,
  title: "Delete a Deployment's pod, then a bare pod",
  description:
    'A Deployment keeps a ReplicaSet, and the ReplicaSet keeps its number of pods: delete one of them and the ' +
    'ReplicaSet controller creates a replacement at once, which the scheduler places and a kubelet starts. A pod ' +
    'created on its own (a "bare" pod) has no owner: delete it and nothing brings it back.',
  preflight: (c) => c.require({ kinds: ['kube-scheduler', 'kube-controller-manager', 'kubelet'], workers: 1 }),
  start(ctx: DrillContext<DrillCluster>) {
    const c = ctx.cluster;
    const app = `drill-web-${Date.now().toString(36)}`;
    const bare = `${app}-bare`;
    let victim: Pod | undefined;
    let deletedAt = 0;
    /** Every pod of the Deployment before the delete: a replacement is any other. */
    const originals = new Set<string>();

    return {
      async setup() {
        ctx.action(`kubectl apply: Deployment ${app} with ${REPLICAS} nginx replicas`);
        await createDeployment(c, { name: app, drill: DRILL, replicas: REPLICAS });
        ctx.action(`kubectl run ${bare} --image=nginx (a bare pod, no owner)`);
        await c.k(['run', bare, '--image=nginx', `--labels=${DRILL_LABEL}=${DRILL},bare=${app}`]);
        await ctx.expect(
          `${REPLICAS} pods of the Deployment are Ready`,
          {
            deadlineMs: 60_000,
            intervalMs: 250,
            describe: (p) => p.map((x) => `${x.metadata.name}@${x.spec.nodeName}`).join(', '),
          },
          () => allReady(c, app, REPLICAS),
        );
        await ctx.expect(
          'the bare pod is Running',
          { deadlineMs: 60_000, intervalMs: 250, describe: (p) => `on ${p.spec.nodeName}` },
          async () => {
            const p = await c.getJson<Pod>(['pod', bare]);
            return isReady(p) ? p : undefined;
          },
        );
      },
      stages: [
        {
          title: "delete a Deployment's pod",
          inject: async () => {
            const before = live(await podsOf(c, app));
            for (const p of before) originals.add(p.metadata.uid ?? '');
            victim = before[0];
            if (!victim) throw new Error(`no pod of ${app} to delete`);
            // Narrated first: the cluster reacts while kubectl is still returning.
            ctx.fault(`kubectl delete pod ${victim.metadata.name} (on ${victim.spec.nodeName})`);
            deletedAt = Date.now();
            await c.k(['delete', 'pod', victim.metadata.name ?? '', '--wait=false']);
          },
          check: async () => {
            const replacement = await ctx.expect(
              'a replacement pod is created at once',
              {
                deadlineMs: 10_000,
                intervalMs: 100,
                describe: (p) =>
                  `${p.metadata.name}, seen ${Date.now() - deletedAt} ms after kubectl delete was issued`,
              },
              async () => live(await podsOf(c, app)).find((p) => !originals.has(p.metadata.uid ?? '')),
            );
            ctx.say(`the ReplicaSet replaced ${victim?.metadata.name} with ${replacement.metadata.name}`);
            await ctx.expect(
              `the Deployment is back to ${REPLICAS} Ready pods`,
              {
                deadlineMs: 30_000,
                intervalMs: 250,
                describe: (p) => p.map((x) => `${x.metadata.name}@${x.spec.nodeName}`).join(', '),
              },
              () => allReady(c, app, REPLICAS),
            );
            await ctx.expect(
              'the deleted pod is gone',
              { deadlineMs: 30_000, intervalMs: 250, describe: () => 'NotFound' },
              async () => {
                const r = await c.kubectl(['get', 'pod', victim?.metadata.name ?? '']);
                return r.code !== 0 && /NotFound|not found/.test(r.stderr) ? true : undefined;
              },
            );
          },
        },
        {
          title: 'delete a bare pod',
          inject: async () => {
            ctx.fault(`kubectl delete pod ${bare}`);
            await c.k(['delete', 'pod', bare, '--wait=false']);
          },
          check: async () => {
            await ctx.expect(
              'the bare pod is gone',
              { deadlineMs: 30_000, intervalMs: 250, describe: () => 'NotFound' },
              async () => {
                const r = await c.kubectl(['get', 'pod', bare]);
                return r.code !== 0 && /NotFound|not found/.test(r.stderr) ? true : undefined;
              },
            );
            // Give a would-be owner time to act: nothing may bring it back.
            await ctx.sleep(3000);
            const again = await c.getJson<{ items: Pod[] }>(['pods', '-l', `bare=${app}`]);
            ctx.verify(
              'nothing recreates the bare pod',
              again.items.length === 0,
              again.items.length === 0
                ? 'no pod with its labels 3 s later'
                : `found ${again.items.map((p) => p.metadata.name).join(', ')}`,
            );
          },
        },
      ],
      async heal() {
        // Nothing was broken: deleting pods is what users do.
      },
      async teardown() {
        await deleteDrillObjects(c, DRILL);
        ctx.action('deleted the drill Deployment and pods');
      },
    };
  },
};
