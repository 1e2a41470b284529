import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { PassThrough } from 'node:stream';
import type { TerminalSize } from './channel.js';
import { ExecStartError } from './errors.js';
import type { ExecBackend, ExecExit, ExecSession, ExecStartOptions } from './exec-backend.js';

export interface ChildProcessExecBackendOptions {
  /** Working directory for the command (the kubelet points it at the container's root). */
  cwd?: string | ((options: ExecStartOptions) => string);
  /** Environment for the command (default: this process's environment). */
  env?: NodeJS.ProcessEnv | ((options: ExecStartOptions) => NodeJS.ProcessEnv);
  /** Signal sent when the client disconnects. Default SIGKILL. */
  killSignal?: NodeJS.Signals;
}

/** A child-process session; `lastResize` is the last terminal size the client reported. */
export interface ChildProcessExecSession extends ExecSession {
  lastResize: TerminalSize | undefined;
}

/**
 * Runs `command[0]` with `command.slice(1)` as a real local child process (no shell). There is no
 * pseudo-terminal: with `tty` the process still gets pipes, stderr is merged into stdout as a
 * terminal would show it, and resize events are recorded (`lastResize`) but not delivered.
 */
export class ChildProcessExecBackend implements ExecBackend {
  constructor(private readonly config: ChildProcessExecBackendOptions = {}) {}

  start(options: ExecStartOptions): ChildProcessExecSession {
    const [file, ...args] = options.command;
    if (file === undefined || file === '') {
      throw new ExecStartError('EXEC_START_FAILED', 'no command given');
    }
    const cwd = typeof this.config.cwd === 'function' ? this.config.cwd(options) : this.config.cwd;
    const env = typeof this.config.env === 'function' ? this.config.env(options) : (this.config.env ?? process.env);
    const child = spawn(file, args, {
      cwd,
      env,
      stdio: [options.stdin ? 'pipe' : 'ignore', options.stdout || options.tty ? 'pipe' : 'ignore', 'pipe'],
    });

    let stdout = child.stdout;
    let stderr: NodeJS.ReadableStream | null = options.stderr ? child.stderr : null;
    if (options.tty && child.stdout !== null && child.stderr !== null) {
      // A terminal has one output stream: interleave both pipes into it.
      const merged = new PassThrough();
      let open = 2;
      for (const s of [child.stdout, child.stderr]) {
        s.on('data', (d: Buffer) => merged.write(d));
        s.on('end', () => {
          open -= 1;
          if (open === 0) merged.end();
        });
      }
      stdout = merged as unknown as typeof child.stdout;
      stderr = null;
    } else if (!options.stderr) {
      child.stderr?.resume();
    }

    let startError: string | undefined;
    const exit = new Promise<ExecExit>((resolve) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        startError =
          err.code === 'ENOENT'
            ? `exec: "${file}": executable file not found in $PATH`
            : `failed to start ${file}: ${err.message}`;
        resolve({ kind: 'error', message: startError });
      });
      child.once('close', (code, signal) => {
        if (startError !== undefined) return;
        if (code !== null) resolve({ kind: 'exited', code });
        else resolve({ kind: 'exited', code: 128 + (signal === null ? 0 : (osConstants.signals[signal] ?? 0)) });
      });
    });

    const killSignal = this.config.killSignal ?? 'SIGKILL';
    const session: ChildProcessExecSession = {
      stdin: child.stdin,
      stdout: stdout,
      stderr: stderr as typeof child.stderr | null,
      exit,
      lastResize: undefined,
      resize(size: TerminalSize) {
        session.lastResize = size;
      },
      kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill(killSignal);
      },
    };
    return session;
  }
}
