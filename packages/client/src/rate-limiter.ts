// Rate limiters for the workqueue (client-go util/workqueue): per-item exponential backoff and an
// overall token bucket, combined by taking the larger delay.
import type { Clock } from '@kemu/runtime';
import { ClientConfigError } from './errors.js';

export interface RateLimiter<T> {
  /** How long to wait before handing `item` out again; counts one more failure for it. */
  when(item: T): number;
  /** The item succeeded: reset its failure count. */
  forget(item: T): void;
  numRequeues(item: T): number;
}

/** base·2^failures, capped (client-go's default: 5 ms → 1000 s). */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();

  constructor(
    readonly baseDelayMs = 5,
    readonly maxDelayMs = 1_000_000,
  ) {
    if (!(baseDelayMs > 0 && maxDelayMs >= baseDelayMs)) {
      throw new ClientConfigError('exponential rate limiter needs 0 < baseDelayMs <= maxDelayMs');
    }
  }

  when(item: T): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity long after the cap; min() keeps it finite.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * An overall token bucket (golang.org/x/time/rate reservations): `burst` tokens, refilled at `qps`.
 * Each `when()` reserves one token; when none is left the delay is how long until it will be.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    readonly qps = 10,
    readonly burst = 100,
  ) {
    if (!(qps > 0 && burst >= 1)) throw new ClientConfigError('bucket rate limiter needs qps > 0 and burst >= 1');
    this.tokens = burst;
    this.last = clock.monotonic();
  }

  when(_item: T): number {
    const now = this.clock.monotonic();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** The largest delay of several limiters (every limiter sees every call). */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  private readonly limiters: RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    if (limiters.length === 0) throw new ClientConfigError('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

export interface ControllerRateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
}

/** client-go's DefaultControllerRateLimiter: max(5 ms·2^n capped at 1000 s, 10 qps / 100 burst). */
export function defaultControllerRateLimiter<T>(clock: Clock, opts: ControllerRateLimiterOptions = {}): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>(opts.baseDelayMs ?? 5, opts.maxDelayMs ?? 1_000_000),
    new BucketRateLimiter<T>(clock, opts.qps ?? 10, opts.burst ?? 100),
  );
}
