#!/usr/bin/env node
// Kubelet benchmark: (A) RSS of one process-runtime kubelet idle and with 10 nginx pods; (B) one
// `--runtime sim --sim-nodes N` process hosting N nodes with P pods: time until every node is Ready
// and every pod Running, then the kubelet process's CPU and RSS in steady state (leases, node status,
// relists), against a real etcd (1 member) + kube-apiserver started by TestCluster.
//
//   npx tsc -b && node scripts/bench-kubelet.mjs [--nodes 1000] [--pods 10000] [--steady-s 30] [--quick]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { TestCluster, COMPONENT_MAINS, freePort } = await import(path.join(root, 'packages/testkit/dist/src/index.js'));
const { WireApiClient, isAlreadyExists, isRetryable } = await import(
  path.join(root, 'packages/client/dist/src/index.js')
);
const { WireClient } = await import(path.join(root, 'packages/wire/dist/src/index.js'));
const { silentLogger } = await import(path.join(root, 'packages/runtime/dist/src/index.js'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const QUICK = process.argv.includes('--quick');
const NODES = arg('nodes', QUICK ? 100 : 1000);
const PODS = arg('pods', QUICK ? 1000 : 10000);
const STEADY_S = arg('steady-s', QUICK ? 10 : 30);
const rows = [];
const row = (what, value) => {
  rows.push([what, value]);
  console.error(`  ${what}: ${value}`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(parts[11]) + Number(parts[12]);
};
const TICK = 100; // USER_HZ on Linux

async function until(what, cond, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await cond()) return Date.now() - t0;
    } catch (err) {
      if (!isRetryable(err)) throw err;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

const c = await TestCluster.start({ etcd: 1, apiserverArgs: [] });
const wire = new WireClient({ identity: 'bench/kubelet', log: silentLogger(), url: `${c.wireUrl}/wire` });
await wire.start().whenConnected(10000);
const api = new WireApiClient({ wire, timeoutMs: 60000 });
const pods = api.resource('pods');
const nodes = api.resource('nodes');
const isReady = (n) => n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';

try {
  // ---- A: one process-runtime node ----
  console.error('A: process runtime, one node');
  const procRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-kubelet-proc-'));
  const kp = c.startComponent('kubelet-proc', COMPONENT_MAINS.kubelet, [
    '--apiserver',
    c.wireUrl,
    '--node-name',
    'bench-proc',
    '--root-dir',
    procRoot,
    '--admin-port',
    String(await freePort()),
    '--pod-cidr',
    '127.77.0.0/16',
  ]);
  const readyMs = await until(
    'process node Ready',
    async () => {
      try {
        return isReady(await nodes.get('bench-proc'));
      } catch {
        return false;
      }
    },
    30000,
  );
  row('process node: start → Ready (ms)', readyMs);
  await sleep(5000);
  row('process node: RSS idle (MiB)', rssMiB(kp.proc.pid).toFixed(1));
  for (let i = 0; i < 10; i++) {
    await pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${i}`, namespace: 'default' },
      spec: { nodeName: 'bench-proc', containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] },
    });
  }
  const runMs = await until(
    '10 nginx pods Running',
    async () => {
      const l = await pods.list({ namespace: 'default', fieldSelector: 'spec.nodeName=bench-proc' });
      return l.items.filter((p) => p.status?.phase === 'Running').length === 10;
    },
    60000,
  );
  row('process node: 10 nginx pods create → Running (ms)', runMs);
  await sleep(5000);
  row('process node: RSS with 10 pods (MiB, kubelet only)', rssMiB(kp.proc.pid).toFixed(1));
  await kp.kill9();
  for (let i = 0; i < 10; i++)
    await pods.delete(`web-${i}`, { namespace: 'default', gracePeriodSeconds: 0 }).catch(() => {});

  // ---- B: sim nodes ----
  console.error(`B: --runtime sim --sim-nodes ${NODES}, ${PODS} pods`);
  const simRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-kubelet-sim-'));
  const t0 = Date.now();
  const ks = c.startComponent('kubelet-sim', COMPONENT_MAINS.kubelet, [
    '--apiserver',
    c.wireUrl,
    '--runtime',
    'sim',
    '--sim-nodes',
    String(NODES),
    '--sim-node-prefix',
    'sim-',
    '--root-dir',
    simRoot,
    '--admin-port',
    String(await freePort()),
  ]);
  await until(
    `${NODES} nodes Ready`,
    async () => {
      const l = await nodes.list({});
      return l.items.filter((n) => n.metadata.name.startsWith('sim-') && isReady(n)).length === NODES;
    },
    600000,
  );
  row(`sim: process start → ${NODES} nodes Ready (s)`, ((Date.now() - t0) / 1000).toFixed(1));
  row('sim: RSS with nodes, no pods (MiB)', rssMiB(ks.proc.pid).toFixed(1));
  const t1 = Date.now();
  let next = 0;
  const workers = Array.from({ length: 32 }, async () => {
    while (next < PODS) {
      const i = next++;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `sp-${i}`, namespace: 'default' },
        spec: { nodeName: `sim-${(i % NODES) + 1}`, containers: [{ name: 'c', image: 'nginx' }] },
      };
      // An overloaded shared machine can stall the apiserver long enough for the wire to give up on
      // it: retry (AlreadyExists means an earlier attempt landed).
      for (let attempt = 0; ; attempt++) {
        try {
          await pods.create(pod);
          break;
        } catch (err) {
          if (isAlreadyExists(err)) break;
          if (!isRetryable(err) || attempt > 20) throw err;
          await sleep(500);
        }
      }
    }
  });
  await Promise.all(workers);
  row(`sim: ${PODS} pods created (s)`, ((Date.now() - t1) / 1000).toFixed(1));
  await until(
    `${PODS} pods Running`,
    async () => {
      const l = await pods.list({ namespace: 'default', fieldSelector: 'status.phase=Running' });
      return l.items.filter((p) => p.metadata.name.startsWith('sp-')).length === PODS;
    },
    900000,
  );
  row(`sim: first create → ${PODS} pods Running (s)`, ((Date.now() - t1) / 1000).toFixed(1));
  await sleep(3000);
  const c0 = cpuTicks(ks.proc.pid);
  const a0 = cpuTicks(c.apiserver.proc.pid);
  await sleep(STEADY_S * 1000);
  const cpu = (cpuTicks(ks.proc.pid) - c0) / TICK / STEADY_S;
  const acpu = (cpuTicks(c.apiserver.proc.pid) - a0) / TICK / STEADY_S;
  row(`sim: steady kubelet CPU over ${STEADY_S}s (cores)`, cpu.toFixed(2));
  row(`sim: steady apiserver CPU over ${STEADY_S}s (cores)`, acpu.toFixed(2));
  row('sim: steady kubelet RSS (MiB)', rssMiB(ks.proc.pid).toFixed(1));
  const notReady = (await nodes.list({})).items.filter((n) => n.metadata.name.startsWith('sim-') && !isReady(n)).length;
  row('sim: nodes not Ready at the end', notReady);
  // Every sim node's Lease must be fresh (renewed within its 4 s duration, fast profile).
  const leases = (await api.resource('leases.coordination.k8s.io').list({ namespace: 'kube-node-lease' })).items;
  const now = Date.now();
  const stale = leases.filter(
    (l) => l.metadata.name.startsWith('sim-') && now - Date.parse(l.spec.renewTime) > 4000,
  ).length;
  row('sim: node Leases older than their 4 s duration', stale);
} finally {
  await wire.close();
  await c.destroy();
}

const w = Math.max(...rows.map((r) => r[0].length));
console.log(`\nkubelet benchmark (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)})`);
console.log(`| ${'measure'.padEnd(w)} | value |`);
console.log(`|${'-'.repeat(w + 2)}|------:|`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
