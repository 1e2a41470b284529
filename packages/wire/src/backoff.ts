import type { Random } from '@kemu/runtime';

export interface BackoffOptions {
  /** First retry delay (default 100 ms). */
  initialDelayMs?: number;
  /** Cap on the delay (default 5000 ms). */
  maxDelayMs?: number;
  /** Growth per failed attempt (default 2). */
  multiplier?: number;
}

/**
 * Exponential backoff with "equal jitter": the delay for attempt n is uniformly drawn from
 * [d/2, d) where d = min(max, initial * multiplier^n), so clients that lost the same server
 * spread their retries instead of arriving together.
 */
export class Backoff {
  private attempt = 0;
  private readonly initial: number;
  private readonly max: number;
  private readonly multiplier: number;

  constructor(
    private readonly random: Random,
    opts: BackoffOptions = {},
  ) {
    this.initial = opts.initialDelayMs ?? 100;
    this.max = opts.maxDelayMs ?? 5000;
    this.multiplier = opts.multiplier ?? 2;
    if (!(this.initial > 0 && this.max >= this.initial && this.multiplier >= 1)) {
      throw new RangeError('backoff needs 0 < initialDelayMs <= maxDelayMs and multiplier >= 1');
    }
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const d = Math.min(this.max, this.initial * this.multiplier ** this.attempt);
    this.attempt++;
    return d / 2 + this.random.next() * (d / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
