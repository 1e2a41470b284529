// Adapts the container runtime to the streaming layer's ExecBackend: exec runs a command through
// `runtime.exec()`, attach joins the container's output (its log stream from now on).
import { PassThrough, type Readable, Writable } from 'node:stream';
import type { ContainerRuntime } from '../runtime/types.js';
import type { TerminalSize } from './streaming/channel.js';
import { ExecStartError } from './streaming/errors.js';
import type { ExecBackend, ExecExit, ExecSession, ExecStartOptions } from './streaming/exec-backend.js';

/** Finds the runtime id of the running container the request names; throws ExecStartError if none. */
export type ContainerResolver = (options: ExecStartOptions) => string;

/** Interleaves two streams into one, as a terminal shows stdout and stderr. */
function merge(a: Readable, b: Readable): Readable {
  const out = new PassThrough();
  let open = 2;
  for (const s of [a, b]) {
    s.on('data', (d: Buffer) => out.write(d));
    const done = () => {
      open -= 1;
      if (open === 0) out.end();
    };
    s.once('end', done);
    s.once('error', done);
  }
  return out;
}

/** A stream nobody reads: drained so the producer never blocks on it. */
function drain(s: Readable): null {
  s.resume();
  return null;
}

export class RuntimeExecBackend implements ExecBackend {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly resolve: ContainerResolver,
  ) {}

  async start(options: ExecStartOptions): Promise<ExecSession> {
    const id = this.resolve(options);
    let s: Awaited<ReturnType<ContainerRuntime['exec']>>;
    try {
      s = await this.runtime.exec(id, options.command, { stdin: options.stdin, tty: options.tty });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ExecStartError('EXEC_START_FAILED', `error executing command in container: ${reason}`, {
        cause: err,
      });
    }
    // No pseudo-terminal: with tty the two pipes are shown as one output, like a terminal would.
    const stdout = options.tty ? merge(s.stdout, s.stderr) : options.stdout ? s.stdout : drain(s.stdout);
    const stderr = options.tty ? null : options.stderr ? s.stderr : drain(s.stderr);
    const exit: Promise<ExecExit> = s.exit.then(
      ({ exitCode }) => ({ kind: 'exited', code: exitCode }),
      (err: unknown) => ({ kind: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
    return {
      stdin: s.stdin,
      stdout,
      stderr,
      exit,
      resize(_size: TerminalSize) {
        // Processes have pipes, not a terminal: there is nothing to resize.
      },
      kill: () => s.kill(),
    };
  }
}

/**
 * Attach: the container's main process writes to its log, so attaching means following its output
 * from now on until it exits. Its stdin is not connected (processes are started without one): input
 * is accepted and dropped, as for a container without `stdin: true`.
 */
export class RuntimeAttachBackend implements ExecBackend {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly resolve: ContainerResolver,
  ) {}

  async start(options: ExecStartOptions): Promise<ExecSession> {
    const id = this.resolve(options);
    const follow = (stream?: 'stdout' | 'stderr') =>
      this.runtime.containerLogs(id, { follow: true, tailLines: 0, ...(stream ? { stream } : {}) });
    let stdout: Readable | null = null;
    let stderr: Readable | null = null;
    if (options.tty) stdout = await follow();
    else {
      if (options.stdout) stdout = await follow('stdout');
      if (options.stderr) stderr = await follow('stderr');
    }
    const ended = (s: Readable | null) =>
      s === null
        ? Promise.resolve()
        : new Promise<void>((r) => {
            s.once('end', r);
            s.once('close', r);
          });
    const exit: Promise<ExecExit> = Promise.all([ended(stdout), ended(stderr)]).then(async () => {
      try {
        const st = await this.runtime.containerStatus(id);
        return { kind: 'exited', code: st.exitCode ?? 0 };
      } catch (err) {
        return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
      }
    });
    const sink = options.stdin
      ? new Writable({
          write(_chunk, _enc, cb) {
            cb();
          },
        })
      : null;
    return {
      stdin: sink,
      stdout,
      stderr,
      exit,
      resize() {},
      kill() {
        // Detach: stop following; the container keeps running.
        stdout?.destroy();
        stderr?.destroy();
      },
    };
  }
}
