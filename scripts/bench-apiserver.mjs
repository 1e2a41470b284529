#!/usr/bin/env node
// Benchmarks the kube-apiserver process over a real 3-member kemu etcd on loopback and prints a table.
//
//   npx tsc -b && node scripts/bench-apiserver.mjs [--clients 32] [--creates 3000] [--watchers 100] [--quick]
//
// Phases (closed-loop workers over keep-alive HTTP/1.1, JSON bodies, as kubectl and client-go send):
//   create  N concurrent clients POST pods (defaulting, admission, validation, etcd txn)
//   get     the same clients GET those pods by name (etcd read)
//   list    GET a namespace's pods with limit=500 (paged etcd range + JSON)
//   watch   W watchers stream the namespace's configmaps (from the watch cache); a writer creates
//           configmaps stamped with the send time; delivery latency = receipt - send, per event
//           per watcher.
// Targets (issue 5): >= 500 pod creates/s with p99 < 100 ms; watch delivery p99 < 50 ms.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ETCD_MAIN = path.join(root, 'packages/etcd/dist/src/member/main.js');
const APISERVER_MAIN = path.join(root, 'packages/apiserver/dist/src/main.js');

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CLIENTS = flag('clients', 32);
const CREATES = flag('creates', QUICK ? 1000 : 3000);
const LISTS = flag('lists', QUICK ? 20 : 50);
const WATCHERS = flag('watchers', 100);
const WATCH_EVENTS = flag('watch-events', QUICK ? 100 : 300);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const procs = [];
function start(argv, log) {
  const out = fs.openSync(log, 'a');
  const p = spawn(process.execPath, argv, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, KEMU_LOG_LEVEL: 'warn' },
  });
  fs.closeSync(out);
  procs.push(p);
  return p;
}
function cleanup() {
  for (const p of procs) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {}
  }
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 8 });
let base = '';

function request(method, p, body) {
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
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function closedLoop(total, fn) {
  const lat = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = performance.now();
        const ok = await fn(i);
        lat.push(performance.now() - s);
        if (!ok) errors++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { ops: total / secs, p50: pct(lat, 50), p99: pct(lat, 99), errors };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-bench-apiserver-'));
const ports = [await freePort(), await freePort(), await freePort()];
const peers = ports.map((p, i) => `etcd-${i}=ws://127.0.0.1:${p}`).join(',');
for (const [i, port] of ports.entries()) {
  start(
    [
      ETCD_MAIN,
      '--name',
      `etcd-${i}`,
      '--data-dir',
      path.join(dir, `etcd-${i}`),
      '--listen',
      `127.0.0.1:${port}`,
      '--peers',
      peers,
    ],
    path.join(dir, `etcd-${i}.log`),
  );
}
const apiPort = await freePort();
start(
  [APISERVER_MAIN, '--etcd-servers', ports.map((p) => `ws://127.0.0.1:${p}`).join(','), '--port', String(apiPort)],
  path.join(dir, 'apiserver.log'),
);
base = `http://127.0.0.1:${apiPort}`;
const deadline = Date.now() + 30000;
for (;;) {
  try {
    const r = await request('GET', '/api/v1/namespaces/default');
    if (r.status === 200) break;
  } catch {}
  if (Date.now() > deadline) throw new Error(`apiserver did not come up; logs in ${dir}`);
  await new Promise((r) => setTimeout(r, 100));
}

const pod = (i) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `bench-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
  spec: { containers: [{ name: 'c', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
});

// Warm-up (JIT, connections).
await closedLoop(
  200,
  async (i) => (await request('POST', '/api/v1/namespaces/default/pods', pod(`warm-${i}`))).status === 201,
);

const rows = [];
const create = await closedLoop(
  CREATES,
  async (i) => (await request('POST', '/api/v1/namespaces/default/pods', pod(i))).status === 201,
);
rows.push(['create pod', create]);
const get = await closedLoop(
  CREATES,
  async (i) => (await request('GET', `/api/v1/namespaces/default/pods/bench-${i}`)).status === 200,
);
rows.push(['get pod', get]);
const list = await closedLoop(
  LISTS,
  async () => (await request('GET', '/api/v1/namespaces/default/pods?limit=500')).status === 200,
);
rows.push(['list 500 pods', list]);

// Watch delivery.
const delivery = [];
const watchers = [];
let received = 0;
for (let w = 0; w < WATCHERS; w++) {
  watchers.push(
    new Promise((resolve, reject) => {
      const req = http.get(`${base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0`, (res) => {
        let buf = '';
        res.on('data', (chunk) => {
          const now = Date.now() + (performance.now() % 1);
          buf += chunk;
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const ev = JSON.parse(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            nl = buf.indexOf('\n');
            const sent = Number(ev.object?.data?.sentAt);
            if (ev.type === 'ADDED' && sent > 0) {
              delivery.push(now - sent);
              received++;
            }
          }
        });
        resolve(req);
      });
      req.on('error', reject);
    }),
  );
}
const watchReqs = await Promise.all(watchers);
const wStart = performance.now();
for (let i = 0; i < WATCH_EVENTS; i++) {
  const r = await request('POST', '/api/v1/namespaces/default/configmaps', {
    metadata: { name: `w-${i}` },
    data: { sentAt: String(Date.now() + (performance.now() % 1)) },
  });
  if (r.status !== 201) throw new Error(`configmap create failed: ${r.body}`);
  // A steady, moderate write rate: delivery latency is measured, not the writer's throughput.
  await new Promise((r) => setTimeout(r, 5));
}
const want = WATCH_EVENTS * WATCHERS;
const wDeadline = Date.now() + 30000;
while (received < want && Date.now() < wDeadline) await new Promise((r) => setTimeout(r, 50));
const wSecs = (performance.now() - wStart) / 1000;
for (const r of watchReqs) r.destroy();
delivery.sort((a, b) => a - b);

const fmt = (n) => (Number.isFinite(n) ? n.toFixed(1) : '-');
console.log(
  `\nkube-apiserver benchmark: ${CLIENTS} clients, 3 etcd members, loopback, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
);
console.log('| operation | ops/s | p50 ms | p99 ms | errors |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, r] of rows)
  console.log(`| ${name} | ${r.ops.toFixed(0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} |`);
console.log(
  `| watch delivery (${WATCHERS} watchers x ${WATCH_EVENTS} events) | ${(received / wSecs).toFixed(0)} ev/s | ${fmt(pct(delivery, 50))} | ${fmt(pct(delivery, 99))} | ${want - received} missing |`,
);
console.log(`targets: create >= 500/s with p99 < 100 ms; watch delivery p99 < 50 ms`);
// CPU seconds each process used over the whole run (Linux /proc), to see where the time went.
const cpu = (pid) => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
};
const names = ['etcd-0', 'etcd-1', 'etcd-2', 'apiserver'];
const self = process.cpuUsage();
console.log(
  `cpu seconds: ${procs.map((p, i) => `${names[i]} ${cpu(p.pid).toFixed(1)}`).join(', ')}, load generator ${((self.user + self.system) / 1e6).toFixed(1)}`,
);
cleanup();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
