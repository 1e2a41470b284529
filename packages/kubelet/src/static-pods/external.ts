// Pods annotated `kemu.dev/pid-file`: processes the kemu supervisor runs (apiserver, scheduler, …).
// The kubelet does not run them; it reports them. Alive = the pid file's pid still runs the recorded
// argv (`/proc/<pid>/cmdline`), which also rules out a recycled pid.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import {
  type Container,
  type ContainerStatus,
  formatTime,
  type Pod,
  type PodCondition,
  type PodStatus,
  podQOSClass,
} from '@kemu/api';
import { PID_FILE_ANNOTATION } from './manifest.js';

/** What the supervisor writes: `{"pid": 123, "argv": ["node", "…/main.js", …]}`. */
export interface PidRecord {
  pid: number;
  argv: string[];
}

/** One look at the process behind a pid file. */
export type ProcessObservation =
  | { alive: true; pid: number; argv: string[]; startedAt: number }
  | { alive: false; pid?: number; why: string };

/** `/proc/<pid>/cmdline` as argv; undefined when the process is gone (or a zombie). */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined;
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** Reads the pid file and checks the process; `cmdline` is injectable for tests. */
export function observeProcess(
  pidFile: string,
  cmdline: (pid: number) => string[] | undefined = readCmdline,
): ProcessObservation {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
    mtimeMs = fs.statSync(pidFile).mtimeMs;
  } catch {
    return { alive: false, why: `pid file ${pidFile} does not exist` };
  }
  let rec: Partial<PidRecord>;
  try {
    rec = JSON.parse(text) as Partial<PidRecord>;
  } catch {
    return { alive: false, why: `pid file ${pidFile} is not JSON` };
  }
  if (typeof rec.pid !== 'number' || !Array.isArray(rec.argv) || !rec.argv.every((a) => typeof a === 'string')) {
    return { alive: false, why: `pid file ${pidFile} needs {"pid": N, "argv": [...]}` };
  }
  const now = cmdline(rec.pid);
  const argv = rec.argv;
  if (now === undefined) return { alive: false, pid: rec.pid, why: `process ${rec.pid} is not running` };
  if (now.length !== argv.length || !now.every((a, i) => a === argv[i])) {
    return { alive: false, pid: rec.pid, why: `process ${rec.pid} runs something else now (${now.join(' ')})` };
  }
  return { alive: true, pid: rec.pid, argv, startedAt: Math.floor(mtimeMs) };
}

/**
 * One readiness check of an external pod's container, as the kubelet's prober does it: `httpGet`
 * (2xx/3xx within `timeoutSeconds`) or `tcpSocket` (connects). Without a readiness probe a live
 * process is ready; an `exec` probe cannot run in a process that is no container of ours, so it counts
 * as passing.
 */
export function probeReadiness(container: Container, nodeIP: string): Promise<boolean> {
  const probe = container.readinessProbe;
  const timeoutMs = Math.max(1, probe?.timeoutSeconds ?? 1) * 1000;
  const portOf = (p: number | string): number => {
    if (typeof p === 'number') return p;
    const named = container.ports?.find((x) => x.name === p)?.containerPort;
    return named ?? Number(p);
  };
  if (probe?.httpGet !== undefined) {
    const g = probe.httpGet;
    return new Promise((resolve) => {
      const req = http.get(
        {
          host: g.host || nodeIP,
          port: portOf(g.port),
          path: g.path ?? '/',
          timeout: timeoutMs,
          headers: Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value])),
        },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve(code >= 200 && code < 400);
        },
      );
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
  }
  if (probe?.tcpSocket !== undefined) {
    const t = probe.tcpSocket;
    return new Promise((resolve) => {
      const sock = net.connect({ host: t.host || nodeIP, port: portOf(t.port), timeout: timeoutMs });
      const done = (ok: boolean) => {
        sock.destroy();
        resolve(ok);
      };
      sock.once('connect', () => done(true));
      sock.once('timeout', () => done(false));
      sock.once('error', () => done(false));
    });
  }
  return Promise.resolve(true);
}

export function pidFileOf(pod: Pod): string {
  return pod.metadata.annotations?.[PID_FILE_ANNOTATION] ?? '';
}

/** Keeps a condition's lastTransitionTime while its status does not change. */
function condition(
  type: string,
  ok: boolean,
  now: string,
  previous: PodCondition[] | undefined,
  why?: string,
): PodCondition {
  const status = ok ? 'True' : 'False';
  const old = previous?.find((c) => c.type === type);
  const c: PodCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime:
      old !== undefined && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
  if (!ok && why !== undefined) {
    c.reason = 'ContainersNotReady';
    c.message = why;
  }
  return c;
}

/**
 * The mirror pod's status for what was observed: Running/Ready with every container running since
 * the pid file was written while the process lives; not ready, containers terminated
 * (`ContainerStatusUnknown`, as upstream reports a container it cannot find) when it does not.
 * A new pid after a previous one counts as a restart. `previous` is the status in the API.
 */
export function externalPodStatus(
  pod: Pod,
  seen: ProcessObservation,
  opts: {
    nodeIP: string;
    now: number;
    previous?: PodStatus;
    /** Readiness per container name while the process lives (default: ready). */
    ready?: (container: string) => boolean;
  },
): PodStatus {
  const now = formatTime(opts.now);
  const prev = opts.previous;
  const containerStatuses: ContainerStatus[] = pod.spec.containers.map((c) => {
    const old = prev?.containerStatuses?.find((s) => s.name === c.name);
    const base = { name: c.name, image: c.image ?? '', imageID: '' };
    if (seen.alive) {
      const containerID = `kemu-pid://${seen.pid}`;
      const restarted = old?.containerID !== undefined && old.containerID !== containerID;
      const status: ContainerStatus = {
        ...base,
        containerID,
        ready: opts.ready?.(c.name) ?? true,
        started: true,
        restartCount: (old?.restartCount ?? 0) + (restarted ? 1 : 0),
        state: { running: { startedAt: formatTime(seen.startedAt) } },
      };
      const last = restarted ? (old?.state?.terminated ?? old?.lastState?.terminated) : old?.lastState?.terminated;
      if (last !== undefined) status.lastState = { terminated: last };
      return status;
    }
    const containerID = old?.containerID ?? (seen.pid !== undefined ? `kemu-pid://${seen.pid}` : undefined);
    const status: ContainerStatus = {
      ...base,
      ready: false,
      started: false,
      restartCount: old?.restartCount ?? 0,
      state: {
        terminated: old?.state?.terminated ?? {
          exitCode: 137,
          reason: 'ContainerStatusUnknown',
          message: `The process could not be located: ${seen.why}`,
          ...(old?.state?.running?.startedAt ? { startedAt: old.state.running.startedAt } : {}),
          finishedAt: now,
          ...(containerID !== undefined ? { containerID } : {}),
        },
      },
    };
    if (containerID !== undefined) status.containerID = containerID;
    if (old?.lastState?.terminated !== undefined) status.lastState = { terminated: old.lastState.terminated };
    return status;
  });
  const unready = containerStatuses.filter((s) => !s.ready).map((s) => s.name);
  const allReady = unready.length === 0;
  const why = allReady ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const everRan = seen.alive || prev?.phase === 'Running';
  return {
    phase: everRan ? 'Running' : 'Pending',
    conditions: [
      condition('PodReadyToStartContainers', true, now, prev?.conditions),
      condition('Initialized', true, now, prev?.conditions),
      condition('Ready', allReady, now, prev?.conditions, why),
      condition('ContainersReady', allReady, now, prev?.conditions, why),
      condition('PodScheduled', true, now, prev?.conditions),
    ],
    hostIP: opts.nodeIP,
    hostIPs: [{ ip: opts.nodeIP }],
    podIP: opts.nodeIP,
    podIPs: [{ ip: opts.nodeIP }],
    startTime: prev?.startTime ?? (seen.alive ? formatTime(seen.startedAt) : now),
    containerStatuses,
    qosClass: podQOSClass(pod.spec),
  };
}
