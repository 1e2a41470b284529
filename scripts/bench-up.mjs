#!/usr/bin/env node
// bench-up: the cost of the default cluster (issue 8, acceptance 5). Runs the real `kemu up --detach`
// in a temp state dir on a free port block and measures
//   - time from `kemu up --detach` to every node Ready (the command returns then; with no kubelet in
//     this build it returns when the apiserver is ready, and the table says so),
//   - RSS of every process of the cluster (each component, the supervisor, and anything they spawned),
//   - idle CPU over N seconds (utime+stime deltas from /proc/<pid>/stat), as % of one core,
// then `kemu down`. Usage: node scripts/bench-up.mjs [--idle-seconds 30] [--nodes 3] [--etcd 3] [--runtime process]
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'dist', 'src', 'bin.js');
const { values: args } = parseArgs({
  options: {
    'idle-seconds': { type: 'string', default: '30' },
    nodes: { type: 'string', default: '3' },
    etcd: { type: 'string', default: '3' },
    runtime: { type: 'string', default: 'process' },
  },
});
const IDLE_S = Number(args['idle-seconds']);
const CLK_TCK = 100; // Linux USER_HZ
const PAGE = 4096;

function kemu(...a) {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [BIN, ...a], { timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stdout, stderr })) : resolve({ stdout, stderr }),
    ),
  );
}

async function freeBlock(size = 200) {
  const canListen = (port) =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 50) * size;
    if ((await Promise.all(Array.from({ length: size }, (_, j) => canListen(base + j)))).every(Boolean)) return base;
  }
  throw new Error('no free port block');
}

/** Every process whose environment names the state dir (components and their children). */
function clusterPids(stateDir) {
  const entry = `KEMU_STATE_DIR=${stateDir}`;
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(entry)) out.push(Number(d));
    } catch {}
  }
  return out;
}

function procInfo(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const rssPages = Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    // PSS splits shared pages (the node binary, ~34 MiB, mapped by every process) among their users:
    // the memory the cluster really takes. RSS counts the binary once per process.
    const pssKb = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    const component = env.find((e) => e.startsWith('KEMU_COMPONENT='))?.slice('KEMU_COMPONENT='.length);
    return { pid, ticks, rss: rssPages * PAGE, pss: pssKb * 1024, component };
  } catch {
    return undefined;
  }
}

const mib = (b) => (b / 1024 / 1024).toFixed(1);
const row = (cells, widths) => cells.map((c, i) => String(c)[i === 0 ? 'padEnd' : 'padStart'](widths[i])).join('  ');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-bench-up-'));
const stateDir = path.join(dir, 'state');
let up = false;
try {
  const portBase = await freeBlock();
  const flags = ['--state-dir', stateDir];
  const t0 = performance.now();
  const res = await kemu(
    'up',
    '--detach',
    ...flags,
    '--port-base',
    String(portBase),
    '--nodes',
    args.nodes,
    '--etcd',
    args.etcd,
    '--runtime',
    args.runtime,
  );
  const upMs = performance.now() - t0;
  up = true;
  const ready = JSON.parse(fs.readFileSync(path.join(stateDir, 'run', 'ready.json'), 'utf8'));
  const status = JSON.parse((await kemu('status', ...flags, '-o', 'json')).stdout);
  const nodesWaited = /all \d+ node\(s\) Ready/.test(res.stdout);
  const readyNodes = status.nodes.filter((n) => n.ready === 'True').length;
  const missing = status.components.filter((c) => c.state === 'not available').map((c) => c.name);

  const supPid = JSON.parse(fs.readFileSync(path.join(stateDir, 'run', 'supervisor.pid'), 'utf8')).pid;
  const pids = [supPid, ...clusterPids(stateDir)];
  const first = new Map(pids.map((p) => [p, procInfo(p)]).filter(([, v]) => v));
  const tIdle = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const idleS = (performance.now() - tIdle) / 1000;
  const rows = [];
  for (const [pid, a] of first) {
    const b = procInfo(pid);
    if (!b) continue;
    rows.push({
      name:
        pid === supPid
          ? 'kemu supervisor'
          : (b.component ?? `pid ${pid}`) +
            (b.component && pid !== status.components.find((c) => c.name === b.component)?.pid ? ' (child)' : ''),
      pid,
      rss: b.rss,
      pss: b.pss,
      cpu: ((b.ticks - a.ticks) / CLK_TCK / idleS) * 100,
    });
  }
  rows.sort((x, y) => y.rss - x.rss);
  const totalRss = rows.reduce((s, r) => s + r.rss, 0);
  const totalCpu = rows.reduce((s, r) => s + r.cpu, 0);
  const totalPss = rows.reduce((s, r) => s + r.pss, 0);

  const w = [34, 8, 10, 10, 12];
  console.log(
    `\nkemu bench-up: ${args.etcd} etcd, ${args.nodes} workers, runtime ${args.runtime}; ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (missing.length) console.log(`not in this build (not measured): ${missing.join(', ')}`);
  console.log(`\n${row(['process', 'pid', 'RSS MiB', 'PSS MiB', `CPU % (${IDLE_S}s)`], w)}`);
  for (const r of rows) console.log(row([r.name, r.pid, mib(r.rss), mib(r.pss), r.cpu.toFixed(2)], w));
  console.log(row(['total', rows.length, mib(totalRss), mib(totalPss), totalCpu.toFixed(2)], w));

  const readyWhat = nodesWaited
    ? `up --detach → all ${readyNodes} nodes Ready`
    : 'up --detach → API ready (no kubelet in this build)';
  const t = [
    [readyWhat, `${(upMs / 1000).toFixed(2)} s`, '< 3 s', upMs < 3000],
    ['  of which in the supervisor', `${(ready.startupMs / 1000).toFixed(2)} s`, '', null],
    ['total RSS', `${mib(totalRss)} MiB`, '< 700 MiB', totalRss < 700 * 1024 * 1024],
    ['total PSS (shared pages counted once)', `${mib(totalPss)} MiB`, '(< 700 MiB)', totalPss < 700 * 1024 * 1024],
    [`idle CPU over ${IDLE_S} s`, `${totalCpu.toFixed(2)} % of one core`, '< 5 %', totalCpu < 5],
  ];
  const w2 = [52, 24, 12, 6];
  console.log(`\n${row(['metric', 'value', 'target', 'met'], w2)}`);
  for (const [m, v, target, ok] of t) console.log(row([m, v, target, ok === null ? '' : ok ? 'yes' : 'NO'], w2));
} finally {
  if (up) await kemu('down', '--state-dir', stateDir).catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
}
