// Logs of an external static pod (a process the kemu supervisor runs) come from its log file
// (annotation `kemu.dev/log-file`) instead of a runtime container: the same options as container
// logs, `follow` by polling the file's size. Lines are printed as written (pino JSON); their `time`
// field, when present, serves `sinceTime` and `timestamps`.
import fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import type { Timers } from '@kemu/runtime';
import { rfc3339Nano } from '../runtime/logs.js';
import type { LogOptions } from '../runtime/types.js';

/** The annotation naming an external pod's log file. */
export const LOG_FILE_ANNOTATION = 'kemu.dev/log-file';

/** At most this much of the file's end is read for the backlog. */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
const FOLLOW_POLL_MS = 250;

function lineTime(line: string, fallback: number): number {
  const m = /"time":(\d{10,})/.exec(line);
  return m ? Number(m[1]) : fallback;
}

/** Reads `file` as `kubectl logs` would show it; a missing file is an empty log. */
export function fileLogStream(file: string, opts: LogOptions, timers: Timers): Readable {
  const out = new PassThrough();
  let budget = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Number.POSITIVE_INFINITY;
  let offset = 0;
  let partial = '';
  let mtime = 0;
  try {
    const st = fs.statSync(file);
    mtime = st.mtimeMs;
    offset = Math.max(0, st.size - MAX_BACKLOG_BYTES);
  } catch {
    // no file yet
  }
  const emit = (line: string): boolean => {
    const at = lineTime(line, mtime);
    if (opts.sinceTime !== undefined && at < opts.sinceTime) return true;
    let s = opts.timestamps === true ? `${rfc3339Nano(at)} ${line}\n` : `${line}\n`;
    const bytes = Buffer.byteLength(s);
    if (bytes >= budget) {
      s = Buffer.from(s).subarray(0, budget).toString('utf8');
      budget = 0;
      out.end(s);
      return false;
    }
    budget -= bytes;
    out.write(s);
    return true;
  };
  /** Reads what was appended since `offset`; the complete lines of it. */
  const readNew = (): string[] => {
    let size: number;
    try {
      const st = fs.statSync(file);
      size = st.size;
      mtime = st.mtimeMs;
    } catch {
      return [];
    }
    if (size < offset) {
      // Truncated or replaced: start over.
      offset = 0;
      partial = '';
    }
    if (size === offset) return [];
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const text = partial + buf.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      return lines;
    } finally {
      fs.closeSync(fd);
    }
  };

  const windowed = offset > 0;
  let backlog = readNew();
  if (windowed) backlog = backlog.slice(1); // the first line was cut by the window
  if (opts.sinceTime !== undefined) {
    const since = opts.sinceTime;
    backlog = backlog.filter((l) => lineTime(l, mtime) >= since);
  }
  if (opts.tailLines !== undefined && opts.tailLines >= 0)
    backlog = backlog.slice(Math.max(0, backlog.length - opts.tailLines));
  for (const l of backlog) if (!emit(l)) return out;
  if (opts.follow !== true) {
    out.end();
    return out;
  }
  const timer = timers.setInterval(() => {
    for (const l of readNew()) {
      if (!emit(l)) {
        timer.cancel();
        return;
      }
    }
  }, FOLLOW_POLL_MS);
  out.once('close', () => timer.cancel());
  return out;
}
