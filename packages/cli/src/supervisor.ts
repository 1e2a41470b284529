import fs from 'node:fs';
import { KemuError, type Runtime, systemRuntime, type TimerHandle } from '@kemu/runtime';
import { execa } from 'execa';
import { removeFile, STATE_DIR_ENV, signalGroup, writePidFile } from './pid-files.js';
import { type StateDir, writeFileAtomic } from './state-dir.js';

/** One running child as the supervisor sees it; the real one is an execa subprocess. */
export interface SpawnedProcess {
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Signals the child's whole process group. */
  kill(signal: NodeJS.Signals): void;
}

/** `env` is added to the supervisor's own environment. */
export type Spawner = (argv: string[], logFile: string, env: Record<string, string>) => SpawnedProcess;

/** Spawns with execa into a new process group (detached) with stdout/stderr appended to a log file. */
export const execaSpawner: Spawner = (argv, logFile, env) => {
  // A real file descriptor, not `{file}`: execa would pipe through this process, and a component
  // must keep its log (and not get EPIPE) when the supervisor dies.
  const fd = fs.openSync(logFile, 'a') as 3;
  const sub = execa(argv[0]!, argv.slice(1), {
    detached: true,
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
    reject: false,
    cleanup: false,
    buffer: false,
    env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
  fs.closeSync(fd);
  const pid = sub.pid;
  return {
    pid,
    exited: sub.then((r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null })),
    kill: (signal) => {
      if (pid !== undefined) signalGroup(pid, signal);
    },
  };
};

/**
 * `running`; `paused` (SIGSTOPped by `kemu pause`); `backoff` (died, restart pending); `stopping`;
 * `stopped` (on purpose: `kemu stop` or shutdown; not restarted until `kemu start`).
 */
export type ComponentState = 'running' | 'paused' | 'backoff' | 'stopping' | 'stopped';

export interface ComponentStatus {
  name: string;
  kind: string;
  pid: number | null;
  state: ComponentState;
  restarts: number;
  /** Wall-clock ms when the current process started (null when not running). */
  startedAt: number | null;
  lastExit: { code: number | null; signal: string | null; at: number } | null;
}

export interface SupervisedComponent {
  name: string;
  kind: string;
  argv: string[];
}

export type SupervisorEvent =
  | { event: 'start'; component: string; pid: number | null; restarts: number }
  | {
      event: 'exit';
      component: string;
      pid: number | null;
      code: number | null;
      signal: string | null;
      planned: boolean;
    }
  | { event: 'restart'; component: string; restarts: number; backoffMs: number }
  | { event: 'stop'; component: string; pid: number | null; forced: boolean }
  | { event: 'signal'; component: string; pid: number | null; signal: NodeJS.Signals; by: string };

/** A chaos request the supervisor cannot carry out (unknown component, wrong state). */
export class SupervisorActionError extends KemuError {
  constructor(code: 'KEMU_UNKNOWN_COMPONENT' | 'KEMU_BAD_STATE', message: string) {
    super(code, message);
  }
}

export type ChaosAction = 'kill' | 'stop' | 'start' | 'restart' | 'pause' | 'resume';
export const CHAOS_ACTIONS: readonly ChaosAction[] = ['kill', 'stop', 'start', 'restart', 'pause', 'resume'];

export interface ActionResult {
  component: string;
  action: ChaosAction;
  /** The pid acted on (kill, pause, resume, stop) or started (start, restart). */
  pid: number | null;
  state: ComponentState;
}

export interface SupervisorOptions {
  state: StateDir;
  runtime?: Runtime;
  spawn?: Spawner;
  /** First restart delay; doubles per consecutive crash up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A process that ran this long before dying starts the backoff over. */
  resetBackoffAfterMs?: number;
  /** SIGTERM → SIGKILL deadline. */
  stopTimeoutMs?: number;
  onEvent?: (e: SupervisorEvent) => void;
  /** Added to every component's environment. */
  env?: Record<string, string>;
}

interface Entry {
  spec: SupervisedComponent;
  status: ComponentStatus;
  proc: SpawnedProcess | undefined;
  startedMono: number;
  consecutiveCrashes: number;
  wanted: boolean;
  restartTimer: TimerHandle | undefined;
  exited: Promise<void> | undefined;
}

/**
 * Keeps components running: starts each in its own process group, restarts one that dies (with
 * exponential backoff) unless it was stopped on purpose, and records every start, exit and restart in
 * the state dir's JSON-lines event log. Pid files let a later run find processes this one left behind.
 */
export class Supervisor {
  private readonly state: StateDir;
  private readonly runtime: Runtime;
  private readonly spawn: Spawner;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly resetBackoffAfterMs: number;
  private readonly stopTimeoutMs: number;
  private readonly onEvent: ((e: SupervisorEvent) => void) | undefined;
  private readonly env: Record<string, string>;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: SupervisorOptions) {
    this.state = opts.state;
    this.runtime = opts.runtime ?? systemRuntime;
    this.spawn = opts.spawn ?? execaSpawner;
    this.initialBackoffMs = opts.initialBackoffMs ?? 250;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.resetBackoffAfterMs = opts.resetBackoffAfterMs ?? 10_000;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
    this.onEvent = opts.onEvent;
    this.env = opts.env ?? {};
    this.state.ensure();
  }

  start(spec: SupervisedComponent): void {
    if (this.entries.has(spec.name)) throw new Error(`supervisor: ${spec.name} is already supervised`);
    const entry: Entry = {
      spec,
      status: {
        name: spec.name,
        kind: spec.kind,
        pid: null,
        state: 'stopped',
        restarts: 0,
        startedAt: null,
        lastExit: null,
      },
      proc: undefined,
      startedMono: 0,
      consecutiveCrashes: 0,
      wanted: true,
      restartTimer: undefined,
      exited: undefined,
    };
    this.entries.set(spec.name, entry);
    this.launch(entry);
  }

  status(): ComponentStatus[] {
    return [...this.entries.values()].map((e) => ({ ...e.status }));
  }

  /** Stops one component on purpose (no restart): SIGTERM, then SIGKILL after the deadline. */
  async stop(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) return;
    entry.wanted = false;
    entry.restartTimer?.cancel();
    entry.restartTimer = undefined;
    const proc = entry.proc;
    if (!proc || !entry.exited) {
      entry.status.state = 'stopped';
      this.persist();
      return;
    }
    const wasPaused = entry.status.state === 'paused';
    entry.status.state = 'stopping';
    this.persist();
    proc.kill('SIGTERM');
    // A paused process would sit on the SIGTERM until the deadline: let it handle it now.
    if (wasPaused) proc.kill('SIGCONT');
    let forced = false;
    const timer = this.runtime.setTimeout(() => {
      forced = true;
      proc.kill('SIGKILL');
    }, this.stopTimeoutMs);
    await entry.exited;
    timer.cancel();
    // Whatever the leader left in its group goes too.
    proc.kill('SIGKILL');
    this.record({ event: 'stop', component: name, pid: proc.pid ?? null, forced });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * The chaos verbs (`kemu kill|stop|start|restart|pause|resume NAME`):
   * - kill: SIGKILL to the process group; the supervisor sees a crash and restarts it after backoff,
   *   as a kubelet restarts a static pod.
   * - stop: SIGTERM (SIGKILL after the deadline), marked stopped on purpose: not restarted until start.
   * - start: starts a stopped (or backing-off) component now, with a fresh backoff.
   * - restart: stop, then start.
   * - pause / resume: SIGSTOP / SIGCONT to the process group (it keeps its sockets, answers nothing).
   */
  async act(action: ChaosAction, name: string): Promise<ActionResult> {
    const entry = this.entries.get(name);
    if (!entry) {
      throw new SupervisorActionError(
        'KEMU_UNKNOWN_COMPONENT',
        `unknown component "${name}"; supervised: ${this.names().join(', ')}`,
      );
    }
    const pid = entry.proc?.pid ?? null;
    const result = (p: number | null): ActionResult => ({
      component: name,
      action,
      pid: p,
      state: entry.status.state,
    });
    switch (action) {
      case 'kill': {
        const proc = this.requireRunning(entry, action);
        const exited = entry.exited;
        this.signal(entry, proc, 'SIGKILL', action);
        // Report the state after the crash is seen (backoff), not the one before it.
        await this.within(exited, 2000);
        return result(pid);
      }
      case 'pause': {
        const proc = this.requireRunning(entry, action);
        this.signal(entry, proc, 'SIGSTOP', action);
        entry.status.state = 'paused';
        this.persist();
        return result(pid);
      }
      case 'resume': {
        const proc = entry.proc;
        if (!proc || entry.status.state !== 'paused') {
          throw new SupervisorActionError('KEMU_BAD_STATE', `${name} is not paused (state ${entry.status.state})`);
        }
        this.signal(entry, proc, 'SIGCONT', action);
        entry.status.state = 'running';
        this.persist();
        return result(pid);
      }
      case 'stop':
        if (!entry.wanted && entry.status.state === 'stopped') return result(null);
        await this.stop(name);
        return result(pid);
      case 'start':
        if (entry.proc) return result(pid);
        this.startAgain(entry);
        return result(entry.status.pid);
      case 'restart':
        await this.stop(name);
        this.startAgain(entry);
        return result(entry.status.pid);
    }
  }

  /** Waits for `p`, but at most `ms` (by the injected clock). */
  private async within(p: Promise<unknown> | undefined, ms: number): Promise<void> {
    if (!p) return;
    let timer: TimerHandle | undefined;
    await Promise.race([p, new Promise<void>((r) => (timer = this.runtime.setTimeout(r, ms)))]);
    timer?.cancel();
  }

  private requireRunning(entry: Entry, action: ChaosAction): SpawnedProcess {
    if (!entry.proc || entry.status.state === 'stopping') {
      throw new SupervisorActionError(
        'KEMU_BAD_STATE',
        `cannot ${action} ${entry.spec.name}: it is not running (state ${entry.status.state})`,
      );
    }
    if (action === 'pause' && entry.status.state === 'paused') {
      throw new SupervisorActionError('KEMU_BAD_STATE', `${entry.spec.name} is already paused`);
    }
    return entry.proc;
  }

  private signal(entry: Entry, proc: SpawnedProcess, signal: NodeJS.Signals, by: string): void {
    this.record({ event: 'signal', component: entry.spec.name, pid: proc.pid ?? null, signal, by });
    proc.kill(signal);
  }

  private startAgain(entry: Entry): void {
    entry.wanted = true;
    entry.restartTimer?.cancel();
    entry.restartTimer = undefined;
    entry.consecutiveCrashes = 0;
    this.launch(entry);
  }

  async stopAll(): Promise<void> {
    // Kinds in reverse start order (the apiserver before the etcd it uses, so it does not log a
    // storm of etcd errors on the way out); the members of one kind together.
    const kinds = [...new Set([...this.entries.values()].map((e) => e.spec.kind))].reverse();
    for (const kind of kinds) {
      const names = [...this.entries.values()].filter((e) => e.spec.kind === kind).map((e) => e.spec.name);
      await Promise.all(names.map((n) => this.stop(n)));
    }
  }

  private launch(entry: Entry): void {
    const { spec } = entry;
    // Every process of the cluster (and what it spawns, such as a kubelet's containers) carries the
    // state dir in its environment, so a later `up`/`down` can find strays no pid file names.
    const proc = this.spawn(spec.argv, this.state.componentLog(spec.name), {
      ...this.env,
      [STATE_DIR_ENV]: this.state.root,
      KEMU_COMPONENT: spec.name,
    });
    entry.proc = proc;
    entry.startedMono = this.runtime.monotonic();
    entry.status.pid = proc.pid ?? null;
    entry.status.state = 'running';
    entry.status.startedAt = this.runtime.now();
    if (proc.pid !== undefined) writePidFile(this.state.pidFile(spec.name), { pid: proc.pid, argv: spec.argv });
    this.record({ event: 'start', component: spec.name, pid: proc.pid ?? null, restarts: entry.status.restarts });
    entry.exited = proc.exited.then((r) => this.onExit(entry, proc, r));
  }

  private onExit(entry: Entry, proc: SpawnedProcess, r: { code: number | null; signal: string | null }): void {
    if (entry.proc !== proc) return;
    entry.proc = undefined;
    entry.exited = undefined;
    removeFile(this.state.pidFile(entry.spec.name));
    entry.status.pid = null;
    entry.status.startedAt = null;
    entry.status.lastExit = { code: r.code, signal: r.signal, at: this.runtime.now() };
    this.record({
      event: 'exit',
      component: entry.spec.name,
      pid: proc.pid ?? null,
      code: r.code,
      signal: r.signal,
      planned: !entry.wanted,
    });
    if (!entry.wanted) {
      entry.status.state = 'stopped';
      this.persist();
      return;
    }
    const ranMs = this.runtime.monotonic() - entry.startedMono;
    entry.consecutiveCrashes = ranMs >= this.resetBackoffAfterMs ? 1 : entry.consecutiveCrashes + 1;
    const backoffMs = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (entry.consecutiveCrashes - 1));
    entry.status.state = 'backoff';
    entry.status.restarts += 1;
    this.record({ event: 'restart', component: entry.spec.name, restarts: entry.status.restarts, backoffMs });
    entry.restartTimer = this.runtime.setTimeout(() => {
      entry.restartTimer = undefined;
      if (entry.wanted) this.launch(entry);
    }, backoffMs);
  }

  private record(e: SupervisorEvent): void {
    fs.appendFileSync(
      this.state.eventLog,
      `${JSON.stringify({ time: new Date(this.runtime.now()).toISOString(), ...e })}\n`,
    );
    this.persist();
    this.onEvent?.(e);
  }

  /** The status file is what `kemu status` reads (the supervisor may be a detached process). */
  private persist(): void {
    writeFileAtomic(
      this.state.statusFile,
      `${JSON.stringify({ supervisorPid: process.pid, updatedAt: this.runtime.now(), components: this.status() }, null, 2)}\n`,
    );
  }
}
