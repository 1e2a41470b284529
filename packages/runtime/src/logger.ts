import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** The component this process plays, e.g. `etcd`, `kube-apiserver`, `kubelet`. */
  component: string;
  /** The node or member name, e.g. `etcd-0`, `worker-1`. */
  node?: string;
  level?: LevelWithSilent;
  /** Force human-readable output; defaults to whether stdout is a TTY. */
  pretty?: boolean;
  /** Where JSON lines go (default stdout); tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
}

/**
 * One JSON line per event with `component`, `node` and `pid`, so logs from many processes can be
 * merged and filtered. Human-readable when a person is watching a terminal.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? ((process.env.KEMU_LOG_LEVEL as LevelWithSilent | undefined) || 'info');
  const base = { component: opts.component, node: opts.node ?? null, pid: process.pid };
  const pretty = opts.pretty ?? (opts.destination === undefined && process.stdout.isTTY === true);
  if (pretty) {
    return pino({
      level,
      base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' },
      },
    });
  }
  if (opts.destination) return pino({ level, base }, opts.destination);
  return pino({ level, base });
}

/** A logger that drops everything, for unit tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
