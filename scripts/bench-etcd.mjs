#!/usr/bin/env node
// Benchmarks kemu's etcd (3 members) against real etcd 3.4 (3 members), both on loopback with
// heartbeat 100 ms / election 1000 ms, with the same load generator, and prints a side-by-side table.
//
//   npm run build && node scripts/bench-etcd.mjs [--quick]
//
// How each is driven (and why it is fair): one Node load-generator process drives both clusters with
// the same closed-loop workers (each worker sends one request, waits for the answer, sends the next).
// kemu is spoken to through its own client (`EtcdClient`, msgpack over WebSocket, the way the
// apiserver talks to it). Real etcd is spoken to through its HTTP/JSON gRPC gateway (`/v3/kv/put`,
// `/v3/kv/range`, base64 keys and values, keep-alive HTTP/1.1 connections), which etcd 3.4 serves
// on its client port. The gateway costs real etcd some CPU (JSON decode plus an in-process gRPC hop),
// so the comparison slightly favours kemu on throughput; it is the only client a Node script can use
// without a gRPC dependency, and etcdctl (a process per request) would be far worse. Both clusters
// use fsync on every WAL write (etcd: always; kemu: group commit).
//
// If `etcd` is missing, the script installs Debian's etcd-server/etcd-client with apt-get.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { EtcdClient, wireConnectionFactory } = await import(path.join(root, 'packages/etcd/dist/src/index.js'));
const MEMBER_MAIN = path.join(root, 'packages/etcd/dist/src/member/main.js');

const QUICK = process.argv.includes('--quick');
const PHASE_MS = QUICK ? 1500 : 4000;
const FAILOVER_TRIALS = QUICK ? 2 : 5;
const RSS_KEYS = QUICK ? 2000 : 10000;
// `--only rss`: just start both systems, load the RSS keys and print the memory rows (cheap to repeat).
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const ONLY_RSS = ONLY === 'rss';
// `--only put1`: just the 1-client put phase, alternating kemu/etcd for PUT1_ROUNDS rounds (latency work).
const ONLY_PUT1 = ONLY === 'put1';
const PUT1_ROUNDS = Number(process.env.KEMU_BENCH_ROUNDS ?? 4);
// Extra Node flags for the kemu members, for experiments (e.g. KEMU_BENCH_NODE_FLAGS='--max-semi-space-size=2').
const EXTRA_NODE_FLAGS = (process.env.KEMU_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');

// ---- helpers -------------------------------------------------------------------------------------

function ensureEtcd() {
  if (spawnSync('etcd', ['--version']).status === 0) return;
  console.error('# etcd not found: installing Debian etcd-server and etcd-client');
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', 'etcd-server', 'etcd-client'], { stdio: 'inherit' });
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function rssMiB(pid, field = 'VmRSS') {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

class Proc {
  constructor(name, cmd, args, logFile) {
    Object.assign(this, { name, cmd, args, logFile });
  }
  start() {
    const out = fs.openSync(this.logFile, 'a');
    this.proc = spawn(this.cmd, this.args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, KEMU_LOG_LEVEL: 'warn' },
    });
    fs.closeSync(out);
    this.exited = new Promise((r) => this.proc.once('exit', r));
  }
  async kill9() {
    try {
      process.kill(-this.proc.pid, 'SIGKILL');
    } catch {}
    await this.exited;
  }
}

// ---- the two systems under test -------------------------------------------------------------------

async function startKemu(dir) {
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  const peers = ports.map((p, i) => `etcd-${i}=ws://127.0.0.1:${p}`).join(',');
  const procs = ports.map((port, i) => {
    const args = [
      ...EXTRA_NODE_FLAGS,
      MEMBER_MAIN,
      '--name',
      `etcd-${i}`,
      '--data-dir',
      path.join(dir, `kemu-${i}`),
      '--listen',
      `127.0.0.1:${port}`,
      '--peers',
      peers,
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
    ];
    return new Proc(`etcd-${i}`, process.execPath, args, path.join(dir, `kemu-${i}.log`));
  });
  for (const p of procs) p.start();
  const endpoints = ports.map((p) => `127.0.0.1:${p}`);
  const mk = (eps = endpoints) =>
    new EtcdClient({
      endpoints: eps,
      connect: wireConnectionFactory({ identity: `bench/${process.pid}` }),
      callTimeoutMs: 10000,
    });
  const statusClient = mk();
  const sys = {
    name: 'kemu',
    procs,
    async leaderIndex() {
      for (let i = 0; i < 3; i++) {
        try {
          const s = await statusClient.status(endpoints[i], { timeoutMs: 300 });
          if (s.leader && s.leader === s.header.memberId) return i;
        } catch {}
      }
      return -1;
    },
    async newWorkerPool(n) {
      // One connection per 8 workers (like etcd's benchmark --conns): requests pipeline on each.
      const conns = Array.from({ length: Math.max(1, Math.ceil(n / 8)) }, () => mk());
      await Promise.all(conns.map((c) => c.findLeader()));
      return {
        put: (i, k, v) => conns[i % conns.length].put(k, v),
        get: (i, k) => conns[i % conns.length].get(k),
        close: () => Promise.all(conns.map((c) => c.close())),
      };
    },
    failoverWriter() {
      const c = mk();
      return { put: (k, v) => c.put(k, v, { timeoutMs: 5000 }), close: () => c.close() };
    },
    async close() {
      await statusClient.close();
      await Promise.all(procs.map((p) => p.kill9()));
    },
  };
  await waitFor('kemu leader', async () => (await sys.leaderIndex()) >= 0);
  return sys;
}

async function startEtcd(dir) {
  const client = [];
  const peer = [];
  for (let i = 0; i < 3; i++) {
    client.push(await freePort());
    peer.push(await freePort());
  }
  const cluster = peer.map((p, i) => `e${i}=http://127.0.0.1:${p}`).join(',');
  const procs = client.map((cp, i) => {
    const args = [
      '--name',
      `e${i}`,
      '--data-dir',
      path.join(dir, `etcd-${i}`),
      '--listen-client-urls',
      `http://127.0.0.1:${cp}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${cp}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer[i]}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer[i]}`,
      '--initial-cluster',
      cluster,
      '--initial-cluster-state',
      'new',
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
      '--log-level',
      'warn',
    ];
    return new Proc(`e${i}`, 'etcd', args, path.join(dir, `etcd-${i}.log`));
  });
  for (const p of procs) p.start();
  const urls = client.map((p) => `http://127.0.0.1:${p}`);
  const b64 = (s) => Buffer.from(s).toString('base64');
  // Node's http with a keep-alive pool (one socket per worker): fetch/undici tops out far below
  // what etcd can serve, which would make the comparison meaningless.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  function call(url, p, body, timeoutMs = 5000) {
    const u = new URL(url);
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: p,
          method: 'POST',
          agent,
          timeout: timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            try {
              const json = JSON.parse(text);
              if (res.statusCode !== 200 || json.error)
                reject(new Error(json.error ?? json.message ?? `HTTP ${res.statusCode}`));
              else resolve(json);
            } catch (err) {
              reject(err);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(data);
    });
  }
  const sys = {
    name: 'etcd 3.4',
    procs,
    async leaderIndex() {
      for (let i = 0; i < 3; i++) {
        try {
          const s = await call(urls[i], '/v3/maintenance/status', {}, 300);
          if (s.leader && s.leader === s.header.member_id) return i;
        } catch {}
      }
      return -1;
    },
    async newWorkerPool() {
      const li = await sys.leaderIndex();
      const url = urls[li < 0 ? 0 : li];
      return {
        put: (_i, k, v) => call(url, '/v3/kv/put', { key: b64(k), value: b64(v) }),
        get: (_i, k) => call(url, '/v3/kv/range', { key: b64(k) }),
        close: async () => {},
      };
    },
    failoverWriter() {
      let at = 0;
      return {
        // Like a client with several endpoints: stick to one until it fails, then move on.
        async put(k, v) {
          const deadline = Date.now() + 5000;
          for (;;) {
            try {
              return await call(urls[at], '/v3/kv/put', { key: b64(k), value: b64(v) }, 1000);
            } catch (err) {
              at = (at + 1) % urls.length;
              if (Date.now() > deadline) throw err;
              await sleep(5);
            }
          }
        },
        close: async () => {},
      };
    },
    async close() {
      await Promise.all(procs.map((p) => p.kill9()));
    },
  };
  await waitFor('etcd leader', async () => (await sys.leaderIndex()) >= 0);
  return sys;
}

// ---- workloads --------------------------------------------------------------------------------------

async function closedLoop(concurrency, durationMs, op) {
  const lat = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        try {
          await op(w, i);
          lat.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const secs = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  return { ops: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), errors };
}

/** The benchmark as a list of phases; main() runs each phase on kemu, then on etcd, alternating,
 * so drifting machine load (a shared 2-core box) hits both alike. */
function phases(sys, out) {
  const list = [];
  const value256 = 'x'.repeat(256);
  // An unmeasured 1-client put phase on each system before anything is measured, the same for both:
  // without it the first measured phase also times JIT compilation, connection set-up and page-cache
  // warming of freshly started processes (kemu's first round was its slowest in every run).
  // KEMU_BENCH_WARMUP_MS overrides the length; 0 disables it.
  const warmupMs = Number(process.env.KEMU_BENCH_WARMUP_MS ?? (QUICK ? 1000 : 3000));
  if (warmupMs > 0) {
    list.push(async () => {
      const pool = await sys.newWorkerPool(1);
      await closedLoop(1, warmupMs, (w, i) => pool.put(w, `bench/warmup/${i % 1000}`, value256));
      await pool.close();
    });
  }
  if (ONLY_PUT1) {
    out.put1Rounds = [];
    for (let r = 0; r < PUT1_ROUNDS; r++) {
      list.push(async () => {
        const pool = await sys.newWorkerPool(1);
        out.put1Rounds.push(
          await closedLoop(1, PHASE_MS, (w, i) => pool.put(w, `bench/put/1/${w}/${i % 1000}`, value256)),
        );
        await pool.close();
      });
    }
    return list;
  }
  for (const c of [1, 16, 64]) {
    list.push(async () => {
      const pool = await sys.newWorkerPool(c);
      out[`put${c}`] = await closedLoop(c, PHASE_MS, (w, i) =>
        pool.put(w, `bench/put/${c}/${w}/${i % 1000}`, value256),
      );
      await pool.close();
    });
  }
  list.push(async () => {
    const pool = await sys.newWorkerPool(64);
    await pool.put(0, 'bench/get/k', value256);
    out.get64 = await closedLoop(64, PHASE_MS, (w) => pool.get(w, 'bench/get/k'));
    await pool.close();
  });
  list.push(async () => {
    const pool = await sys.newWorkerPool(64);
    const value1k = 'y'.repeat(1024);
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        for (;;) {
          const i = next++;
          if (i >= RSS_KEYS) return;
          await pool.put(w, `bench/rss/${String(i).padStart(6, '0')}`, value1k);
        }
      }),
    );
    await pool.close();
    await sleep(1000);
    out.rss = sys.procs.map((p) => rssMiB(p.proc.pid));
    out.hwm = sys.procs.map((p) => rssMiB(p.proc.pid, 'VmHWM'));
  });
  if (ONLY_RSS) return list.slice(-1);
  // Failover: a writer puts every 5 ms; kill -9 the leader; the window is the longest gap
  // between acknowledged puts from the kill on.
  out.failover = [];
  for (let trial = 0; trial < FAILOVER_TRIALS; trial++) list.push(() => failoverTrial(sys, out, trial));
  return list;
}

async function failoverTrial(sys, out, trial) {
  const li =
    (await waitFor('leader', async () => {
      const i = await sys.leaderIndex();
      return i >= 0 ? i + 1 : 0;
    })) - 1;
  const writer = sys.failoverWriter();
  const acks = [];
  let stop = false;
  let seq = 0;
  const loop = (async () => {
    while (!stop) {
      const t0 = performance.now();
      try {
        await writer.put(`bench/failover/${trial}`, String(seq++));
        acks.push(performance.now());
      } catch {}
      const wait = 5 - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
    }
  })();
  await sleep(500);
  const killedAt = performance.now();
  await sys.procs[li].kill9();
  await waitFor('writes after the kill', () => acks.some((t) => t > killedAt + 200), 20000);
  await sleep(300);
  stop = true;
  await loop;
  await writer.close();
  let gap = 0;
  let prev = acks.filter((t) => t < killedAt).pop() ?? killedAt;
  for (const t of acks.filter((x) => x >= killedAt)) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  out.failover.push(gap);
  sys.procs[li].start();
  await waitFor('a leader again', async () => (await sys.leaderIndex()) >= 0);
  await sleep(1500);
}

// ---- main -------------------------------------------------------------------------------------------

ensureEtcd();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-bench-etcd-'));
const results = {};
const systems = [];
try {
  for (const start of [startKemu, startEtcd]) systems.push(await start(dir));
  const plans = systems.map((sys) => {
    results[sys.name] = {};
    return phases(sys, results[sys.name]);
  });
  for (let i = 0; i < plans[0].length; i++) {
    for (let j = 0; j < systems.length; j++) {
      console.error(`# phase ${i + 1}/${plans[0].length}: ${systems[j].name}`);
      await plans[j][i]();
    }
  }
} finally {
  for (const s of systems) await s.close().catch(() => {});
  if (!process.env.KEMU_KEEP_BENCH_DIR) fs.rmSync(dir, { recursive: true, force: true });
}

const k = results.kemu;
const e = results['etcd 3.4'];
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f0 = (n) => (Number.isFinite(n) ? n.toFixed(0) : '-');
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.9 * xs.length))];
const rows = [];
if (ONLY_PUT1) {
  const all = (xs, f) => xs.map(f).join('/');
  const kr = k.put1Rounds;
  const er = e.put1Rounds;
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  rows.push([
    'put 1 client: ops/s (median)',
    f0(med(kr.map((r) => r.ops))),
    f0(med(er.map((r) => r.ops))),
    ratio(med(kr.map((r) => r.ops)), med(er.map((r) => r.ops))),
    '>= 1.00x',
  ]);
  rows.push(['  (each round)', all(kr, (r) => f0(r.ops)), all(er, (r) => f0(r.ops)), '', '']);
  rows.push(['put 1 client: p50 ms (median)', f1(med(kr.map((r) => r.p50))), f1(med(er.map((r) => r.p50))), '', '']);
  rows.push([
    'put 1 client: p99 ms (median)',
    f1(med(kr.map((r) => r.p99))),
    f1(med(er.map((r) => r.p99))),
    ratio(med(kr.map((r) => r.p99)), med(er.map((r) => r.p99))),
    '<= 1.00x',
  ]);
  rows.push(['  (each round)', all(kr, (r) => f1(r.p99)), all(er, (r) => f1(r.p99)), '', '']);
} else {
  if (!ONLY_RSS) {
    for (const c of [1, 16, 64]) {
      rows.push([
        `put ${c} client(s): ops/s`,
        f0(k[`put${c}`].ops),
        f0(e[`put${c}`].ops),
        ratio(k[`put${c}`].ops, e[`put${c}`].ops),
        '>= 1.00x',
      ]);
      rows.push([
        `put ${c} client(s): p50 ms`,
        f1(k[`put${c}`].p50),
        f1(e[`put${c}`].p50),
        ratio(k[`put${c}`].p50, e[`put${c}`].p50),
        '',
      ]);
      rows.push([
        `put ${c} client(s): p99 ms`,
        f1(k[`put${c}`].p99),
        f1(e[`put${c}`].p99),
        ratio(k[`put${c}`].p99, e[`put${c}`].p99),
        '<= 1.00x',
      ]);
    }
    rows.push([
      'linearizable get 64 clients: ops/s',
      f0(k.get64.ops),
      f0(e.get64.ops),
      ratio(k.get64.ops, e.get64.ops),
      '',
    ]);
    rows.push([
      'linearizable get 64 clients: p99 ms',
      f1(k.get64.p99),
      f1(e.get64.p99),
      ratio(k.get64.p99, e.get64.p99),
      '',
    ]);
  }
  const maxK = Math.max(...k.rss);
  const maxE = Math.max(...e.rss);
  rows.push([
    `RSS per member after ${RSS_KEYS} x 1 KiB keys (max, MiB)`,
    f0(maxK),
    f0(maxE),
    ratio(maxK, maxE),
    '<= 1.50x',
  ]);
  rows.push([`  (each member, MiB)`, k.rss.map(f0).join('/'), e.rss.map(f0).join('/'), '', '']);
  rows.push([`  (peak VmHWM each member, MiB)`, k.hwm.map(f0).join('/'), e.hwm.map(f0).join('/'), '', '']);
  if (!ONLY_RSS) {
    rows.push([
      `failover window p90 of ${FAILOVER_TRIALS} (ms)`,
      f0(p90(k.failover)),
      f0(p90(e.failover)),
      ratio(p90(k.failover), p90(e.failover)),
      'kemu <= 500',
    ]);
    rows.push([`  (each trial, ms)`, k.failover.map(f0).join('/'), e.failover.map(f0).join('/'), '', '']);
  }
}
const errs =
  ONLY_RSS || ONLY_PUT1 ? '-' : [1, 16, 64].map((c) => `${k[`put${c}`].errors}/${e[`put${c}`].errors}`).join(' ');
const header = ['metric', 'kemu', 'etcd 3.4', 'kemu/etcd', 'target'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) =>
  `| ${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(`\n${os.cpus().length} CPUs, ${PHASE_MS} ms per phase; put errors kemu/etcd at 1/16/64: ${errs}`);
