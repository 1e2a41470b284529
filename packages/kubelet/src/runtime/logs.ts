import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Clock } from '@kemu/runtime';
import type { LogOptions } from './types.js';

export type LogStream = 'stdout' | 'stderr';

/** Longest stored line (characters); longer output is cut into several lines. */
export const MAX_LINE = 16 * 1024;

/** RFC3339Nano with nine fraction digits (`2026-11-22T06:19:08.123000000Z`), like CRI log files. */
export function rfc3339Nano(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000000Z`;
}

/** One log line as stored: `<RFC3339Nano> <stream> F <text>` (the CRI logging format). */
export interface LogLine {
  ts: string;
  ms: number;
  stream: LogStream;
  text: string;
}

export function formatLogLine(l: LogLine): string {
  return `${l.ts} ${l.stream} F ${l.text}\n`;
}

export function parseLogLine(line: string): LogLine | null {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  const ts = line.slice(0, a);
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return null;
  return { ts, ms: Date.parse(`${ts.slice(0, 23)}Z`), stream, text: line.slice(c + 1) };
}

/**
 * The log file of one container instance (like /var/log/pods/<ns>_<pod>_<uid>/<name>/<attempt>.log).
 * Splits each stream into lines, stamps them with the injected clock, appends them to the file and
 * tells live followers. Each restart gets a new file, so the previous instance's logs stay readable.
 */
export class ContainerLogFile implements LiveLog {
  readonly path: string;
  private readonly clock: Clock;
  private fd: number | null;
  private readonly partial: Record<LogStream, string> = { stdout: '', stderr: '' };
  private readonly events = new EventEmitter();
  private closed = false;

  constructor(file: string, clock: Clock) {
    this.path = file;
    this.clock = clock;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'w');
    this.events.setMaxListeners(0);
  }

  /** Feeds raw output; complete lines are written, the tail waits for its newline. */
  write(stream: LogStream, chunk: string): void {
    const text = this.partial[stream] + chunk;
    const lines = text.split('\n');
    let rest = lines.pop() ?? '';
    for (const l of lines) this.append(stream, l.replace(/\r$/, ''));
    // Output without newlines must not grow without bound: cut it like CRI's 16 KiB line limit.
    while (rest.length > MAX_LINE) {
      this.append(stream, rest.slice(0, MAX_LINE));
      rest = rest.slice(MAX_LINE);
    }
    this.partial[stream] = rest;
  }

  /** Writes a whole line at once (the sim runtime's synthetic output). */
  writeLine(stream: LogStream, text: string): void {
    this.append(stream, text);
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Flushes unterminated output and ends every follower. */
  close(): void {
    if (this.closed) return;
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s]) this.append(s, this.partial[s]);
      this.partial[s] = '';
    }
    this.closed = true;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.events.emit('close');
  }

  onLine(fn: (l: LogLine) => void, onClose: () => void): () => void {
    this.events.on('line', fn);
    this.events.on('close', onClose);
    return () => {
      this.events.off('line', fn);
      this.events.off('close', onClose);
    };
  }

  private append(stream: LogStream, text: string): void {
    if (this.closed || this.fd === null) return;
    const ms = this.clock.now();
    const line: LogLine = { ts: rfc3339Nano(ms), ms, stream, text };
    fs.writeSync(this.fd, formatLogLine(line));
    this.events.emit('line', line);
  }
}

function render(l: LogLine, timestamps: boolean): string {
  return timestamps ? `${l.ts} ${l.text}\n` : `${l.text}\n`;
}

/** Something that tells followers about new lines until it closes. */
export interface LiveLog {
  isClosed(): boolean;
  onLine(fn: (l: LogLine) => void, onClose: () => void): () => void;
}

/** Parses a log file; a missing file is an empty log. */
export function readLogFile(file: string): LogLine[] {
  let content = '';
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch {
    // removed or never written
  }
  return content
    .split('\n')
    .filter((l) => l.length > 0)
    .map(parseLogLine)
    .filter((l): l is LogLine => l !== null);
}

/**
 * Renders stored lines as `kubectl logs` shows them. With `follow` and a live log, new lines are
 * streamed until it closes (the container exited) or the reader is destroyed. `lines` must be read
 * synchronously before calling, so nothing is missed or repeated between them and the live feed.
 */
export function logStream(lines: LogLine[], opts: LogOptions, live: LiveLog | null): Readable {
  const out = new PassThrough();
  const timestamps = opts.timestamps === true;
  let budget = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Number.POSITIVE_INFINITY;
  let unsubscribe: (() => void) | null = null;
  const keep = (l: LogLine): boolean =>
    (opts.sinceTime === undefined || l.ms >= opts.sinceTime) && (opts.stream === undefined || l.stream === opts.stream);
  /** Returns false once the byte budget is spent and the stream ended. */
  const emit = (l: LogLine): boolean => {
    if (!keep(l)) return true;
    let s = render(l, timestamps);
    const bytes = Buffer.byteLength(s);
    if (bytes >= budget) {
      s = Buffer.from(s).subarray(0, budget).toString('utf8');
      out.end(s);
      budget = 0;
      unsubscribe?.();
      return false;
    }
    budget -= bytes;
    out.write(s);
    return true;
  };

  let backlog = lines.filter(keep);
  if (opts.tailLines !== undefined && opts.tailLines >= 0) {
    backlog = backlog.slice(Math.max(0, backlog.length - opts.tailLines));
  }
  let open = true;
  for (const l of backlog) if (open) open = emit(l);
  if (!open) return out;
  if (opts.follow === true && live !== null && !live.isClosed()) {
    unsubscribe = live.onLine(
      (l) => {
        emit(l);
      },
      () => {
        unsubscribe?.();
        if (budget > 0) out.end();
      },
    );
    out.on('close', () => unsubscribe?.());
  } else {
    out.end();
  }
  return out;
}

/** In-memory log for the sim runtime: no file descriptors, so thousands of containers stay cheap. */
export class MemoryLog implements LiveLog {
  readonly lines: LogLine[] = [];
  private readonly clock: Clock;
  private closed = false;
  private events: EventEmitter | null = null;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  writeLine(stream: LogStream, text: string): void {
    if (this.closed) return;
    const ms = this.clock.now();
    const line: LogLine = { ts: rfc3339Nano(ms), ms, stream, text };
    this.lines.push(line);
    this.events?.emit('line', line);
  }

  isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.events?.emit('close');
  }

  onLine(fn: (l: LogLine) => void, onClose: () => void): () => void {
    this.events ??= new EventEmitter();
    this.events.on('line', fn);
    this.events.on('close', onClose);
    return () => {
      this.events?.off('line', fn);
      this.events?.off('close', onClose);
    };
  }
}
