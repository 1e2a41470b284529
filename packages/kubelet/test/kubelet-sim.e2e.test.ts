import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Node, Pod } from '@kemu/api';
import { COMPONENT_MAINS, freePort, TestCluster } from '@kemu/testkit';
import { tmpDir, waitUntil } from './kubelet-e2e-helpers.js';

let c: TestCluster;
let admin: string;
const N = 20;

before(async () => {
  c = await TestCluster.start({ etcd: 1, apiserverArgs: [] });
  const port = await freePort();
  admin = `http://127.0.0.1:${port}`;
  c.startComponent('kubelet-sim', COMPONENT_MAINS.kubelet, [
    '--apiserver',
    c.wireUrl,
    '--runtime',
    'sim',
    '--sim-nodes',
    String(N),
    '--sim-node-prefix',
    'sim-',
    '--root-dir',
    tmpDir('kemu-kubelet-sim-'),
    '--admin-port',
    String(port),
  ]);
});

after(async () => {
  await c?.destroy();
});

const dump = () => c.dumpLogs(40);

async function nodes(): Promise<Node[]> {
  return (await c.getJson<{ items: Node[] }>(['nodes'])).items;
}

test(`--runtime sim --sim-nodes ${N}: every node registers and is Ready`, async () => {
  const ready = await waitUntil(
    'all sim nodes Ready',
    async () => {
      const ns = await nodes();
      const r = ns.filter((n) => n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True');
      return r.length === N ? r : undefined;
    },
    { timeoutMs: 30_000, dump },
  );
  const names = ready.map((n) => n.metadata.name).sort();
  assert.deepEqual(names, Array.from({ length: N }, (_, i) => `sim-${i + 1}`).sort());
  assert.equal(ready[0]?.status?.nodeInfo?.containerRuntimeVersion, 'kemu-sim://0.1.0');
});

test('pods bound to sim nodes run, with unique pod IPs', async () => {
  const pods: Pod[] = [];
  for (let i = 0; i < 2 * N; i++) {
    pods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `sp-${i}`, namespace: 'default' },
      spec: { nodeName: `sim-${(i % N) + 1}`, containers: [{ name: 'c', image: 'nginx' }] },
    });
  }
  await c.k(['apply', '--validate=false', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }),
  });
  const running = await waitUntil(
    'all sim pods Running and Ready',
    async () => {
      const items = (await c.getJson<{ items: Pod[] }>(['pods'])).items.filter((p) =>
        p.metadata.name?.startsWith('sp-'),
      );
      const ok = items.filter(
        (p) => p.status?.phase === 'Running' && p.status.conditions?.find((x) => x.type === 'Ready')?.status === 'True',
      );
      return ok.length === 2 * N ? ok : undefined;
    },
    { timeoutMs: 30_000, dump },
  );
  const ips = new Set(running.map((p) => p.status?.podIP));
  assert.equal(ips.size, 2 * N, 'pod IPs are unique across sim nodes');
});

test('admin endpoint addresses one sim node with ?node=', async () => {
  const bad = await fetch(`${admin}/runtime/stop`, { method: 'POST' });
  assert.equal(bad.status, 400);
  const stop = await fetch(`${admin}/runtime/stop?node=sim-3`, { method: 'POST' });
  assert.equal(stop.status, 200);
  await waitUntil(
    'sim-3 NotReady',
    async () => {
      const n = (await nodes()).find((x) => x.metadata.name === 'sim-3');
      return n?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'False';
    },
    { timeoutMs: 10_000, dump },
  );
  const others = (await nodes()).filter(
    (n) => n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True',
  );
  assert.equal(others.length, N - 1);
  await fetch(`${admin}/runtime/start?node=sim-3`, { method: 'POST' });
  await waitUntil(
    'sim-3 Ready',
    async () => {
      const n = (await nodes()).find((x) => x.metadata.name === 'sim-3');
      return n?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
    },
    { timeoutMs: 10_000, dump },
  );
});
