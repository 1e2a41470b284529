#!/usr/bin/env node
// Pod startup and kubelet scale benchmarks (issue 7, acceptance 3), against real processes: one etcd
// member, the apiserver and kubelet(s) from the built tree, driven over the apiserver's HTTP API the
// way kubectl does. Prints one table with the targets.
//
//   npx tsc -b && node scripts/bench-pods.mjs [--quick] [--only latency|scale] [--profile fast|real] [--via-scheduler]
//
// What is measured:
// - startup latency: pods created with `spec.nodeName` preassigned (no scheduler in the way), 10
//   creations in flight; latency = from the start of each pod's POST to the first watch event that
//   shows it `Running`, seen through one HTTP watch (what `kubectl get -w` sees). 100 pods per runtime
//   (process: `busybox sleep`; sim: the same spec, no process).
// - kubelet RSS: VmRSS of the process-runtime kubelet (/proc/<pid>/status) with those 100 pods Running.
// - scale: one kubelet process with `--runtime sim --sim-nodes 1000`: time from its start until the
//   apiserver lists 1,000 Ready nodes; then 10,000 pods created round-robin on them with
//   `spec.nodeName` preassigned (32 creations in flight): time from the first POST until every pod
//   is seen Running.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { TestCluster, COMPONENT_MAINS, freePort, waitFor } = await import(
  path.join(root, 'packages/testkit/dist/src/index.js')
);

const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const LATENCY_PODS = QUICK ? 30 : 100;
const SIM_NODES = QUICK ? 200 : 1000;
const SCALE_PODS = QUICK ? 2000 : 10000;
// The kubelets' timing profile (`kemu up` runs `fast`: heartbeats every second, so 1,000 sim nodes
// alone write ~2,000 times a second; `real` writes a tenth of that).
const PROFILE = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : 'fast';
// `--via-scheduler`: the scale pods are created without spec.nodeName and bound by the real
// kube-scheduler process (default: spec.nodeName preassigned round-robin).
const VIA_SCHEDULER = process.argv.includes('--via-scheduler');

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(base, method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${base}${p}`,
      {
        method,
        agent,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300)
            reject(new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 300)}`));
          else resolve(text === '' ? undefined : JSON.parse(text));
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** One HTTP watch on pods (NDJSON); calls onPod for every event object. */
function watchPods(base, query, onPod) {
  let stopped = false;
  let req;
  const start = (rv) => {
    if (stopped) return;
    const q = new URLSearchParams({ watch: 'true', ...query, ...(rv ? { resourceVersion: rv } : {}) });
    req = http.get(`${base}/api/v1/pods?${q}`, (res) => {
      let buf = '';
      let last = rv;
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i = buf.indexOf('\n');
        while (i >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          i = buf.indexOf('\n');
          if (line === '') continue;
          const ev = JSON.parse(line);
          if (ev.type === 'ERROR') continue;
          last = ev.object?.metadata?.resourceVersion ?? last;
          onPod(ev.object);
        }
      });
      res.on('end', () => start(last));
    });
    req.on('error', () => setTimeout(() => start(rv), 200));
  };
  return {
    async begin() {
      const list = await request(base, 'GET', `/api/v1/pods?${new URLSearchParams(query)}`);
      for (const p of list.items) onPod(p);
      start(list.metadata.resourceVersion);
    },
    stop() {
      stopped = true;
      req?.destroy();
    },
  };
}

function podObject(name, nodeName) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { bench: 'pods' } },
    spec: {
      ...(nodeName !== undefined ? { nodeName } : {}),
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }],
    },
  };
}

/** Creates pods with `inFlight` POSTs at a time; returns each pod's POST start time (ms, monotonic). */
async function createPods(base, names, nodeOf, inFlight) {
  const started = new Map();
  let next = 0;
  async function worker() {
    while (next < names.length) {
      const name = names[next++];
      started.set(name, performance.now());
      await request(base, 'POST', '/api/v1/namespaces/default/pods', podObject(name, nodeOf(name)));
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  return started;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function vmRssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function startKubelet(c, name, args) {
  const port = await freePort();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `kemu-bench-${name}-`));
  const proc = c.startComponent(name, COMPONENT_MAINS.kubelet, [
    '--apiserver',
    c.wireUrl,
    '--root-dir',
    root,
    '--node-ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--profile',
    PROFILE,
    ...args,
  ]);
  return { proc, root };
}

async function nodeReady(base, name) {
  const node = await request(base, 'GET', `/api/v1/nodes/${name}`).catch(() => undefined);
  return node?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;
}

/** Startup latency of `LATENCY_PODS` pods on one kubelet with the given runtime. */
async function latency(runtime) {
  const c = await TestCluster.start({ prefix: `kemu-bench-${runtime}-` });
  try {
    const node = `bench-${runtime}`;
    const cidr = runtime === 'process' ? '127.41.0.0/16' : '127.42.0.0/16';
    const { proc } = await startKubelet(c, `kubelet-${runtime}`, [
      '--node-name',
      node,
      '--runtime',
      runtime,
      '--pod-cidr',
      cidr,
    ]);
    await waitFor(`node ${node} Ready`, () => nodeReady(c.apiserverUrl, node), { timeoutMs: 60_000, intervalMs: 100 });
    const idleRss = vmRssMiB(proc.proc.pid);
    const running = new Map();
    // The first write by the kubelet (hostIP set): splits the latency into "kubelet saw it" and "started it".
    const firstStatus = new Map();
    // The first watch event (ADDED): what the apiserver → etcd → watch path alone costs.
    const added = new Map();
    const watch = watchPods(c.apiserverUrl, { labelSelector: 'bench=pods' }, (p) => {
      const now = performance.now();
      if (!added.has(p.metadata.name)) added.set(p.metadata.name, now);
      if (p.status?.hostIP !== undefined && !firstStatus.has(p.metadata.name)) firstStatus.set(p.metadata.name, now);
      if (p.status?.phase === 'Running' && !running.has(p.metadata.name)) running.set(p.metadata.name, now);
    });
    await watch.begin();
    const names = Array.from({ length: LATENCY_PODS }, (_, i) => `${runtime}-${i}`);
    const started = await createPods(c.apiserverUrl, names, () => node, 10);
    await waitFor(`${LATENCY_PODS} ${runtime} pods Running`, () => running.size >= LATENCY_PODS, {
      timeoutMs: 180_000,
      intervalMs: 100,
    });
    watch.stop();
    const lat = names.map((n) => running.get(n) - started.get(n)).sort((a, b) => a - b);
    const first = names.map((n) => (firstStatus.get(n) ?? running.get(n)) - started.get(n)).sort((a, b) => a - b);
    const seen = names.map((n) => added.get(n) - started.get(n)).sort((a, b) => a - b);
    const rss = vmRssMiB(proc.proc.pid);
    return {
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      firstP50: percentile(first, 50),
      addedP50: percentile(seen, 50),
      idleRss,
      rss,
    };
  } finally {
    await c.destroy();
  }
}

/** 1,000 sim nodes Ready, then 10,000 pods Running. */
async function scale() {
  const c = await TestCluster.start({ prefix: 'kemu-bench-scale-' });
  try {
    const t0 = performance.now();
    const { proc } = await startKubelet(c, 'kubelet-sim', [
      '--node-name',
      'sim-0',
      '--runtime',
      'sim',
      '--sim-nodes',
      String(SIM_NODES),
      '--sim-node-prefix',
      'sim-',
      '--pod-cidr',
      '127.64.0.0/10',
    ]);
    let nodes = [];
    await waitFor(
      `${SIM_NODES} nodes Ready`,
      async () => {
        const list = await request(c.apiserverUrl, 'GET', '/api/v1/nodes?resourceVersion=0');
        nodes = list.items
          .filter((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
          .map((n) => n.metadata.name);
        return nodes.length >= SIM_NODES;
      },
      { timeoutMs: 300_000, intervalMs: 250 },
    );
    const nodesReadyMs = performance.now() - t0;
    nodes.sort();
    const running = new Set();
    const watch = watchPods(c.apiserverUrl, { labelSelector: 'bench=pods' }, (p) => {
      if (p.status?.phase === 'Running') running.add(p.metadata.name);
    });
    await watch.begin();
    const names = Array.from({ length: SCALE_PODS }, (_, i) => `scale-${i}`);
    const index = new Map(names.map((n, i) => [n, i]));
    if (VIA_SCHEDULER) {
      c.startComponent('kube-scheduler', COMPONENT_MAINS.scheduler, [
        '--apiserver',
        c.wireUrl,
        '--name',
        'kube-scheduler-0',
        '--leader-elect',
        'false',
        '--profile',
        PROFILE,
      ]);
    }
    const t1 = performance.now();
    await createPods(
      c.apiserverUrl,
      names,
      (n) => (VIA_SCHEDULER ? undefined : nodes[index.get(n) % nodes.length]),
      32,
    );
    const createdMs = performance.now() - t1;
    await waitFor(`${SCALE_PODS} pods Running`, () => running.size >= SCALE_PODS, {
      timeoutMs: 600_000,
      intervalMs: 250,
    });
    const podsRunningMs = performance.now() - t1;
    watch.stop();
    const rss = vmRssMiB(proc.proc.pid);
    return { nodesReadyMs, createdMs, podsRunningMs, rss };
  } finally {
    await c.destroy();
  }
}

const rows = [];
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
function row(what, value, target, ok) {
  rows.push([what, value, target, ok ? 'met' : 'NOT met']);
}

if (ONLY === undefined || ONLY === 'latency') {
  const proc = await latency('process');
  row('process: POST → ADDED seen by a watch p50', fmt(proc.addedP50), '', true);
  row('process: first kubelet status write p50', fmt(proc.firstP50), '', true);
  row(`process: pod startup p50 (${LATENCY_PODS} pods)`, fmt(proc.p50), '', true);
  row(`process: pod startup p99 (${LATENCY_PODS} pods)`, fmt(proc.p99), '< 1 s', proc.p99 < 1000);
  row('process: kubelet RSS, node Ready, no pods', `${proc.idleRss.toFixed(1)} MiB`, '', true);
  row(`process: kubelet RSS with ${LATENCY_PODS} pods`, `${proc.rss.toFixed(1)} MiB`, '< 60 MiB', proc.rss < 60);
  const sim = await latency('sim');
  row('sim: POST → ADDED seen by a watch p50', fmt(sim.addedP50), '', true);
  row('sim: first kubelet status write p50', fmt(sim.firstP50), '', true);
  row(`sim: pod startup p50 (${LATENCY_PODS} pods)`, fmt(sim.p50), '', true);
  row(`sim: pod startup p99 (${LATENCY_PODS} pods)`, fmt(sim.p99), '< 100 ms', sim.p99 < 100);
}
if (ONLY === undefined || ONLY === 'scale') {
  const s = await scale();
  row(`${SIM_NODES} sim nodes Ready (from kubelet start)`, fmt(s.nodesReadyMs), '< 60 s', s.nodesReadyMs < 60_000);
  row(`${SCALE_PODS} pods created (32 POSTs in flight)`, fmt(s.createdMs), '', true);
  row(`${SCALE_PODS} pods Running (from first create)`, fmt(s.podsRunningMs), '< 60 s', s.podsRunningMs < 60_000);
  row(`sim kubelet RSS (${SIM_NODES} nodes, ${SCALE_PODS} pods)`, `${s.rss.toFixed(1)} MiB`, '', true);
}

const widths = [0, 1, 2, 3].map((i) =>
  Math.max(...[['measure', 'value', 'target', ''], ...rows].map((r) => r[i].length)),
);
const line = (r) => r.map((v, i) => v.padEnd(widths[i])).join('  ');
console.log(line(['measure', 'value', 'target', '']));
for (const r of rows) console.log(line(r));
console.log(
  `# ${os.cpus().length} cores, node ${process.version}${QUICK ? ', --quick' : ''}; kubelet --profile ${PROFILE}; ${VIA_SCHEDULER ? 'scale pods bound by kube-scheduler, latency pods preassigned' : 'pods get spec.nodeName preassigned (no scheduler)'}`,
);
agent.destroy();
process.exit(0);
