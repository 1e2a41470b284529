// A rate-limited, de-duplicating work queue (client-go util/workqueue). The rules that make
// level-triggered controllers correct:
//  - an item waiting in the queue is there once, however often it is added (dirty set);
//  - an item being processed is never handed out again until done(); adding it meanwhile marks it
//    dirty, and done() puts it back, so the latest state is always processed once more.
import type { Runtime, TimerHandle } from '@kemu/runtime';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

/** Hooks for metrics (see `prometheusQueueMetrics`); all optional. */
export interface QueueMetricsHooks {
  onAdd?(name: string): void;
  onDepth?(name: string, depth: number): void;
  onRetry?(name: string): void;
  /** Time from add to get. */
  onQueueLatency?(name: string, ms: number): void;
  /** Time from get to done. */
  onWorkDuration?(name: string, ms: number): void;
}

export interface WorkqueueOptions<T> {
  runtime: Runtime;
  name?: string;
  rateLimiter?: RateLimiter<T>;
  metrics?: QueueMetricsHooks;
}

export class RateLimitingQueue<T = string> {
  readonly name: string;
  private readonly runtime: Runtime;
  private readonly limiter: RateLimiter<T>;
  private readonly metrics: QueueMetricsHooks;
  private readonly queue: T[] = [];
  private head = 0;
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  private readonly addedAt = new Map<T, number>();
  private readonly startedAt = new Map<T, number>();
  private readonly waiting = new Map<T, { at: number; timer: TimerHandle }>();
  private readonly getters: ((item: T | undefined) => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private shutdown = false;

  constructor(opts: WorkqueueOptions<T>) {
    this.runtime = opts.runtime;
    this.name = opts.name ?? 'queue';
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter<T>(opts.runtime);
    this.metrics = opts.metrics ?? {};
  }

  /** Items waiting to be handed out (not counting delayed or in-process ones). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Items scheduled by addAfter/addRateLimited that have not come due yet. */
  delayed(): number {
    return this.waiting.size;
  }

  get shuttingDown(): boolean {
    return this.shutdown;
  }

  add(item: T): void {
    if (this.shutdown || this.dirty.has(item)) return;
    this.metrics.onAdd?.(this.name);
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    this.addedAt.set(item, this.runtime.monotonic());
    this.queue.push(item);
    this.handOut();
    this.metrics.onDepth?.(this.name, this.len());
  }

  /**
   * The next item, waiting until there is one. Resolves `undefined` once the queue is shut down and
   * empty. The caller must call `done(item)` when finished with it.
   */
  get(): Promise<T | undefined> {
    const item = this.take();
    if (item !== undefined || this.shutdown) return Promise.resolve(item);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Processing of `item` finished; if it was added meanwhile it goes back into the queue. */
  done(item: T): void {
    if (!this.processing.delete(item)) return;
    const started = this.startedAt.get(item);
    this.startedAt.delete(item);
    if (started !== undefined) this.metrics.onWorkDuration?.(this.name, this.runtime.monotonic() - started);
    if (this.dirty.has(item)) {
      this.addedAt.set(item, this.runtime.monotonic());
      this.queue.push(item);
      this.handOut();
      this.metrics.onDepth?.(this.name, this.len());
    }
    if (this.processing.size === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Adds `item` after `delayMs`; if it is already waiting, the earlier time wins. */
  addAfter(item: T, delayMs: number): void {
    if (this.shutdown) return;
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const at = this.runtime.monotonic() + delayMs;
    const existing = this.waiting.get(item);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.runtime.setTimeout(() => {
      this.waiting.delete(item);
      this.add(item);
    }, delayMs);
    this.waiting.set(item, { at, timer });
  }

  /** Adds `item` when the rate limiter allows (per-item backoff, overall bucket). */
  addRateLimited(item: T): void {
    this.metrics.onRetry?.(this.name);
    this.addAfter(item, this.limiter.when(item));
  }

  /** The item succeeded: reset its backoff. (It does not remove the item from the queue.) */
  forget(item: T): void {
    this.limiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.limiter.numRequeues(item);
  }

  /** Refuses new items, drops delayed ones, and wakes idle getters with `undefined`. Queued items are still handed out. */
  shutDown(): void {
    if (this.shutdown) return;
    this.shutdown = true;
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    const getters = this.getters.splice(0);
    for (const g of getters) g(undefined);
  }

  /** shutDown(), then resolves once nothing is being processed. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private take(): T | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head] as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.processing.add(item);
    this.dirty.delete(item);
    const now = this.runtime.monotonic();
    const added = this.addedAt.get(item);
    this.addedAt.delete(item);
    if (added !== undefined) this.metrics.onQueueLatency?.(this.name, now - added);
    this.startedAt.set(item, now);
    this.metrics.onDepth?.(this.name, this.len());
    return item;
  }

  private handOut(): void {
    while (this.getters.length > 0 && this.len() > 0) {
      const getter = this.getters.shift();
      getter?.(this.take());
    }
  }
}
