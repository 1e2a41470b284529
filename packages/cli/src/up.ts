import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KemuError } from '@kemu/runtime';
import { execa } from 'execa';
import { listNodes } from './cluster-api.js';
import { ControlServer } from './control.js';
import { etcdLeaderOf, etcdStatuses } from './etcd-status.js';
import { kubeconfigYaml } from './kubeconfig.js';
import type { LiveScreen } from './live-screen.js';
import { writeStaticManifests } from './manifests.js';
import {
  isSameProcess,
  killLeftovers,
  readCmdline,
  readPidFile,
  removeFile,
  sweepStrays,
  writePidFile,
} from './pid-files.js';
import { assertPortsFree } from './ports.js';
import { StateDir, writeFileAtomic } from './state-dir.js';
import { Supervisor, type SupervisorEvent } from './supervisor.js';
import {
  type ClusterPlan,
  type ClusterSpec,
  type ComponentKind,
  type ComponentPlan,
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
 * The detached supervisor mostly sleeps: a small young generation and V8's size-over-speed mode keep
 * its RSS down (it counts against the cluster's memory budget like any component).
 */
const SUPERVISOR_NODE_FLAGS = (process.env.KEMU_SUPERVISOR_NODE_FLAGS ?? '--max-semi-space-size=1 --optimize-for-size')
  .split(' ')
  .filter((f) => f !== '');

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

async function until<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof ClusterStartError) throw err;
      last = err;
    }
    await sleep(intervalMs);
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
  const child = execa(
    process.execPath,
    [...SUPERVISOR_NODE_FLAGS, BIN, 'up', '--supervise', '--ready-timeout', String(timeoutMs), ...specFlags(spec)],
    {
      detached: true,
      stdin: 'ignore',
      stdout: fd,
      stderr: fd,
      reject: false,
      cleanup: false,
      buffer: false,
    },
  );
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
  // The supervisor has its own per-step deadlines; this one only guards against it hanging.
  const deadline = Date.now() + timeoutMs * 3;
  for (;;) {
    relay();
    if (fs.existsSync(state.readyFile)) {
      out.write(
        `kemu: supervisor running detached (pid ${child.pid}); stop it with 'kemu down --state-dir ${spec.stateDir}'\n`,
      );
      return 0;
    }
    if (exited) {
      relay();
      process.stderr.write(`error: the supervisor exited before the cluster was ready (log: ${state.supervisorLog})\n`);
      return 1;
    }
    if (Date.now() > deadline) {
      process.stderr.write(`error: cluster not ready in time; supervisor left running (pid ${child.pid})\n`);
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
      return e.planned ? `${e.component} stopped` : `${e.component} exited (code ${e.code}, signal ${e.signal})`;
    case 'restart':
      return `${e.component} restarting in ${e.backoffMs} ms (restart #${e.restarts})`;
    case 'signal':
      return `${e.component}: ${e.signal} (kemu ${e.by})`;
    case 'start':
      return e.restarts > 0 ? `${e.component} started again (pid ${e.pid})` : undefined;
    default:
      return undefined;
  }
}

/** Start order; `stopAll` stops kinds in the reverse order. */
const START_ORDER: ComponentKind[] = [
  'etcd',
  'kube-apiserver',
  'kube-scheduler',
  'kube-controller-manager',
  'cluster-dns',
  'kubelet',
  'kube-proxy',
];

/** Runs the cluster in this process, as its supervisor: foreground `kemu up`, or the detached one. */
async function runSupervisor(
  spec: ClusterSpec,
  out: NodeJS.WritableStream,
  timeoutMs: number,
  live: boolean,
  /** This process is the detached supervisor (`up --detach`): no terminal to Ctrl-C in. */
  detached: boolean,
): Promise<number> {
  const t0 = Date.now();
  let screen: LiveScreen | undefined;
  const recent: string[] = [];
  const step = (msg: string): void => {
    const line = `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`;
    recent.push(line.split('\n')[0]!);
    if (recent.length > 8) recent.shift();
    if (screen) screen.event(line);
    else out.write(`${line}\n`);
  };
  const state = new StateDir(spec.stateDir);
  state.ensure();
  guardRunning(state);
  const self = readCmdline(process.pid) ?? process.argv;
  writePidFile(state.supervisorPidFile, { pid: process.pid, argv: self });
  removeFile(state.readyFile);
  writeFileAtomic(path.join(state.root, SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
  const plan: ClusterPlan = planCluster(spec);
  step(
    `state dir ${spec.stateDir} (port base ${spec.portBase}, profile ${spec.profile}, runtime ${spec.runtime}, ${spec.nodes} worker${spec.nodes === 1 ? '' : 's'})`,
  );

  const leftovers = await killLeftovers(state.runDir, 3000, (n) => n === 'supervisor');
  const strays = sweepStrays(state.root);
  if (leftovers.length > 0 || strays.length > 0) {
    step(
      `stopped leftovers of an earlier run: ${[...leftovers, ...(strays.length ? [`${strays.length} stray process(es)`] : [])].join(', ')}`,
    );
  }
  try {
    await assertPortsFree(plan);
  } catch (err) {
    removeFile(state.supervisorPidFile);
    throw err;
  }
  const unavailable = plan.components.filter((c) => !c.available);
  if (unavailable.length > 0) {
    step(`not available in this build, skipped: ${unavailable.map((c) => c.name).join(', ')}`);
  }

  let ending = false;
  const supervisor = new Supervisor({
    state,
    // Node >= 22.1 keeps compiled code here, so restarts and later `up`s load faster (ignored by older Node).
    env: { NODE_COMPILE_CACHE: path.join(state.root, 'cache', 'node-compile') },
    onEvent: (e) => {
      const line = ending ? undefined : describeEvent(e);
      if (line) step(line);
    },
  });
  const control = await ControlServer.start(state, supervisor);
  const shutdown = async (why: string): Promise<void> => {
    if (ending) return;
    ending = true;
    screen?.stop();
    screen = undefined;
    step(`${why}: stopping every component`);
    await control.close();
    await supervisor.stopAll();
    const strays = sweepStrays(state.root);
    if (strays.length > 0) step(`killed ${strays.length} stray process(es)`);
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
  const check = (): void => {
    if (ending) throw new ClusterStartError('interrupted');
  };
  const start = (c: ComponentPlan): void => {
    supervisor.start({ name: c.name, kind: c.kind, argv: c.argv });
  };
  const ofKind = (k: ComponentKind): ComponentPlan[] => plan.components.filter((c) => c.kind === k && c.available);

  try {
    // Static manifests first: the kubelets read them at start, and they depend on nothing running.
    const manifests = writeStaticManifests(plan);
    if (manifests.length > 0) step(`wrote ${manifests.length} static pod manifest(s) into the nodes' --static-pod-dir`);

    const tEtcd = Date.now();
    const apiservers = ofKind('kube-apiserver');
    for (const c of ofKind('etcd')) start(c);
    // The apiserver's etcd client retries until the members elect a leader: starting it at once
    // overlaps its process start-up (module loading, a good part of a second) with the election.
    for (const c of apiservers) start(c);
    step(
      `started ${ofKind('etcd').length} etcd member(s) on ${plan.etcdEndpoints.join(', ')}${apiservers.length ? ` and ${apiservers.map((c) => c.name).join(', ')}` : ''}`,
    );
    const leader = until('an etcd leader', timeoutMs, async () => {
      check();
      return etcdLeaderOf(await etcdStatuses(plan, 'kemu-cli/up'));
    }).then((l) => {
      step(`etcd has a leader: ${l.name} (term ${l.term}) after ${Date.now() - tEtcd} ms`);
    });
    const apiReady = apiservers.map((c) =>
      until(`${c.name} /readyz`, timeoutMs, async () => {
        check();
        const res = await fetch(`${c.endpoint}/readyz`, { signal: AbortSignal.timeout(1000) });
        return res.ok ? true : undefined;
      }),
    );
    await Promise.all([leader, ...apiReady]);
    if (apiservers.length > 0) {
      step(`${apiservers.map((c) => c.name).join(', ')} ready on ${plan.apiserverUrl} after ${Date.now() - tEtcd} ms`);
    }

    if (plan.apiserverUrl) {
      fs.writeFileSync(state.kubeconfig, kubeconfigYaml(plan.apiserverUrl));
    }
    const rest = START_ORDER.slice(2).flatMap(ofKind);
    let kubeletsStartedAt = Date.now();
    if (rest.length > 0) {
      kubeletsStartedAt = Date.now();
      for (const c of rest) start(c);
      step(`started ${rest.map((c) => c.name).join(', ')}`);
    }

    if (plan.apiserverUrl && ofKind('kubelet').length > 0) {
      const tNodes = Date.now();
      const want = plan.nodes.map((n) => n.name);
      const seen = new Set<string>();
      await until(
        `nodes Ready (${want.join(', ')})`,
        timeoutMs,
        async () => {
          check();
          const nodes = await listNodes(plan.apiserverUrl!);
          for (const n of nodes) {
            // A Node object outlives its kubelet: on a resumed cluster it still says Ready from the
            // last run. Only a heartbeat from after these kubelets started counts (times have
            // second precision).
            const fresh = n.heartbeatAt >= Math.floor(kubeletsStartedAt / 1000) * 1000;
            if (n.ready === 'True' && fresh && !seen.has(n.name) && want.includes(n.name)) {
              seen.add(n.name);
              step(`node ${n.name} Ready`);
            }
          }
          return want.every((n) => seen.has(n)) ? true : undefined;
        },
        200,
      );
      step(`all ${want.length} node(s) Ready after ${Date.now() - tNodes} ms`);
    }

    if (plan.apiserverUrl) {
      step(`kubeconfig written; use it with:\n\n  export KUBECONFIG=${state.kubeconfig}\n  kubectl get nodes\n`);
    } else {
      step(`no apiserver in this build: no kubeconfig; etcd is at ${plan.etcdEndpoints.join(',')}`);
    }
    writeFileAtomic(
      state.readyFile,
      `${JSON.stringify({ pid: process.pid, at: Date.now(), startupMs: Date.now() - t0 })}\n`,
    );
    step(
      `cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${detached ? `'kemu down --state-dir ${spec.stateDir}' stops it` : 'Ctrl-C stops it'}`,
    );
  } catch (err) {
    await shutdown(`start failed: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
  if (live && !ending) {
    // Loaded only here: the detached supervisor never draws, and the table code is memory it would keep.
    const { LiveScreen: Screen } = await import('./live-screen.js');
    screen = new Screen(out as NodeJS.WriteStream, plan, recent);
    screen.start();
  }
  await done;
  return 0;
}

export async function upCommand(flags: UpFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const spec = loadSpec(flags);
  const timeoutMs = flags.readyTimeout ? Number(flags.readyTimeout) : 60_000;
  if (flags.detach && !flags.supervise) return upDetached(spec, out, timeoutMs);
  const live = !flags.supervise && (out as NodeJS.WriteStream).isTTY === true;
  return runSupervisor(spec, out, timeoutMs, live, flags.supervise === true);
}
