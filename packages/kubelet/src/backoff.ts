// Per-key exponential back-off with upstream's semantics (client-go util/flowcontrol.Backoff), for
// CrashLoopBackOff and ImagePullBackOff: the first failure restarts at once; after that a key is in
// back-off until `delay` has passed since the failure, and each restart doubles the delay up to
// `max`. An entry untouched for 2×max is forgotten (so a container that ran for a long time starts
// again from the initial delay).
import type { Clock } from '@kemu/runtime';

interface Entry {
  delayMs: number;
  lastUpdateMs: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    readonly initialMs: number,
    readonly maxMs: number,
  ) {}

  private expired(e: Entry, at: number): boolean {
    return at - e.lastUpdateMs > 2 * this.maxMs;
  }

  /** The current delay of `key` (0 when none). */
  get(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Whether `key` must still wait, counting from `sinceMs` (the failure), and for how long. */
  remaining(key: string, sinceMs: number): number {
    const e = this.entries.get(key);
    if (!e || this.expired(e, sinceMs)) return 0;
    return Math.max(0, sinceMs + e.delayMs - this.clock.now());
  }

  /** Records a (re)start at `atMs`: the next wait is doubled (or the initial one). */
  next(key: string, atMs: number): void {
    const e = this.entries.get(key);
    if (!e || this.expired(e, atMs)) {
      this.entries.set(key, { delayMs: this.initialMs, lastUpdateMs: atMs });
      return;
    }
    e.delayMs = Math.min(e.delayMs * 2, this.maxMs);
    e.lastUpdateMs = atMs;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key with the prefix (a pod that is gone). */
  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Drops entries nobody touched for 2×max (bounded memory). */
  gc(): void {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k);
  }
}

/** Go's time.Duration formatting for the durations kubelet messages show (`10s`, `1m20s`, `12ms`). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS - h * 3600 - m * 60;
  const sText = `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sText}`;
  if (m > 0) return `${m}m${sText}`;
  return sText;
}
