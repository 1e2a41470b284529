/**
 * The drill runner. A drill is a scenario in phases: `setup` (its workload), then one or more
 * stages of `inject` (a fault) and `check` (what the cluster must do about it, as explicit
 * expectations with deadlines), then `heal` (undo every fault; always runs, also after a failure),
 * `recovery` (checks that the cluster is whole again) and `teardown` (remove the workload).
 * Observers narrate what the cluster does throughout; the run ends in PASS or FAIL and a report.
 *
 * A check that fails stops the stages (later ones would test a cluster in an unknown state) but not
 * heal, recovery or teardown: the cluster is always left healed.
 */
import { type Clock, KemuError } from '@kemu/runtime';
import type { CheckRecord, DrillReport } from './report.js';
import { Timeline } from './timeline.js';

/** A check whose deadline passed or whose assertion did not hold. */
export class DrillCheckFailedError extends KemuError {
  constructor(
    readonly check: string,
    message: string,
  ) {
    super('KEMU_DRILL_CHECK_FAILED', message);
  }
}

/** The cluster lacks what a drill needs (too few etcd members, no scheduler in this build, …). */
export class DrillUnavailableError extends KemuError {
  constructor(message: string) {
    super('KEMU_DRILL_UNAVAILABLE', message);
  }
}

export class UnknownDrillError extends KemuError {
  constructor(name: string, known: string[]) {
    super('KEMU_DRILL_UNKNOWN', `no drill named '${name}' (known: ${known.join(', ')})`);
  }
}

export interface DrillStage {
  title: string;
  inject(): Promise<void>;
  check(): Promise<void>;
}

/** One run of a drill; its phases share state through the closure `Drill.start` made. */
export interface DrillRun {
  setup(): Promise<void>;
  stages: DrillStage[];
  heal(): Promise<void>;
  recovery?(): Promise<void>;
  teardown?(): Promise<void>;
}

export interface Drill<C = unknown> {
  name: string;
  title: string;
  description: string;
  /** Throws DrillUnavailableError when the cluster cannot run this drill (said before anything changes). */
  preflight?(cluster: C): void;
  start(ctx: DrillContext<C>): DrillRun;
}

export interface ExpectOptions<T> {
  /** How long the condition may take to hold. */
  deadlineMs: number;
  /** Between attempts (default 100 ms). */
  intervalMs?: number;
  /** What to write in the report when it held (default: JSON of the value). */
  describe?: (v: T) => string;
}

/** What a drill works with: the cluster, the checks and the narration. */
export class DrillContext<C = unknown> {
  readonly checks: CheckRecord[] = [];
  stage = 'setup';

  constructor(
    readonly cluster: C,
    readonly timeline: Timeline,
    private readonly clock: Clock,
    private readonly sleeper: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** A note in the drill's voice. */
  say(message: string): void {
    this.timeline.add('note', 'drill', message);
  }

  /** A workload action (create, scale, delete). */
  action(message: string): void {
    this.timeline.add('action', 'drill', message);
  }

  /** A fault injected or undone on purpose. */
  fault(message: string): void {
    this.timeline.add('fault', 'drill', message);
  }

  sleep(ms: number): Promise<void> {
    return this.sleeper(ms);
  }

  /**
   * Polls `probe` until it returns a value other than undefined/false, at most `deadlineMs`. Records
   * the check either way; throws DrillCheckFailedError when the deadline passes. A probe that throws
   * counts as "not yet" (its last error is the failure's detail).
   */
  async expect<T>(
    name: string,
    opts: ExpectOptions<T>,
    probe: () => Promise<T | undefined | false> | T | undefined | false,
  ): Promise<T> {
    const started = this.clock.monotonic();
    let lastError = '';
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined && v !== false) {
          this.record(name, true, opts.deadlineMs, started, opts.describe ? opts.describe(v) : describeValue(v));
          return v;
        }
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (this.clock.monotonic() - started >= opts.deadlineMs) {
        const detail = `not within ${opts.deadlineMs} ms${lastError ? `; last error: ${lastError}` : ''}`;
        this.record(name, false, opts.deadlineMs, started, detail);
        throw new DrillCheckFailedError(name, `${name}: ${detail}`);
      }
      await this.sleeper(opts.intervalMs ?? 100);
    }
  }

  /** An immediate assertion: holds now or fails now. */
  verify(name: string, ok: boolean, detail: string): void {
    this.record(name, ok, 0, this.clock.monotonic(), detail);
    if (!ok) throw new DrillCheckFailedError(name, `${name}: ${detail}`);
  }

  private record(name: string, ok: boolean, deadlineMs: number, started: number, detail: string): void {
    const elapsedMs = Math.round(this.clock.monotonic() - started);
    const e = this.timeline.add(
      ok ? 'pass' : 'fail',
      'check',
      `${name} — ${detail}${deadlineMs ? ` (${elapsedMs} ms)` : ''}`,
    );
    this.checks.push({ name, stage: this.stage, ok, deadlineMs, elapsedMs, t: e.t, detail });
  }
}

function describeValue(v: unknown): string {
  if (v === true) return 'holds';
  if (typeof v === 'string') return v;
  try {
    const s = JSON.stringify(v);
    return s.length > 300 ? `${s.slice(0, 297)}...` : s;
  } catch {
    return String(v);
  }
}

export interface RunOptions<C> {
  cluster: C;
  clock: Clock;
  /** Narration: called for every timeline entry as it happens. */
  onEntry?: (line: import('./timeline.js').TimelineEntry) => void;
  /** Started before setup, stopped after teardown; they add `observed` entries. */
  startObservers?: (timeline: Timeline) => Promise<{ stop(): Promise<void> | void }>;
  describeCluster?: Record<string, string | number>;
  sleep?: (ms: number) => Promise<void>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one drill to the end and returns its report (never throws for a failing drill). */
export async function runDrill<C>(drill: Drill<C>, opts: RunOptions<C>): Promise<DrillReport> {
  const timeline = new Timeline(opts.clock);
  if (opts.onEntry) timeline.onEntry(opts.onEntry);
  const ctx = new DrillContext<C>(opts.cluster, timeline, opts.clock, opts.sleep);
  const errors: string[] = [];
  let failed = false;
  timeline.add('phase', 'drill', `${drill.name}: ${drill.title}`);
  let observers: { stop(): Promise<void> | void } | undefined;
  let run: DrillRun | undefined;
  try {
    drill.preflight?.(opts.cluster);
    if (opts.startObservers) observers = await opts.startObservers(timeline);
    run = drill.start(ctx);
  } catch (err) {
    failed = true;
    errors.push(message(err));
    timeline.add('fail', 'drill', `cannot start: ${message(err)}`);
  }
  if (run) {
    let setupDone = false;
    try {
      ctx.stage = 'setup';
      timeline.add('phase', 'drill', 'setup');
      await run.setup();
      setupDone = true;
      for (const [i, stage] of run.stages.entries()) {
        ctx.stage = stage.title;
        timeline.add('phase', 'drill', `stage ${i + 1}/${run.stages.length}: ${stage.title} — inject`);
        await stage.inject();
        timeline.add('phase', 'drill', `stage ${i + 1}/${run.stages.length}: ${stage.title} — check`);
        await stage.check();
      }
    } catch (err) {
      failed = true;
      if (!(err instanceof DrillCheckFailedError)) {
        errors.push(message(err));
        timeline.add('fail', 'drill', `${ctx.stage} stopped: ${message(err)}`);
      } else {
        timeline.add('note', 'drill', `${ctx.stage}: a check failed; skipping the remaining stages`);
      }
    }
    let healed = false;
    try {
      ctx.stage = 'heal';
      timeline.add('phase', 'drill', 'heal');
      await run.heal();
      healed = true;
    } catch (err) {
      failed = true;
      errors.push(`heal: ${message(err)}`);
      timeline.add('fail', 'drill', `heal failed: ${message(err)}`);
    }
    if (healed && setupDone && run.recovery) {
      try {
        ctx.stage = 'recovery';
        timeline.add('phase', 'drill', 'recovery');
        await run.recovery();
      } catch (err) {
        failed = true;
        if (!(err instanceof DrillCheckFailedError)) {
          errors.push(`recovery: ${message(err)}`);
          timeline.add('fail', 'drill', `recovery stopped: ${message(err)}`);
        }
      }
    }
    if (run.teardown) {
      try {
        ctx.stage = 'teardown';
        timeline.add('phase', 'drill', 'teardown');
        await run.teardown();
      } catch (err) {
        // The workload left behind is worth a note, not a failed drill.
        timeline.add('note', 'drill', `teardown incomplete: ${message(err)}`);
      }
    }
  }
  if (observers) {
    try {
      await observers.stop();
    } catch (err) {
      timeline.add('note', 'drill', `observers did not stop cleanly: ${message(err)}`);
    }
  }
  if (ctx.checks.some((c) => !c.ok)) failed = true;
  if (!failed && ctx.checks.length === 0) {
    failed = true;
    errors.push('the drill checked nothing');
  }
  const result = failed ? 'FAIL' : 'PASS';
  const passed = ctx.checks.filter((c) => c.ok).length;
  timeline.add(failed ? 'fail' : 'pass', 'drill', `${result}: ${passed}/${ctx.checks.length} checks passed`);
  return {
    drill: drill.name,
    title: drill.title,
    description: drill.description,
    result,
    startedAt: new Date(timeline.startedAt).toISOString(),
    durationMs: timeline.elapsed(),
    cluster: opts.describeCluster ?? {},
    checks: ctx.checks,
    timeline: timeline.entries,
    ...(errors.length > 0 ? { error: errors.join('\n') } : {}),
  };
}
