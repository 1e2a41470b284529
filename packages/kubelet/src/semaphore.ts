/**
 * A counting semaphore (FIFO). A process hosting a thousand sim nodes shares one among their pod
 * status writers, so a burst of status writes cannot fill the wire's in-flight window and starve the
 * Lease renewals queued behind it (upstream gets the same from client QPS limits and the apiserver's
 * priority levels).
 */
export class Semaphore {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly permits: number) {
    if (!Number.isInteger(permits) || permits <= 0)
      throw new RangeError(`permits must be a positive integer, got ${permits}`);
    this.available = permits;
  }

  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.available = Math.min(this.permits, this.available + 1);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  get waiting(): number {
    return this.waiters.length;
  }
}
