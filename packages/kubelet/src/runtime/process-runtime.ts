import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { TimerHandle } from '@kemu/runtime';
import { effectiveArgv, hostArgv } from '../images/catalogue.js';
import {
  BaseContainerRuntime,
  type ContainerRecord,
  exitReason,
  type RuntimeOptions,
  type SandboxRecord,
} from './base.js';
import { ContainerStartError, ExecError } from './errors.js';
import { ContainerLogFile, logStream, readLogFile } from './logs.js';
import { hostWorkingDir, mountRewriter } from './mounts.js';
import { detectPrivilegedPortPolicy, type PrivilegedPortPolicy } from './ports.js';
import { exitCodeOf, groupAlive, killGroup, treeRssBytes } from './process-group.js';
import type { ExecOptions, ExecSession, LogOptions, RuntimeStatus } from './types.js';

export interface ProcessRuntimeOptions extends RuntimeOptions {
  /** How often resident memory is checked against limits (default 100 ms). */
  memoryPollMs?: number;
  /** Overrides detection (tests). */
  privilegedPorts?: PrivilegedPortPolicy;
  /** Overrides the loopback-range bind probe (tests); resolves with an error code or null. */
  probeBind?: (ip: string) => Promise<string | null>;
}

interface ProcessContainer extends ContainerRecord {
  child: ChildProcess | null;
  logFile: ContainerLogFile | null;
  /** Per-container directory: its rootfs (working dir) lives here. */
  dir: string;
  oomKilled: boolean;
  execs: Set<ChildProcess>;
  exited: Promise<void>;
  markExited: () => void;
}

/**
 * Every live ProcessRuntime, so one process 'exit' listener can SIGKILL all container groups if the
 * host process exits without close() (a crash, process.exit in a test).
 */
const liveRuntimes = new Set<ProcessRuntime>();
let exitListenerInstalled = false;
function registerForExit(rt: ProcessRuntime): void {
  liveRuntimes.add(rt);
  if (exitListenerInstalled) return;
  exitListenerInstalled = true;
  process.on('exit', () => {
    for (const r of liveRuntimes) r.killEverythingSync();
  });
}

/** Binds `ip` on an ephemeral port and lets go; resolves with the error code, or null on success. */
function probeBind(ip: string): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    probe.listen(0, ip, () => probe.close(() => resolve(null)));
    probe.unref();
  });
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Containers as real child processes. Each container (and each exec) leads its own process group,
 * and every kill targets the whole group, so `sh -c 'sleep 1000 & wait'` leaves nothing behind.
 * When a container's main process exits, the rest of its group is SIGKILLed, like a PID namespace
 * going away.
 */
export class ProcessRuntime extends BaseContainerRuntime<ProcessContainer> {
  readonly kind = 'process' as const;
  private readonly memoryPollMs: number;
  private readonly ports: PrivilegedPortPolicy;
  private memoryTimer: TimerHandle | null = null;

  constructor(opts: ProcessRuntimeOptions) {
    super(opts);
    this.memoryPollMs = opts.memoryPollMs ?? 100;
    this.ports = opts.privilegedPorts ?? detectPrivilegedPortPolicy();
    if (!this.ports.allowed) this.log.warn({ reason: this.ports.reason }, 'privileged ports unavailable');
    fs.mkdirSync(this.stateDir, { recursive: true });
    this.reapLeftovers();
    registerForExit(this);
    this.probeLoopbackRange(opts.probeBind ?? probeBind);
  }

  /**
   * Containers are children of this process, so they cannot be adopted by the next one. A process
   * that died without running its exit hook (SIGKILL) leaves them running, holding pod IPs and
   * ports; a new runtime on the same state dir kills them. The pid file is trusted only if that
   * process still carries the container's id in its environment (pids get reused).
   */
  private reapLeftovers(): void {
    const root = path.join(this.stateDir, 'containers');
    // Logs of sandboxes this runtime will never know are unreachable: start from a clean slate.
    fs.rmSync(path.join(this.stateDir, 'pods'), { recursive: true, force: true });
    let ids: string[];
    try {
      ids = fs.readdirSync(root);
    } catch {
      return;
    }
    let reaped = 0;
    for (const id of ids) {
      const dir = path.join(root, id);
      try {
        const pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
        const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        if (pid > 0 && environ.includes(`KEMU_CONTAINER_ID=${id}`) && killGroup(pid, 'SIGKILL')) reaped++;
      } catch {
        // no pid file, or the process is gone
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (reaped > 0) this.log.warn({ reaped }, 'killed containers left running by a previous runtime');
  }

  private network: { reason: string; message: string } | null = null;
  /** Settles once the loopback probe has answered (tests wait on it). */
  networkChecked: Promise<void> = Promise.resolve();

  /**
   * Linux answers on all of 127/8; other systems (macOS) only on 127.0.0.1 unless aliases are
   * added. Binding the range's first address once tells which, and NetworkReady says so.
   */
  private probeLoopbackRange(bind: (ip: string) => Promise<string | null>): void {
    const ip = this.ips.firstAddress();
    this.networkChecked = bind(ip).then((code) => {
      if (code === null || code === 'EADDRINUSE') return; // bindable (maybe taken by another kubelet)
      this.network = {
        reason: 'LoopbackRangeUnavailable',
        message: `cannot bind pod IP ${ip} (${code}); pod IPs need the loopback range ${this.ips.cidr} routed to lo (Linux does this; on macOS add aliases: sudo ifconfig lo0 alias ${ip})`,
      };
      this.log.error({ reason: this.network.reason }, this.network.message);
    });
  }

  protected override networkProblem(): { reason: string; message: string } | null {
    return this.network;
  }

  protected override extraStatus(): Pick<RuntimeStatus, 'privilegedPorts'> {
    return { privilegedPorts: { allowed: this.ports.allowed, reason: this.ports.reason } };
  }

  override async close(): Promise<void> {
    await super.close();
    liveRuntimes.delete(this);
    this.memoryTimer?.cancel();
    this.memoryTimer = null;
  }

  protected newContainer(base: ContainerRecord): ProcessContainer {
    let markExited = (): void => {};
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    return {
      ...base,
      child: null,
      logFile: null,
      dir: path.join(this.stateDir, 'containers', base.id),
      oomKilled: false,
      execs: new Set(),
      exited,
      markExited,
    };
  }

  /** The environment, working dir and argv rewriting a container (and its execs) sees. */
  private environment(c: ProcessContainer, s: SandboxRecord) {
    const mounts = c.config.mounts ?? [];
    const rewrite = mountRewriter(mounts);
    const rootfs = path.join(c.dir, 'rootfs');
    const cwd = hostWorkingDir(c.config.workingDir, rootfs, rewrite);
    const env: Record<string, string> = {
      PATH: process.env.PATH || DEFAULT_PATH,
      HOME: rootfs,
      HOSTNAME: s.hostname,
      KEMU_POD_IP: s.ip,
      KEMU_POD_NAME: s.config.metadata.name,
      KEMU_POD_NAMESPACE: s.config.metadata.namespace,
      KEMU_POD_UID: s.config.metadata.uid,
      KEMU_CONTAINER_NAME: c.name,
      KEMU_CONTAINER_ID: c.id,
      KEMU_CONTAINER_PORTS: (c.config.ports ?? [])
        .filter((p) => (p.protocol ?? 'TCP') === 'TCP')
        .map((p) => p.containerPort)
        .join(','),
      KEMU_MOUNTS: JSON.stringify(mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath }))),
    };
    for (const e of c.config.envs ?? []) env[e.name] = rewrite(e.value);
    // Markers (set last, so a pod cannot hide from them): which runtime owns the process, and the
    // kemu cluster it belongs to (`kemu down` sweeps processes by KEMU_STATE_DIR). Containers run in
    // process groups of their own, so they outlive a SIGKILLed kubelet; these let whoever cleans up
    // find them.
    env.KEMU_RUNTIME_STATE_DIR = this.stateDir;
    if (process.env.KEMU_STATE_DIR) env.KEMU_STATE_DIR = process.env.KEMU_STATE_DIR;
    return { env, cwd, rootfs, rewrite };
  }

  protected async startContainerImpl(c: ProcessContainer, s: SandboxRecord): Promise<void> {
    const { env, cwd, rootfs, rewrite } = this.environment(c, s);
    const argv = effectiveArgv(c.image, c.config.command, c.config.args).map(rewrite);
    const target = hostArgv(argv);
    fs.mkdirSync(rootfs, { recursive: true });
    fs.mkdirSync(cwd, { recursive: true });
    c.logFile = new ContainerLogFile(c.logPath, this.rt);
    if (!target) return this.failStart(c, 'no command specified');

    const child = spawn(target.file, target.args, {
      cwd,
      env,
      detached: true, // its own process group, so the whole tree can be signalled at once
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'executable file not found in $PATH' : (err as Error).message;
      return this.failStart(
        c,
        `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${argv[0]}": ${why}: unknown`,
      );
    }
    const pid = child.pid!;
    c.child = child;
    c.pid = pid;
    fs.writeFileSync(path.join(c.dir, 'pid'), String(pid));
    c.state = 'running';
    c.startedAt = this.rt.now();
    const logFile = c.logFile;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => logFile.write('stdout', d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => logFile.write('stderr', d));
    child.on('exit', () => {
      killGroup(pid, 'SIGKILL');
      // A descendant that left the group (setsid) could hold the pipes open forever; stop waiting
      // for its output after a second so the container still reaches `exited`.
      this.rt.setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 1000);
    });
    child.on('close', (code, signal) => this.finish(c, exitCodeOf(code, signal)));
    if (c.config.resources?.memoryLimitBytes !== undefined) this.ensureMemoryWatch();
    this.log.debug({ container: c.id.slice(0, 12), name: c.name, pid, argv }, 'container started');
  }

  private failStart(c: ProcessContainer, message: string): never {
    c.state = 'exited';
    c.exitCode = 128;
    c.reason = 'StartError';
    c.message = message;
    c.startedAt = null;
    c.finishedAt = this.rt.now();
    c.logFile?.close();
    c.markExited();
    throw new ContainerStartError(message);
  }

  private finish(c: ProcessContainer, code: number): void {
    if (c.state === 'exited') return;
    const pid = c.pid!;
    killGroup(pid, 'SIGKILL');
    for (const e of c.execs) if (e.pid !== undefined) killGroup(e.pid, 'SIGKILL');
    c.exitCode = c.oomKilled ? 137 : code;
    c.reason = exitReason(c.exitCode, c.oomKilled);
    const privileged = (c.config.ports ?? []).some((p) => p.containerPort < this.ports.unprivilegedPortStart);
    if (c.exitCode !== 0 && !c.oomKilled && privileged && !this.ports.allowed) c.message = this.ports.reason;
    c.state = 'exited';
    c.finishedAt = this.rt.now();
    c.logFile?.close();
    c.child = null;
    c.markExited();
    this.log.debug({ container: c.id.slice(0, 12), exitCode: c.exitCode, reason: c.reason }, 'container exited');
  }

  protected async stopContainerImpl(c: ProcessContainer, gracePeriodSeconds: number): Promise<void> {
    if (c.state !== 'running' || c.pid === null) return;
    const pid = c.pid;
    if (gracePeriodSeconds > 0) {
      killGroup(pid, 'SIGTERM');
      let resolveGrace = (): void => {};
      const graceOver = new Promise<void>((resolve) => {
        resolveGrace = resolve;
      });
      const timer = this.rt.setTimeout(resolveGrace, gracePeriodSeconds * 1000);
      await Promise.race([c.exited, graceOver]);
      timer.cancel();
    }
    if (c.state === 'running') killGroup(pid, 'SIGKILL');
    await c.exited;
    await this.groupGone(pid);
  }

  /**
   * SIGKILL is delivered asynchronously: the main process can be reaped while a sibling in its group
   * is still being torn down. Stops resolve only once the whole group is gone (or after 5 s, logged).
   */
  private async groupGone(pgid: number): Promise<void> {
    const deadline = this.rt.monotonic() + 5000;
    while (groupAlive(pgid)) {
      if (this.rt.monotonic() > deadline) {
        this.log.warn({ pgid }, 'process group still alive 5 s after SIGKILL');
        return;
      }
      killGroup(pgid, 'SIGKILL');
      await new Promise<void>((resolve) => this.rt.setTimeout(resolve, 10));
    }
  }

  protected async removeContainerImpl(c: ProcessContainer): Promise<void> {
    fs.rmSync(c.dir, { recursive: true, force: true });
    fs.rmSync(c.logPath, { force: true });
  }

  protected override removeSandboxImpl(s: SandboxRecord): void {
    fs.rmSync(s.logDir, { recursive: true, force: true });
  }

  protected logsImpl(c: ProcessContainer, opts: LogOptions): Readable {
    return logStream(readLogFile(c.logPath), opts, c.state === 'running' ? c.logFile : null);
  }

  protected async execImpl(
    c: ProcessContainer,
    s: SandboxRecord,
    cmd: string[],
    opts: ExecOptions,
  ): Promise<ExecSession> {
    const { env, cwd, rewrite } = this.environment(c, s);
    const target = hostArgv(cmd.map(rewrite))!;
    const child = spawn(target.file, target.args, {
      cwd,
      env,
      detached: true,
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'executable file not found in $PATH' : (err as Error).message;
      throw new ExecError(
        `OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd[0]}": ${why}: unknown`,
        { cause: err },
      );
    }
    const pid = child.pid!;
    c.execs.add(child);
    child.on('exit', () => killGroup(pid, 'SIGKILL'));
    // 'exit', not 'close': the caller may await the code before (or without) reading the output.
    const exit = new Promise<{ exitCode: number }>((resolve) => {
      child.on('exit', (code, signal) => {
        c.execs.delete(child);
        resolve({ exitCode: exitCodeOf(code, signal) });
      });
    });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) killGroup(pid, 'SIGKILL');
    };
    return { stdout: child.stdout!, stderr: child.stderr!, stdin: child.stdin, exit, kill };
  }

  protected async killAllImpl(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const c of this.containers.values()) {
      for (const e of c.execs) if (e.pid !== undefined) killGroup(e.pid, 'SIGKILL');
      if (c.state === 'running' && c.pid !== null) {
        const pid = c.pid;
        killGroup(pid, 'SIGKILL');
        waits.push(c.exited.then(() => this.groupGone(pid)));
      }
    }
    await Promise.all(waits);
  }

  /** Synchronous SIGKILL of every container and exec group (for the process 'exit' hook). */
  killEverythingSync(): void {
    for (const c of this.containers.values()) {
      for (const e of c.execs) if (e.pid !== undefined) killGroup(e.pid, 'SIGKILL');
      if (c.state === 'running' && c.pid !== null) killGroup(c.pid, 'SIGKILL');
    }
  }

  /** One timer for all containers with a memory limit, armed only while there are any. */
  private ensureMemoryWatch(): void {
    if (this.memoryTimer) return;
    this.memoryTimer = this.rt.setInterval(() => this.checkMemory(), this.memoryPollMs);
  }

  private checkMemory(): void {
    let watched = 0;
    for (const c of this.containers.values()) {
      const limit = c.config.resources?.memoryLimitBytes;
      if (c.state !== 'running' || c.pid === null || limit === undefined || c.oomKilled) continue;
      watched++;
      const rss = treeRssBytes(c.pid);
      if (rss !== null && rss > limit) {
        c.oomKilled = true;
        this.log.warn({ container: c.id.slice(0, 12), name: c.name, rss, limit }, 'memory limit exceeded: OOM kill');
        killGroup(c.pid, 'SIGKILL');
      }
    }
    if (watched === 0) {
      this.memoryTimer?.cancel();
      this.memoryTimer = null;
    }
  }
}
