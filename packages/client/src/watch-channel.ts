import type { WatchEvent, WatchStream } from './interfaces.js';

/**
 * A push-to-pull adapter: a producer `push`es events and `end`s or `fail`s; the consumer iterates.
 * Used by FakeApi and by tests. Unbounded on purpose: a fake's producer is the test itself.
 */
export class WatchChannel<T> implements WatchStream<T> {
  private readonly items: WatchEvent<T>[] = [];
  private waiter: (() => void) | null = null;
  private done = false;
  private error: Error | null = null;
  private onCancel: (() => void) | null;

  constructor(onCancel?: () => void) {
    this.onCancel = onCancel ?? null;
  }

  get closed(): boolean {
    return this.done;
  }

  /** Sets what cancelling (or ending) the stream releases on the producer's side. */
  setCancel(fn: () => void): void {
    if (this.done) fn();
    else this.onCancel = fn;
  }

  get buffered(): number {
    return this.items.length;
  }

  push(ev: WatchEvent<T>): void {
    if (this.done) return;
    this.items.push(ev);
    this.wake();
  }

  /** Ends the stream after the buffered events (a normal server-side close). */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.release();
    this.wake();
  }

  /** Ends the stream after the buffered events; the iterator then throws `err`. */
  fail(err: Error): void {
    if (this.done) return;
    this.error = err;
    this.end();
  }

  cancel(): void {
    this.items.length = 0;
    this.end();
  }

  private release(): void {
    const fn = this.onCancel;
    this.onCancel = null;
    fn?.();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    try {
      for (;;) {
        const next = this.items.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.done) {
          if (this.error) throw this.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
    } finally {
      // A consumer that breaks out of the loop cancels the watch.
      if (!this.done) this.cancel();
    }
  }
}
