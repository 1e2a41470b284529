import type { Readable, Writable } from 'node:stream';
import type { TerminalSize } from './channel.js';

/** What the client asked for (the exec/attach query parameters, plus the pod from the URL). */
export interface ExecStartOptions {
  namespace: string;
  pod: string;
  container: string;
  /** Empty for attach. */
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** How a process ended: an exit code (signals map to 128+n, as shells do) or a start/run error. */
export type ExecExit = { kind: 'exited'; code: number } | { kind: 'error'; message: string };

/**
 * One running exec/attach session. Streams are null when not requested. The bridge ends `stdin` when
 * the client half-closes it, pipes `stdout`/`stderr` to their channels until they end, and sends the
 * final status once `exit` settles and both output streams have ended.
 */
export interface ExecSession {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exit: Promise<ExecExit>;
  resize(size: TerminalSize): void;
  /** The client went away: stop the process (exec) or detach (attach). */
  kill(): void;
}

export interface ExecBackend {
  /** May throw `ExecStartError` (sent to the client as a Failure status). */
  start(options: ExecStartOptions): ExecSession | Promise<ExecSession>;
}
