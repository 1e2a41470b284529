// Container probes (upstream pkg/kubelet/prober): how one probe is run (httpGet to the pod IP,
// tcpSocket, exec through the runtime) and the per-container worker that runs it every
// periodSeconds and turns single outcomes into a result with success/failure thresholds.
import net from 'node:net';
import type { Container, IntOrString, LifecycleHandler, Probe, ProbeHandler } from '@kemu/api';
import type { Runtime, TimerHandle } from '@kemu/runtime';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed, worded like upstream (`HTTP probe failed with statuscode: 500`). */
  output: string;
}

/** What a probe needs from the kubelet: where the pod is and how to exec into the container. */
export interface ProbeTarget {
  podIP: string;
  /** Runs `cmd` in the container; resolves with the exit code and combined output. */
  exec(cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  /** Sim runtime: nothing listens on pod IPs, so network probes succeed by definition. */
  simulated: boolean;
}

export const PROBE_USER_AGENT = 'kube-probe/1.32';

/** A named or numbered port of the container. */
export function resolvePort(port: IntOrString, container: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = (container.ports ?? []).find((x) => x.name === port);
  if (!p) throw new Error(`couldn't find port ${port} in container ${container.name}`);
  return p.containerPort;
}

function errCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
}

async function httpProbe(
  h: NonNullable<ProbeHandler['httpGet']>,
  container: Container,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const port = resolvePort(h.port, container);
  const host = h.host ?? target.podIP;
  const scheme = (h.scheme ?? 'HTTP').toLowerCase();
  let p = h.path ?? '/';
  if (!p.startsWith('/')) p = `/${p}`;
  const url = `${scheme}://${host}:${port}${p}`;
  if (target.simulated) return { ok: true, output: '' };
  const headers: Record<string, string> = { 'User-Agent': PROBE_USER_AGENT, Accept: '*/*' };
  for (const hd of h.httpHeaders ?? []) headers[hd.name] = hd.value;
  try {
    const res = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 400) return { ok: true, output: '' };
    return { ok: false, output: `HTTP probe failed with statuscode: ${res.status}` };
  } catch (err) {
    const code = errCode(err);
    if ((err as Error).name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return {
        ok: false,
        output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      };
    }
    if (code === 'ECONNREFUSED') {
      return { ok: false, output: `Get "${url}": dial tcp ${host}:${port}: connect: connection refused` };
    }
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') {
      return { ok: false, output: `Get "${url}": read tcp ${host}:${port}: read: connection reset by peer` };
    }
    return { ok: false, output: `Get "${url}": ${(err as Error).message}` };
  }
}

function tcpProbe(
  h: NonNullable<ProbeHandler['tcpSocket']>,
  container: Container,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const port = resolvePort(h.port, container);
  const host = h.host ?? target.podIP;
  if (target.simulated) return Promise.resolve({ ok: true, output: '' });
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true, output: '' });
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      const code = errCode(err);
      resolve({
        ok: false,
        output: `dial tcp ${host}:${port}: connect: ${code === 'ECONNREFUSED' ? 'connection refused' : err.message}`,
      });
    });
  });
}

/** Runs one probe (or lifecycle hook) once. */
export async function runHandler(
  h: ProbeHandler | LifecycleHandler,
  container: Container,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  try {
    if (h.exec) {
      const cmd = h.exec.command ?? [];
      const r = await target.exec(cmd, timeoutMs);
      if (r.timedOut) return { ok: false, output: `command ${JSON.stringify(cmd.join(' '))} timed out` };
      return { ok: r.exitCode === 0, output: r.output.trimEnd() };
    }
    if (h.httpGet) return await httpProbe(h.httpGet, container, target, timeoutMs);
    if (h.tcpSocket) return await tcpProbe(h.tcpSocket, container, target, timeoutMs);
    if ('grpc' in h && h.grpc) {
      return await tcpProbe({ port: h.grpc.port }, container, target, timeoutMs);
    }
    return { ok: false, output: 'missing probe handler' };
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
}

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: Probe;
  container: Container;
  containerId: string;
  /** When the container started (ms), for initialDelaySeconds. */
  startedAtMs: number;
  runtime: Runtime;
  target: ProbeTarget;
  /** false while the startup probe has not succeeded (liveness and readiness wait). */
  gate: () => boolean;
  onResult: (kind: ProbeKind, result: ProbeResult) => void;
  onFailure: (kind: ProbeKind, output: string) => void;
}

/** Upstream's initial results: not ready until proven, alive until proven dead, startup unknown. */
export function initialResult(kind: ProbeKind): ProbeResult {
  return kind === 'readiness' ? 'failure' : kind === 'liveness' ? 'success' : 'unknown';
}

/**
 * Runs one probe of one container instance every periodSeconds. The result changes only after
 * successThreshold successes or failureThreshold failures in a row; a liveness or startup failure
 * puts the worker on hold (the kubelet restarts the container and starts a new worker).
 */
export class ProbeWorker {
  result: ProbeResult;
  private lastOutcome: boolean | undefined;
  private run = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private onHold = false;
  private readonly periodMs: number;

  constructor(private readonly o: ProbeWorkerOptions) {
    this.result = initialResult(o.kind);
    this.periodMs = Math.max(1, o.probe.periodSeconds ?? 10) * 1000;
  }

  get containerId(): string {
    return this.o.containerId;
  }

  start(): void {
    const due = this.o.startedAtMs + (this.o.probe.initialDelaySeconds ?? 0) * 1000 - this.o.runtime.now();
    this.arm(Math.max(0, due));
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.runtime.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    if (!this.onHold && this.o.gate() && !(this.o.kind === 'startup' && this.result === 'success')) {
      await this.probeOnce();
    }
    this.arm(this.periodMs);
  }

  /** One probe and the threshold bookkeeping (exposed for tests). */
  async probeOnce(): Promise<void> {
    const timeoutMs = Math.max(1, this.o.probe.timeoutSeconds ?? 1) * 1000;
    const outcome = await runHandler(this.o.probe, this.o.container, this.o.target, timeoutMs);
    if (this.stopped) return;
    if (!outcome.ok) this.o.onFailure(this.o.kind, outcome.output);
    if (this.lastOutcome === outcome.ok) this.run++;
    else {
      this.lastOutcome = outcome.ok;
      this.run = 1;
    }
    const failureThreshold = this.o.probe.failureThreshold ?? 3;
    const successThreshold = this.o.probe.successThreshold ?? 1;
    if ((!outcome.ok && this.run < failureThreshold) || (outcome.ok && this.run < successThreshold)) return;
    const next: ProbeResult = outcome.ok ? 'success' : 'failure';
    const changed = next !== this.result;
    this.result = next;
    if (!outcome.ok && (this.o.kind === 'liveness' || this.o.kind === 'startup')) {
      this.run = 0;
      this.onHold = true;
    }
    if (changed || (!outcome.ok && this.o.kind !== 'readiness')) this.o.onResult(this.o.kind, next);
  }
}
