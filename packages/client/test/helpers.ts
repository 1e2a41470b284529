import type { ManualRuntime } from '@kemu/runtime';

/** Lets every pending promise chain run (a few macrotask turns; no time passes on a ManualRuntime). */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Advances manual time in steps, flushing promises between steps so timer-driven async code keeps up. */
export async function advance(rt: ManualRuntime, ms: number, stepMs = Math.max(1, Math.floor(ms / 20))): Promise<void> {
  let left = ms;
  await flush();
  while (left > 0) {
    const step = Math.min(stepMs, left);
    rt.advance(step);
    left -= step;
    await flush();
  }
}

/** Waits (real time, with a deadline) for a condition; for code that does not depend on manual time. */
export async function waitFor(cond: () => boolean, opts: { timeoutMs?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
