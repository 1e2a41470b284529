import type { Runtime, TimerHandle } from '@kemu/runtime';

interface Waiter<T> {
  resolve(v: T): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

/**
 * Proposals waiting to be applied, by proposal id. A client is answered only from `trigger`, which
 * the apply step calls after the entry changed the store: an acknowledged write is always applied.
 */
export class ProposalWaiters<T> {
  private readonly waiting = new Map<string, Waiter<T>>();

  constructor(private readonly runtime: Runtime) {}

  wait(id: string, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.runtime.setTimeout(() => {
        if (this.waiting.delete(id)) reject(onTimeout());
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
    });
  }

  has(id: string): boolean {
    return this.waiting.has(id);
  }

  trigger(id: string, result: T | Error): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    w.timer.cancel();
    if (result instanceof Error) w.reject(result);
    else w.resolve(result);
  }

  fail(id: string, err: Error): void {
    this.trigger(id, err);
  }

  failAll(err: Error): void {
    for (const id of [...this.waiting.keys()]) this.trigger(id, err);
  }

  get size(): number {
    return this.waiting.size;
  }
}

/** Resolves callers once the applied index reaches the index they wait for. */
export class AppliedWaiters {
  private readonly waiting: { index: number; resolve: () => void }[] = [];

  wait(index: number, applied: number): Promise<void> {
    if (applied >= index) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push({ index, resolve });
    });
  }

  trigger(applied: number): void {
    if (this.waiting.length === 0) return;
    let kept = 0;
    for (const w of this.waiting) {
      if (w.index <= applied) w.resolve();
      else this.waiting[kept++] = w;
    }
    this.waiting.length = kept;
  }
}
