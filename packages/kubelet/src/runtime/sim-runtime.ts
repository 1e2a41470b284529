import { PassThrough, Readable } from 'node:stream';
import type { TimerHandle } from '@kemu/runtime';
import { effectiveArgv } from '../images/catalogue.js';
import { BaseContainerRuntime, type ContainerRecord, exitReason, type RuntimeOptions } from './base.js';
import { logStream, MemoryLog } from './logs.js';
import { TimerQueue } from './timer-queue.js';
import type { ExecOptions, ExecSession, LogOptions } from './types.js';

export interface SimRuntimeOptions extends RuntimeOptions {
  /** created → running (default 100 ms). */
  startDelayMs?: number;
  /** How long a container takes to honour SIGTERM (default 0); longer than the grace → SIGKILL, 137. */
  stopDelayMs?: number;
  /** How long a memory hog with a limit runs before it is OOMKilled (default 1000 ms). */
  oomAfterMs?: number;
}

/** What a command line promises, read from `sleep N`, `exit N` and `echo …` hints. */
export interface SimBehaviour {
  /** Milliseconds until exit, or null to run until stopped. */
  runForMs: number | null;
  exitCode: number;
  /** Lines the container prints when it starts. */
  output: string[];
  oom: boolean;
}

const FOREVER = /\bwhile\s+(true|:)|sleep\s+infinity|tail\s+-f/;

function echoLines(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[;&|]\s*|\s)echo\s+(?:-n\s+)?("([^"]*)"|'([^']*)'|([^;&|\n]*))/g)) {
    out.push((m[2] ?? m[3] ?? m[4] ?? '').trim());
  }
  return out;
}

/**
 * Reads a container's behaviour from its program and command line. Shell images exit after their
 * `sleep`s with their `exit` code (0 by default) unless they loop forever; servers run until stopped
 * unless an `exit N` hint is given; `kemu/crasher` and `kemu/memhog` behave as their names say.
 */
export function simBehaviour(
  program: string,
  argv: string[],
  memoryLimitBytes: number | undefined,
  oomAfterMs: number,
): SimBehaviour {
  const text = argv.join(' ');
  const exit = [...text.matchAll(/\bexit\s+(\d+)/g)].pop();
  const sleeps = [...text.matchAll(/\bsleep\s+(\d+(?:\.\d+)?)\b/g)].reduce((ms, m) => ms + Number(m[1]) * 1000, 0);
  const output = echoLines(text);
  const exitCode = exit ? Number(exit[1]) : 0;
  if (program === 'memhog') {
    return { runForMs: memoryLimitBytes !== undefined ? oomAfterMs : null, exitCode: 137, output, oom: true };
  }
  if (program === 'crasher') {
    const code = /--exit-code[=\s]+(\d+)/.exec(text);
    const after = /--after-ms[=\s]+(\d+)/.exec(text);
    return { runForMs: after ? Number(after[1]) : 100, exitCode: code ? Number(code[1]) : 1, output, oom: false };
  }
  if (FOREVER.test(text)) return { runForMs: null, exitCode: 0, output, oom: false };
  if (program === 'shell' || exit) return { runForMs: sleeps, exitCode, output, oom: false };
  return { runForMs: null, exitCode: 0, output: output.length > 0 ? output : [`${program}: started`], oom: false };
}

interface SimContainer extends ContainerRecord {
  logs: MemoryLog | null;
  timer: TimerHandle | null;
  exited: Promise<void> | null;
  markExited: (() => void) | null;
}

/**
 * No processes, only state transitions on one TimerQueue (like KWOK): a container is running
 * `startDelayMs` after start and exits when its command's hints say so. Logs are kept in memory
 * and exec answers from the command's `echo`/`exit` hints, so one process can host 10,000
 * containers.
 */
export class SimRuntime extends BaseContainerRuntime<SimContainer> {
  readonly kind = 'sim' as const;
  private readonly queue: TimerQueue;
  private readonly startDelayMs: number;
  private readonly stopDelayMs: number;
  private readonly oomAfterMs: number;

  constructor(opts: SimRuntimeOptions) {
    super(opts);
    this.queue = new TimerQueue(opts.runtime);
    this.startDelayMs = opts.startDelayMs ?? 100;
    this.stopDelayMs = opts.stopDelayMs ?? 0;
    this.oomAfterMs = opts.oomAfterMs ?? 1000;
  }

  /** Pending deadlines (for tests and metrics). */
  pendingTransitions(): number {
    return this.queue.size();
  }

  override async close(): Promise<void> {
    await super.close();
    this.queue.clear();
  }

  protected newContainer(base: ContainerRecord): SimContainer {
    return { ...base, logs: null, timer: null, exited: null, markExited: null };
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.queue.schedule(ms, resolve));
  }

  protected async startContainerImpl(c: SimContainer): Promise<void> {
    c.exited = new Promise((resolve) => {
      c.markExited = resolve;
    });
    await this.delay(this.startDelayMs);
    // Stopped, killed or removed while starting: nothing more to do.
    if (c.state !== 'created' || this.down || this.containers.get(c.id) !== c) return;
    const argv = effectiveArgv(c.image, c.config.command, c.config.args);
    const b = simBehaviour(c.image.program, argv, c.config.resources?.memoryLimitBytes, this.oomAfterMs);
    c.state = 'running';
    c.startedAt = this.rt.now();
    c.pid = 0;
    c.logs = new MemoryLog(this.rt);
    for (const line of b.output) c.logs.writeLine('stdout', line);
    if (b.runForMs !== null) {
      c.timer = this.queue.schedule(b.runForMs, () => this.finish(c, b.exitCode, b.oom));
    }
  }

  private finish(c: SimContainer, exitCode: number, oom: boolean): void {
    if (c.state === 'exited') return;
    c.timer?.cancel();
    c.timer = null;
    c.state = 'exited';
    c.exitCode = oom ? 137 : exitCode;
    c.reason = exitReason(c.exitCode, oom);
    c.finishedAt = this.rt.now();
    c.logs?.close();
    c.markExited?.();
  }

  protected async stopContainerImpl(c: SimContainer, gracePeriodSeconds: number): Promise<void> {
    if (c.state === 'created' && c.exited) {
      // Stopped while starting: it never ran.
      this.finish(c, 137, false);
      return;
    }
    if (c.state !== 'running') return;
    const graceMs = gracePeriodSeconds * 1000;
    c.timer?.cancel();
    if (graceMs > 0 && this.stopDelayMs <= graceMs) {
      c.timer = this.stopDelayMs > 0 ? this.queue.schedule(this.stopDelayMs, () => this.finish(c, 0, false)) : null;
      if (!c.timer) this.finish(c, 0, false);
    } else {
      c.timer = graceMs > 0 ? this.queue.schedule(graceMs, () => this.finish(c, 137, false)) : null;
      if (!c.timer) this.finish(c, 137, false);
    }
    await c.exited;
  }

  protected async removeContainerImpl(c: SimContainer): Promise<void> {
    c.timer?.cancel();
    c.logs = null;
  }

  protected logsImpl(c: SimContainer, opts: LogOptions): Readable {
    return logStream(c.logs?.lines ?? [], opts, c.state === 'running' ? c.logs : null);
  }

  protected async execImpl(_c: SimContainer, _s: unknown, cmd: string[], opts: ExecOptions): Promise<ExecSession> {
    const text = cmd.join(' ');
    const out = echoLines(text);
    const exit = [...text.matchAll(/\bexit\s+(\d+)/g)].pop();
    const stdout = Readable.from(out.length > 0 ? [`${out.join('\n')}\n`] : []);
    const stderr = Readable.from([]);
    const stdin = opts.stdin ? new PassThrough() : null;
    stdin?.resume();
    // Nothing runs: the answer is ready at once, so there is nothing to kill.
    const kill = () => {};
    return { stdout, stderr, stdin, exit: Promise.resolve({ exitCode: exit ? Number(exit[1]) : 0 }), kill };
  }

  protected async killAllImpl(): Promise<void> {
    for (const c of this.containers.values()) {
      if (c.state === 'running' || (c.state === 'created' && c.exited)) this.finish(c, 137, false);
    }
  }
}
