// Benchmark: how long a pod readiness change takes to show in its Service's Endpoints and
// EndpointSlice, across real processes (etcd + kube-apiserver + kube-controller-manager). The clock
// starts when the pod status write is acknowledged and stops when this process's informer sees the
// Endpoints / slice reflect it (so it includes two watch deliveries and the controller's write).
// Run: npx tsc -b && node packages/controller-manager/dist/test/bench-endpoints.js [flips=100] [pods=20]
import type { EndpointSlice, Endpoints, Pod } from '@kemu/api';
import { SharedIndexInformer } from '@kemu/client';
import { SeededRandom, systemRuntime } from '@kemu/runtime';
import { TestCluster } from '@kemu/testkit';
import { connectApi, startControllerManager, waitFor } from './helpers/cluster.js';

const flips = Number(process.argv[2] ?? 100);
const podCount = Number(process.argv[3] ?? 20);
const NS = 'bench';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function main() {
  const c = await TestCluster.start({ etcd: 1 });
  const { api, close } = await connectApi(c);
  try {
    startControllerManager(c, ['endpoint', 'endpointslice']);
    await c.k(['create', 'namespace', NS]);
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: NS },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      }),
    });
    const pods = api.resource<Pod>('pods', { namespace: NS });
    const setReady = async (name: string, ip: string, ready: boolean) => {
      const p = await pods.get(name);
      await pods.updateStatus({
        ...p,
        status: {
          ...p.status,
          phase: 'Running',
          podIP: ip,
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        },
      });
    };
    for (let i = 0; i < podCount; i++) {
      await pods.create({
        metadata: { name: `w-${i}`, labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      });
      await setReady(`w-${i}`, `10.244.0.${i + 1}`, true);
    }
    const random = new SeededRandom(1);
    const eps = new SharedIndexInformer<Endpoints>({
      listWatcher: api.resource<Endpoints>('endpoints'),
      runtime: systemRuntime,
      random,
    });
    const slices = new SharedIndexInformer<EndpointSlice>({
      listWatcher: api.resource<EndpointSlice>('endpointslices.discovery.k8s.io'),
      runtime: systemRuntime,
      random,
    });
    let waiters: (() => void)[] = [];
    const wake = () => {
      for (const w of waiters) w();
    };
    eps.addEventHandler({ onAdd: wake, onUpdate: wake });
    slices.addEventHandler({ onAdd: wake, onUpdate: wake });
    eps.start();
    slices.start();
    await Promise.all([eps.whenSynced(), slices.whenSynced()]);
    const ready = (ip: string) => {
      const e = eps.get(NS, 'web');
      return (e?.subsets ?? []).some((s) => (s.addresses ?? []).some((a) => a.ip === ip));
    };
    const sliceReady = (ip: string) =>
      slices
        .list({ namespace: NS })
        .some((s) => s.endpoints.some((e) => e.addresses[0] === ip && e.conditions?.ready === true));
    await waitFor('all pods ready in Endpoints', () => ready(`10.244.0.${podCount}`), { timeoutMs: 30_000 });

    const epLat: number[] = [];
    const slLat: number[] = [];
    for (let i = 0; i < flips; i++) {
      const idx = i % podCount;
      const ip = `10.244.0.${idx + 1}`;
      const want = Math.floor(i / podCount) % 2 === 1; // first round: not ready, then ready, …
      let epAt = 0;
      let slAt = 0;
      const done = new Promise<void>((resolve) => {
        const check = () => {
          const now = performance.now();
          if (epAt === 0 && ready(ip) === want) epAt = now;
          if (slAt === 0 && sliceReady(ip) === want) slAt = now;
          if (epAt !== 0 && slAt !== 0) resolve();
        };
        waiters.push(check);
      });
      await setReady(`w-${idx}`, ip, want);
      const t0 = performance.now();
      wake();
      await done;
      waiters = [];
      epLat.push(Math.max(0, epAt - t0));
      slLat.push(Math.max(0, slAt - t0));
    }
    await eps.stop();
    await slices.stop();
    const row = (name: string, xs: number[]) =>
      `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 90).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`;
    console.log(`pod readiness flip → visible in a watcher's cache (${podCount} pods behind one Service), ms`);
    console.log('| object | flips | p50 | p90 | p99 | max |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    console.log(row('Endpoints', epLat));
    console.log(row('EndpointSlice', slLat));
  } finally {
    await close();
    await c.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
