// Test support only: nothing in a component imports this package.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the usual small race is accepted in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `fn` until it returns something other than undefined/false; throws after the deadline with
 * what it was waiting for and the last error seen. Tests wait on conditions, never on fixed sleeps.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    // A ref'd timer bounds each attempt: components' own timers are unref'd and must not be the only
    // thing keeping the test process alive while an attempt hangs.
    let guard: NodeJS.Timeout | undefined;
    const bound = new Promise<undefined>((resolve) => {
      guard = setTimeout(() => resolve(undefined), Math.max(100, deadline - Date.now()));
    });
    try {
      const v = await Promise.race([fn(), bound]);
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    } finally {
      clearTimeout(guard);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A Node program run as a real child process in its own process group, its output appended to a log
 * file. Signals go to the whole group, so killing it leaves no grandchildren behind.
 */
export class ChildProc {
  proc: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    /** What follows `node` on the command line: the script, then its arguments. */
    private readonly nodeArgs: readonly string[],
    protected readonly logFile: string,
    /** Merged over the parent's environment; `KEMU_LOG_LEVEL` defaults to `info`. */
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  start(): void {
    const out = fs.openSync(this.logFile, 'a');
    const proc = spawn(process.execPath, [...this.nodeArgs], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, KEMU_LOG_LEVEL: 'info', ...this.env },
    });
    fs.closeSync(out);
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Signals the process's whole group; a no-op once it has exited. */
  signal(sig: NodeJS.Signals): void {
    const pid = this.proc?.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  }

  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  async stopGracefully(): Promise<void> {
    this.signal('SIGTERM');
    await this.exited;
  }

  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  logs(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}
export * from './cluster.js';
