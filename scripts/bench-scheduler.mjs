#!/usr/bin/env node
// Benchmarks the kube-scheduler process against a real etcd (1 member) + kube-apiserver on loopback
// and prints a table.
//
//   npx tsc -b && node scripts/bench-scheduler.mjs [--quick] [--pods 1000,5000] [--nodes 100,1000] [--scheduler-main wrapper.mjs]
//
// For each node count (Node objects created over the wire API, 32 cpu / 128Gi / 250 pods, 3 zones;
// pods of earlier scenarios stay bound, so 100 nodes must hold 12,000 of them):
//   backlog  the scheduler is stopped; P pods (100m/128Mi, one ReplicaSet owner so default spreading
//            applies) are created; then the scheduler starts: bound/s from its first binding to its
//            last (what the scheduler itself sustains, independent of the apiserver's create rate),
//            plus the time from process start to the first binding (list + sync + leader election).
//   online   the scheduler runs; P pods are created as fast as the apiserver takes them: bound/s over
//            the window and per-pod latency from create request to the binding seen on a watch.
// Then, if the controller-manager is built, the time from creating a 1,000-replica Deployment to all
// of its pods bound; otherwise that row says it needs the controller-manager.
// Target (issue 6): >= 1,000 pods/s at 1,000 nodes.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

process.env.KEMU_LOG_LEVEL = process.env.KEMU_LOG_LEVEL ?? 'warn';

const { WireApiClient } = await import('@kemu/client');
const { silentLogger } = await import('@kemu/runtime');
const { WireClient } = await import('@kemu/wire');
const { COMPONENT_MAINS, TestCluster, freePort } = await import('@kemu/testkit');
const { SchedulerCache, schedule } = await import('@kemu/scheduler');
const { SeededRandom } = await import('@kemu/runtime');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const listFlag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0
    ? String(args[i + 1])
        .split(',')
        .map(Number)
    : dflt;
};
const NODE_COUNTS = listFlag('nodes', QUICK ? [100] : [100, 1000]);
const POD_COUNTS = listFlag('pods', QUICK ? [500] : [1000, 5000]);
const DEPLOYMENT_REPLICAS = QUICK ? 200 : 1000;
// For profiling: a wrapper script that starts a profiler and then imports the scheduler's main.
const SCHEDULER_MAIN = (() => {
  const i = args.indexOf('--scheduler-main');
  return i >= 0 ? path.resolve(String(args[i + 1])) : undefined;
})();
const CREATE_CONCURRENCY = 64;

const log = silentLogger();
const cluster = await TestCluster.start({ etcd: 1, prefix: 'kemu-bench-scheduler-' });
let wire;
let scheduler;
/** Set when the run ends, so open watches stop instead of retrying against a closed client. */
let closing = false;
const rows = [];
let ok = false;
try {
  wire = new WireClient({
    identity: 'bench/scheduler',
    log,
    url: `${cluster.wireUrl}/wire`,
    requestTimeoutMs: 120_000,
  });
  await wire.start().whenConnected(10_000);
  const api = new WireApiClient({ wire });
  const podsApi = api.resource('pods');
  const nodesApi = api.resource('nodes');

  let nodesMade = 0;
  let schedulerSeq = 0;
  let adminPort = 0;
  const startScheduler = async () => {
    const name = `kube-scheduler-${schedulerSeq++}`;
    adminPort = await freePort();
    const t = performance.now();
    scheduler = cluster.startComponent(name, SCHEDULER_MAIN ?? COMPONENT_MAINS.scheduler, [
      '--apiserver',
      cluster.wireUrl,
      '--name',
      name,
      '--admin-port',
      String(adminPort),
      // The profile only sets leader-election timings; real's 10 s renew deadline keeps the leader
      // alive when the shared machine is so loaded that the apiserver stalls for seconds.
      '--profile',
      'real',
    ]);
    return t;
  };
  const stopScheduler = async () => {
    await scheduler?.stopGracefully();
    scheduler = undefined;
  };

  for (const nodeCount of NODE_COUNTS) {
    const t0 = performance.now();
    const need = [];
    for (let i = nodesMade; i < nodeCount; i++) need.push(i);
    await pool(need, CREATE_CONCURRENCY, (i) => nodesApi.create(nodeObject(i)));
    nodesMade = Math.max(nodesMade, nodeCount);
    const nodeSecs = (performance.now() - t0) / 1000;
    console.error(`${nodeCount} nodes ready (${need.length} created in ${nodeSecs.toFixed(1)} s)`);

    for (const podCount of POD_COUNTS) {
      // backlog: pods first, scheduler second
      const nsBacklog = `backlog-${nodeCount}-${podCount}`;
      await api.resource('namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsBacklog } });
      const watchB = watchBindings(podsApi, nsBacklog);
      await watchB.ready;
      const tc = performance.now();
      await pool(range(podCount), CREATE_CONCURRENCY, (i) => podsApi.create(podObject(nsBacklog, i)));
      const createRate = podCount / ((performance.now() - tc) / 1000);
      const startedAt = await startScheduler();
      // CPU from the first binding on: process start-up and the initial list are not per-pod work.
      let cpuStart;
      watchB.onFirstBound = () => {
        cpuStart = cpuSnapshot();
      };
      await watchB.untilBound(podCount, 300_000);
      watchB.stop();
      const cpu = cpuSince(cpuStart, podCount);
      const bound = [...watchB.boundAt.values()].sort((a, b) => a - b);
      const first = bound[0];
      const last = bound[bound.length - 1];
      rows.push({
        scenario: `backlog ${podCount} pods`,
        nodes: nodeCount,
        boundPerSec: podCount / ((last - first) / 1000),
        note:
          `start→first binding ${((first - startedAt) / 1000).toFixed(2)} s; pods created at ${createRate.toFixed(0)}/s; ` +
          `CPU ms per pod: ${cpu}`,
      });
      printRow(rows[rows.length - 1]);

      // online: scheduler running; create and watch latency
      const nsOnline = `online-${nodeCount}-${podCount}`;
      await api.resource('namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsOnline } });
      const watchO = watchBindings(podsApi, nsOnline);
      await watchO.ready;
      const createdAt = new Map();
      const to = performance.now();
      await pool(range(podCount), CREATE_CONCURRENCY, async (i) => {
        const p = podObject(nsOnline, i);
        createdAt.set(p.metadata.name, performance.now());
        await podsApi.create(p);
      });
      const createSecs = (performance.now() - to) / 1000;
      await watchO.untilBound(podCount, 300_000);
      watchO.stop();
      const latencies = [...watchO.boundAt].map(([name, t]) => t - (createdAt.get(name) ?? t)).sort((a, b) => a - b);
      const lastBound = Math.max(...watchO.boundAt.values());
      rows.push({
        scenario: `online ${podCount} pods`,
        nodes: nodeCount,
        boundPerSec: podCount / ((lastBound - to) / 1000),
        p50: pct(latencies, 0.5),
        p99: pct(latencies, 0.99),
        note: `created at ${(podCount / createSecs).toFixed(0)}/s`,
      });
      printRow(rows[rows.length - 1]);
      const metrics = await schedulerMetrics(adminPort);
      if (metrics) console.error(`  scheduler: ${metrics}`);
      await stopScheduler();
    }
  }

  // Deployment → all replicas bound (needs the controller-manager's deployment + replicaset controllers)
  const cmMain = path.join(root, 'packages/controller-manager/dist/src/main.js');
  if (fs.existsSync(cmMain) && fs.existsSync(COMPONENT_MAINS.controllerManager)) {
    await startScheduler();
    cluster.startComponent('kube-controller-manager', COMPONENT_MAINS.controllerManager, [
      '--apiserver',
      cluster.wireUrl,
      '--name',
      'kube-controller-manager',
      '--profile',
      'fast',
    ]);
    const ns = 'deploy';
    await api.resource('namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const watchD = watchBindings(podsApi, ns);
    await watchD.ready;
    const t = performance.now();
    await api.resource('deployments.apps').create(deploymentObject(ns, DEPLOYMENT_REPLICAS));
    await watchD.untilBound(DEPLOYMENT_REPLICAS, 600_000);
    watchD.stop();
    const secs = (performance.now() - t) / 1000;
    rows.push({
      scenario: `Deployment ${DEPLOYMENT_REPLICAS} replicas → all bound`,
      nodes: nodesMade,
      boundPerSec: DEPLOYMENT_REPLICAS / secs,
      note: `${secs.toFixed(1)} s from create to the last binding`,
    });
  } else {
    rows.push({
      scenario: `Deployment ${DEPLOYMENT_REPLICAS} replicas → all bound`,
      nodes: nodesMade,
      note: 'needs controller-manager (packages/controller-manager/dist/src/main.js not built)',
    });
  }
  printRow(rows[rows.length - 1]);

  // The decision core alone, in this process: the same nodes and pods, schedule() + assume on the
  // live cache, no I/O. What the scheduling loop costs when it has a core to itself.
  for (const nodeCount of NODE_COUNTS) {
    const podCount = Math.max(...POD_COUNTS);
    const r = coreThroughput(nodeCount, podCount);
    rows.push({
      scenario: `core only (in-process schedule + assume) ${podCount} pods`,
      nodes: nodeCount,
      boundPerSec: r.perSec,
      note: `${r.cpuMsPerPod.toFixed(3)} CPU ms per pod`,
    });
    printRow(rows[rows.length - 1]);
  }
  ok = true;
} catch (err) {
  console.error(err);
  console.error(cluster.dumpLogs(40));
} finally {
  closing = true;
  await wire?.close();
  await cluster.destroy();
}

console.log('');
console.log('| scenario | nodes | pods bound/s | p50 create→bound | p99 create→bound | notes |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${r.nodes} | ${r.boundPerSec === undefined ? '—' : r.boundPerSec.toFixed(0)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.note ?? ''} |`,
  );
}
process.exit(ok ? 0 : 1);

// ---- helpers -----------------------------------------------------------------------------------

function coreThroughput(nodeCount, podCount) {
  const cache = new SchedulerCache();
  for (let i = 0; i < nodeCount; i++) cache.addOrUpdateNode(nodeObject(i));
  const random = new SeededRandom(1);
  let start = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < podCount; i++) {
    const pod = podObject('core', i);
    const r = schedule(pod, cache.snapshot, { random, startNodeIndex: start });
    if ('fitError' in r) throw r.fitError;
    start = r.nextStartNodeIndex;
    cache.assume(pod, r.node);
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSec: podCount / secs, cpuMsPerPod: (cpu.user + cpu.system) / 1000 / podCount };
}

/** utime + stime of a process in ms (Linux /proc; clock ticks are 100 Hz on every kernel we run on). */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function cpuSnapshot() {
  return {
    scheduler: { pid: scheduler.proc.pid, ms: cpuMs(scheduler.proc.pid) },
    apiserver: { pid: cluster.apiserver.proc.pid, ms: cpuMs(cluster.apiserver.proc.pid) },
    etcd: { pid: cluster.etcd[0].proc.pid, ms: cpuMs(cluster.etcd[0].proc.pid) },
  };
}

/** CPU each process spent per pod since the snapshot, e.g. `scheduler 0.61, apiserver 1.9, etcd 0.8`. */
function cpuSince(snap, pods) {
  return Object.entries(snap)
    .map(([name, { pid, ms }]) => `${name} ${((cpuMs(pid) - ms) / pods).toFixed(2)}`)
    .join(', ');
}

function printRow(r) {
  console.error(
    `  ${r.scenario} @ ${r.nodes} nodes: ${r.boundPerSec === undefined ? '—' : `${r.boundPerSec.toFixed(0)} bound/s`}` +
      `${r.p99 !== undefined ? `, p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)}` : ''}${r.note ? ` (${r.note})` : ''}`,
  );
}

function fmtMs(ms) {
  if (ms === undefined) return '—';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function pct(sorted, q) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

async function pool(items, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      for (let attempt = 0; ; attempt++) {
        try {
          await fn(item);
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Watches a namespace's pods and records when each is first seen with a nodeName. */
function watchBindings(podsApi, namespace) {
  const boundAt = new Map();
  let resolveReady;
  const ready = new Promise((r) => {
    resolveReady = r;
  });
  let stream;
  let stopped = false;
  const run = async () => {
    const list = await podsApi.list({ namespace });
    let rv = list.resourceVersion;
    resolveReady();
    while (!stopped) {
      stream = podsApi.watch({ namespace, resourceVersion: rv, allowBookmarks: true });
      try {
        for await (const ev of stream) {
          if (ev.type === 'ERROR') break;
          rv = ev.object.metadata.resourceVersion ?? rv;
          if (ev.type === 'BOOKMARK') continue;
          const name = ev.object.metadata.name;
          if ((ev.object.spec?.nodeName ?? '') !== '' && !boundAt.has(name)) {
            boundAt.set(name, performance.now());
            if (boundAt.size === 1) handle.onFirstBound?.();
          }
        }
      } catch (err) {
        if (stopped || closing) return;
        console.error(`watch ${namespace} broke: ${err.message}; resuming`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  void run();
  const handle = {
    onFirstBound: undefined,
    ready,
    boundAt,
    stop() {
      stopped = true;
      stream?.cancel();
    },
    async untilBound(n, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (boundAt.size < n) {
        if (scheduler !== undefined && !scheduler.running) {
          throw new Error(`the scheduler exited:\n${scheduler.logs().split('\n').slice(-5).join('\n')}`);
        }
        if (Date.now() > deadline) throw new Error(`timed out: ${boundAt.size}/${n} pods bound in ${namespace}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  return handle;
}

async function schedulerMetrics(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const pick = (re) => text.match(re)?.[1];
    const count = Number(
      pick(/^scheduler_scheduling_attempt_duration_seconds_count\{result="scheduled"[^}]*\} (\S+)$/m),
    );
    const sum = Number(pick(/^scheduler_scheduling_attempt_duration_seconds_sum\{result="scheduled"[^}]*\} (\S+)$/m));
    const bind = Number(pick(/^scheduler_binding_duration_seconds_sum (\S+)$/m));
    const binds = Number(pick(/^scheduler_binding_duration_seconds_count (\S+)$/m));
    return `${count} attempts, mean attempt ${((sum / count) * 1000).toFixed(3)} ms, mean binding call ${((bind / binds) * 1000).toFixed(1)} ms`;
  } catch {
    return undefined;
  }
}

function nodeObject(i) {
  const name = `sim-${String(i).padStart(4, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/zone': `zone-${i % 3}`,
      },
    },
    spec: {},
    status: {
      capacity: { cpu: '32', memory: '128Gi', pods: '250' },
      allocatable: { cpu: '32', memory: '128Gi', pods: '250' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
    },
  };
}

function podObject(namespace, i) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `p-${i}`,
      namespace,
      labels: { app: 'bench' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'bench-rs',
          uid: '00000000-0000-4000-8000-000000000001',
          controller: true,
        },
      ],
    },
    spec: {
      containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
    },
  };
}

function deploymentObject(namespace, replicas) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench', namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'bench-deploy' } },
      template: {
        metadata: { labels: { app: 'bench-deploy' } },
        spec: {
          containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
        },
      },
    },
  };
}
