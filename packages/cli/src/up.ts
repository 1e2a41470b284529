import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdClient, wireConnectionFactory } from '@kemu/etcd';
import { KemuError } from '@kemu/runtime';
import { execa } from 'execa';
import { kubeconfigYaml } from './kubeconfig.js';
import { isSameProcess, killLeftovers, readCmdline, readPidFile, removeFile, writePidFile } from './pid-files.js';
import { StateDir, writeFileAtomic } from './state-dir.js';
import { Supervisor, type SupervisorEvent } from './supervisor.js';
import {
  type ClusterPlan,
  type ClusterSpec,
  planCluster,
  type RawSpec,
  readClusterFile,
  resolveSpec,
} from './topology.js';

export class ClusterRunningError extends KemuError {
  constructor(stateDir: string, pid: number) {
    super(
      'KEMU_CLUSTER_RUNNING',
      `a kemu supervisor (pid ${pid}) already runs the cluster in ${stateDir}; use 'kemu down' first`,
    );
  }
}

export class ClusterStartError extends KemuError {
  constructor(message: string) {
    super('KEMU_START_FAILED', message);
  }
}

export interface UpFlags extends RawSpec {
  config?: string;
  detach?: boolean;
  /** Internal: this process is the detached supervisor started by `up --detach`. */
  supervise?: boolean;
  readyTimeout?: string;
}

const BIN = fileURLToPath(new URL('./bin.js', import.meta.url));
const SPEC_FILE = 'cluster.json';

/**
 * Flags win over --config, which wins over the spec saved by the last `up` in this state dir (so a
 * plain `kemu up` resumes the same cluster), which wins over the defaults.
 */
export function loadSpec(flags: UpFlags, cwd = process.cwd()): ClusterSpec {
  const fileSpec = flags.config ? readClusterFile(flags.config) : {};
  const stateDir = path.resolve(cwd, String(flags.stateDir ?? fileSpec.stateDir ?? '.kemu'));
  let saved: RawSpec = {};
  try {
    saved = JSON.parse(fs.readFileSync(path.join(stateDir, SPEC_FILE), 'utf8')) as RawSpec;
  } catch {
    // first run in this state dir
  }
  return resolveSpec({ ...flags, stateDir }, { ...saved, ...fileSpec }, cwd);
}

function specFlags(spec: ClusterSpec): string[] {
  return [
    '--state-dir',
    spec.stateDir,
    '--etcd',
    String(spec.etcd),
    '--port-base',
    String(spec.portBase),
    '--apiservers',
    String(spec.apiservers),
    '--nodes',
    String(spec.nodes),
    '--runtime',
    spec.runtime,
    '--profile',
    spec.profile,
  ];
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new ClusterStartError(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** `kemu up --detach`: start the supervisor as its own session and relay its progress until ready. */
async function upDetached(spec: ClusterSpec, out: NodeJS.WritableStream, timeoutMs: number): Promise<number> {
  const state = new StateDir(spec.stateDir);
  state.ensure();
  guardRunning(state);
  removeFile(state.readyFile);
  const logStart = fs.existsSync(state.supervisorLog) ? fs.statSync(state.supervisorLog).size : 0;
  const fd = fs.openSync(state.supervisorLog, 'a') as 3; // a real fd: see execaSpawner
  const child = execa(process.execPath, [BIN, 'up', '--supervise', ...specFlags(spec)], {
    detached: true,
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
    reject: false,
    cleanup: false,
    buffer: false,
  });
  fs.closeSync(fd);
  child.unref();
  let exited = false;
  child.then(() => {
    exited = true;
  });
  let offset = logStart;
  const relay = (): void => {
    const size = fs.statSync(state.supervisorLog).size;
    if (size <= offset) return;
    const buf = Buffer.alloc(size - offset);
    const h = fs.openSync(state.supervisorLog, 'r');
    fs.readSync(h, buf, 0, buf.length, offset);
    fs.closeSync(h);
    offset = size;
    out.write(buf);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    relay();
    const ready = fs.existsSync(state.readyFile);
    if (ready) {
      out.write(
        `kemu: supervisor running detached (pid ${child.pid}); stop it with 'kemu down --state-dir ${spec.stateDir}'\n`,
      );
      return 0;
    }
    if (exited) {
      relay();
      process.stderr.write(`kemu: the supervisor exited before the cluster was ready (log: ${state.supervisorLog})\n`);
      return 1;
    }
    if (Date.now() > deadline) {
      process.stderr.write(
        `kemu: cluster not ready after ${timeoutMs} ms; supervisor left running (pid ${child.pid})\n`,
      );
      return 1;
    }
    await sleep(100);
  }
}

function guardRunning(state: StateDir): void {
  const sup = readPidFile(state.supervisorPidFile);
  if (sup && sup.pid !== process.pid && isSameProcess(sup)) throw new ClusterRunningError(state.root, sup.pid);
}

function describeEvent(e: SupervisorEvent): string | undefined {
  switch (e.event) {
    case 'exit':
      return e.planned ? undefined : `${e.component} exited (code ${e.code}, signal ${e.signal})`;
    case 'restart':
      return `${e.component} restarting in ${e.backoffMs} ms (restart #${e.restarts})`;
    default:
      return undefined;
  }
}

/** Runs the cluster in this process (foreground `kemu up`, or the detached supervisor). */
async function upForeground(spec: ClusterSpec, out: NodeJS.WritableStream, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const step = (msg: string): void => {
    out.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
  };
  const state = new StateDir(spec.stateDir);
  state.ensure();
  guardRunning(state);
  const self = readCmdline(process.pid) ?? process.argv;
  writePidFile(state.supervisorPidFile, { pid: process.pid, argv: self });
  removeFile(state.readyFile);
  writeFileAtomic(path.join(state.root, SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
  const plan: ClusterPlan = planCluster(spec);
  step(`state dir ${spec.stateDir} (port base ${spec.portBase}, profile ${spec.profile})`);

  const leftovers = await killLeftovers(state.runDir, 3000, (n) => n === 'supervisor');
  if (leftovers.length > 0) step(`stopped leftovers of an earlier run: ${leftovers.join(', ')}`);
  for (const c of plan.components) {
    if (!c.available) step(`skip ${c.name} (${c.kind}): ${c.reason}`);
  }

  let ending = false;
  const supervisor = new Supervisor({
    state,
    onEvent: (e) => {
      const line = ending ? undefined : describeEvent(e);
      if (line) step(line);
    },
  });
  const shutdown = async (why: string): Promise<void> => {
    if (ending) return;
    ending = true;
    step(`${why}: stopping every component`);
    await supervisor.stopAll();
    removeFile(state.readyFile);
    removeFile(state.supervisorPidFile);
    step('stopped');
  };
  let stopped: () => void = () => {};
  const done = new Promise<void>((r) => {
    stopped = r;
  });
  const onSignal = (sig: string): void => {
    void shutdown(sig).then(() => stopped());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const etcd = new EtcdClient({
    endpoints: plan.etcdEndpoints,
    connect: wireConnectionFactory({ identity: 'kemu-cli/up' }),
    callTimeoutMs: 3000,
  });
  try {
    const etcdMembers = plan.components.filter((c) => c.kind === 'etcd');
    for (const c of etcdMembers) {
      supervisor.start({ name: c.name, kind: c.kind, argv: c.argv });
      step(`started ${c.name} on ${c.endpoint} (admin :${c.ports.admin})`);
    }
    const leaderEndpoint = await until('an etcd leader', timeoutMs, async () => {
      if (ending) throw new ClusterStartError('interrupted');
      return await etcd.findLeader(1000);
    });
    const st = await etcd.status(leaderEndpoint);
    step(`etcd has a leader: ${st.name} (term ${st.raftTerm})`);

    for (const c of plan.components.filter((x) => x.kind === 'kube-apiserver' && x.available)) {
      supervisor.start({ name: c.name, kind: c.kind, argv: c.argv });
      step(`started ${c.name} on ${c.endpoint}`);
      await until(`${c.name} /readyz`, timeoutMs, async () => {
        if (ending) throw new ClusterStartError('interrupted');
        const res = await fetch(`${c.endpoint}/readyz`, { signal: AbortSignal.timeout(1000) });
        return res.ok ? true : undefined;
      });
      step(`${c.name} is ready`);
    }

    if (plan.apiserverUrl) {
      fs.writeFileSync(state.kubeconfig, kubeconfigYaml(plan.apiserverUrl));
      step(`kubeconfig written; use it with:\n\n  export KUBECONFIG=${state.kubeconfig}\n`);
    } else {
      step(`no apiserver in this build: no kubeconfig; etcd is at ${plan.etcdEndpoints.join(',')}`);
      step(
        `try: kemu etcdctl --endpoints=${plan.etcdEndpoints.map((e) => e.replace('ws://', '')).join(',')} member list`,
      );
    }
    writeFileAtomic(state.readyFile, `${JSON.stringify({ pid: process.pid, at: Date.now() })}\n`);
    step('cluster ready; Ctrl-C stops it');
  } catch (err) {
    await etcd.close();
    await shutdown(`start failed: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
  await etcd.close();
  await done;
  return 0;
}

export async function upCommand(flags: UpFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const spec = loadSpec(flags);
  const timeoutMs = flags.readyTimeout ? Number(flags.readyTimeout) : 60_000;
  if (flags.detach && !flags.supervise) return upDetached(spec, out, timeoutMs);
  return upForeground(spec, out, timeoutMs);
}
