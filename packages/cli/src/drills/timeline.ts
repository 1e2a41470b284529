/**
 * What happened during a drill, in order, with times relative to its start: the drill's own steps,
 * the faults it injected, what the observers saw the cluster do, and every check. The same entries
 * are narrated live (a listener prints each as it is added) and end up in the report.
 */
import type { Clock } from '@kemu/runtime';

export type EntryKind =
  /** A drill phase begins: setup, inject, check, heal, … */
  | 'phase'
  /** The drill did something to the cluster on purpose (a fault, or undoing one). */
  | 'fault'
  /** Something the observers saw the cluster do. */
  | 'observed'
  /** A workload action of the drill (create, scale, delete). */
  | 'action'
  /** A check passed. */
  | 'pass'
  /** A check failed. */
  | 'fail'
  /** Anything else worth reading. */
  | 'note';

export interface TimelineEntry {
  /** Milliseconds since the drill started (monotonic). */
  t: number;
  /** Wall-clock time, ISO 8601. */
  at: string;
  /** Who did or reported it: `drill`, `etcd`, `kube-scheduler`, `node/worker-1`, `pod/web-abc`, … */
  source: string;
  kind: EntryKind;
  message: string;
}

export type TimelineListener = (e: TimelineEntry) => void;

export class Timeline {
  readonly entries: TimelineEntry[] = [];
  private readonly started: number;
  readonly startedAt: number;
  private readonly listeners = new Set<TimelineListener>();

  constructor(private readonly clock: Clock) {
    this.started = clock.monotonic();
    this.startedAt = clock.now();
  }

  /** Milliseconds since the start. */
  elapsed(): number {
    return Math.round(this.clock.monotonic() - this.started);
  }

  add(kind: EntryKind, source: string, message: string): TimelineEntry {
    const e: TimelineEntry = { t: this.elapsed(), at: new Date(this.clock.now()).toISOString(), source, kind, message };
    this.entries.push(e);
    for (const l of this.listeners) l(e);
    return e;
  }

  onEntry(l: TimelineListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Entries of one kind and/or source whose message matches, for checks over what was observed. */
  find(filter: { kind?: EntryKind; source?: string | RegExp; message?: RegExp; after?: number }): TimelineEntry[] {
    return this.entries.filter(
      (e) =>
        (filter.kind === undefined || e.kind === filter.kind) &&
        (filter.source === undefined ||
          (typeof filter.source === 'string' ? e.source === filter.source : filter.source.test(e.source))) &&
        (filter.message === undefined || filter.message.test(e.message)) &&
        (filter.after === undefined || e.t >= filter.after),
    );
  }
}

/** `+12.345s` */
export function formatOffset(ms: number): string {
  return `+${(ms / 1000).toFixed(3)}s`;
}

const MARKS: Record<EntryKind, string> = {
  phase: '==',
  fault: '!!',
  observed: '  ',
  action: '->',
  pass: 'ok',
  fail: 'XX',
  note: ' ·',
};

/** One line for a terminal: `[  +1.234s] !! drill           killed etcd-1`. */
export function formatEntry(e: TimelineEntry): string {
  return `[${formatOffset(e.t).padStart(9)}] ${MARKS[e.kind]} ${e.source.padEnd(26)} ${e.message}`;
}
