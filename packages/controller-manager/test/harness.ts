// Unit-test harness: runs controller descriptors against a FakeApi on a ManualRuntime with the same
// wiring the process gives them (one shared informer factory, per-controller event recorders).
import { TIMING_PROFILES, type TimingProfile } from '@kemu/api';
import { EventRecorder, FakeApi, SharedInformerFactory } from '@kemu/client';
import { createLogger, ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import type { ControllerContext, ControllerDescriptor, RunningController } from '../src/context.js';

export interface Harness {
  rt: ManualRuntime;
  api: FakeApi;
  ctx: ControllerContext;
  /** Starts the descriptors (then the informers), as the process does. */
  start(...descs: ControllerDescriptor[]): Promise<void>;
  /** Lets promise chains and zero-delay work run (no manual time passes). */
  settle(turns?: number): Promise<void>;
  /** Advances manual time in steps, settling between steps. */
  advance(ms: number, stepMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** `reuse`: another harness's runtime and store (a restarted controller-manager against the same cluster). */
export function harness(opts: { profile?: TimingProfile; startMs?: number; reuse?: Harness } = {}): Harness {
  const rt = opts.reuse?.rt ?? new ManualRuntime(opts.startMs ?? Date.UTC(2026, 10, 22, 8, 0, 0));
  const api = opts.reuse?.api ?? new FakeApi({ clock: rt });
  const random = new SeededRandom(7);
  // KEMU_TEST_LOG=1 shows the controllers' logs (reconcile failures) while debugging a test.
  const log = process.env.KEMU_TEST_LOG ? createLogger({ component: 'test' }) : silentLogger();
  const informers = new SharedInformerFactory({ api, runtime: rt, random, log });
  const ctx: ControllerContext = {
    api,
    informers,
    runtime: rt,
    random,
    log,
    recorder: (component) => new EventRecorder({ events: api.resource('events'), component, runtime: rt, log }),
    profile: opts.profile ?? TIMING_PROFILES.fast,
  };
  const running: RunningController[] = [];
  const settle = (turns = 20) => flush(turns);
  return {
    rt,
    api,
    ctx,
    async start(...descs) {
      for (const d of descs) running.push(d.start(ctx));
      informers.start();
      await settle(40);
    },
    settle,
    async advance(ms, stepMs = 100) {
      let left = ms;
      await settle();
      while (left > 0) {
        const step = Math.min(stepMs, left);
        rt.advance(step);
        left -= step;
        await settle();
      }
    },
    async stop() {
      // Stopping waits for in-flight reconciles; should one wait on a timer, nudge time a little.
      let stopped = false;
      const stopping = Promise.all(running.map((r) => r.stop())).then(() => {
        stopped = true;
      });
      for (let i = 0; i < 100 && !stopped; i++) {
        await settle(5);
        if (!stopped) rt.advance(10);
      }
      await stopping;
      await informers.stop();
    },
  };
}

/** Polls `cond` while settling promises (no manual time passes); fails after `turns` rounds. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await cond()) return;
    await flush(5);
  }
  throw new Error(`condition not reached: ${what}`);
}
