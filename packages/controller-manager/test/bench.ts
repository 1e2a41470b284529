// In-process throughput of the workload controllers on FakeApi with real timers (no network, no
// etcd): how fast Deployments converge and roll. `npx tsc -b && node packages/controller-manager/dist/test/bench.js [deployments] [replicas]`
import { type Deployment, formatTime, type Pod, TIMING_PROFILES } from '@kemu/api';
import { EventRecorder, FakeApi, SharedInformerFactory } from '@kemu/client';
import { SeededRandom, silentLogger, systemRuntime } from '@kemu/runtime';
import type { ControllerContext } from '../src/context.js';
import { DeploymentController } from '../src/controllers/deployment.js';
import { ReplicaSetController } from '../src/controllers/replicaset.js';

const DEPLOYMENTS = Number(process.argv[2] ?? 100);
const REPLICAS = Number(process.argv[3] ?? 10);

async function main(): Promise<void> {
  const api = new FakeApi({ clock: systemRuntime, historyLimit: 100_000 });
  const random = new SeededRandom(1);
  const factory = new SharedInformerFactory({ api, runtime: systemRuntime, random: random.fork() });
  const ctx: ControllerContext = {
    api,
    informers: factory,
    runtime: systemRuntime,
    random,
    log: silentLogger(),
    profile: TIMING_PROFILES.fast,
    recorder: (component) => new EventRecorder({ events: api.resource('events'), component, runtime: systemRuntime }),
  };
  const ctls = [new ReplicaSetController(ctx).run(4), new DeploymentController(ctx).run(4)];
  // Kubelet stand-in: every new pod is bound and Ready at once.
  const pods = factory.forResource<Pod>('pods');
  pods.addEventHandler({
    onAdd: (p) => {
      if (p.status?.phase === 'Running') return;
      const client = api.resource<Pod>('pods', { namespace: p.metadata.namespace ?? 'default' });
      const now = formatTime(Date.now());
      void client
        .updateStatus({
          ...p,
          spec: { ...p.spec, nodeName: 'n1' },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] },
        })
        .catch(() => undefined);
    },
  });
  factory.start();
  await factory.waitForCacheSync();
  const dApi = api.resource<Deployment>('deployments.apps', { namespace: 'default' });
  const deployments = factory.forResource<Deployment>('deployments.apps');
  // Progress is read from the shared caches (no copies), every 50 ms.
  const available = () =>
    deployments
      .list()
      .filter(
        (d) =>
          (d.status?.availableReplicas ?? 0) === REPLICAS &&
          (d.status?.updatedReplicas ?? 0) === REPLICAS &&
          (d.status?.replicas ?? 0) === REPLICAS,
      ).length;
  const until = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 300_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const rows: [string, string][] = [];
  let t0 = performance.now();
  for (let i = 0; i < DEPLOYMENTS; i++) {
    await dApi.create({
      metadata: { name: `d${i}`, namespace: 'default' },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: `d${i}` } },
        template: { metadata: { labels: { app: `d${i}` } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      },
    });
  }
  await until(() => available() === DEPLOYMENTS, 'initial rollout');
  let s = (performance.now() - t0) / 1000;
  const total = DEPLOYMENTS * REPLICAS;
  rows.push([`create ${DEPLOYMENTS} Deployments × ${REPLICAS} replicas until all available`, `${s.toFixed(2)} s`]);
  rows.push(['  pods created and ready per s', `${Math.round(total / s)}`]);
  t0 = performance.now();
  for (let i = 0; i < DEPLOYMENTS; i++) {
    const d = await dApi.get(`d${i}`);
    d.spec.template.spec.containers[0] = { name: 'c', image: 'nginx:2' };
    await dApi.update(d);
  }
  // A deleted pod is gone at once on FakeApi, so a rollout is bounded by the controllers alone.
  await until(
    () =>
      available() === DEPLOYMENTS &&
      pods.list().filter((p) => p.spec.containers[0]?.image === 'nginx:2').length === total &&
      pods.list().length === total,
    'rolling update',
  );
  s = (performance.now() - t0) / 1000;
  rows.push([`rolling update of all ${DEPLOYMENTS} Deployments (25%/25%)`, `${s.toFixed(2)} s`]);
  rows.push(['  pods replaced per s', `${Math.round(total / s)}`]);
  await Promise.all(ctls.map((c) => c.stop()));
  factory.stop();
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`| ${'benchmark'.padEnd(w)} | result |\n| ${'-'.repeat(w)} | ---: |`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
