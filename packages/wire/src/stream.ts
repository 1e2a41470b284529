import type { WireConnection } from './connection.js';
import { WireBadFrameError, WireCancelledError } from './errors.js';
import type { CallContext } from './router.js';

/** What a consumer stream needs from its connection. */
export interface ConsumerLink {
  grantCredit(id: number, n: number): void;
  cancelStream(id: number): void;
}

/** What a producer stream needs from its connection. */
export interface ProducerLink {
  readonly conn: WireConnection;
  /** Throws WireFrameTooLargeError when the item does not fit in a frame. */
  sendEvt(id: number, method: string, item: unknown): void;
  sendEnd(id: number, method: string, err: unknown): void;
}

export interface StreamOptions {
  /** Items the consumer lets the producer send ahead of reading them (default 64). */
  window?: number;
  /** Cancels the stream: the producer's signal aborts and iteration ends. */
  signal?: AbortSignal;
}

export const DEFAULT_STREAM_WINDOW = 64;

interface Waiter<T> {
  resolve: (r: IteratorResult<T>) => void;
  reject: (err: Error) => void;
}

/**
 * The consumer end of a server-push stream: an async iterator. Items the producer sent are buffered
 * here, at most `window` of them; credit is returned to the producer as items are taken (in batches
 * of half the window), so a consumer that stops reading stops the producer. Breaking out of a
 * `for await` (or `cancel()`) cancels the producer. A producer failure or a dropped connection is
 * thrown from the iterator after the items received before it.
 */
export class WireStream<T = unknown> implements AsyncIterableIterator<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private waiter: Waiter<T> | null = null;
  private finished = false;
  private error: Error | null = null;
  private ungranted = 0;
  private readonly grantEvery: number;
  private onSettled: (() => void) | null = null;

  constructor(
    private readonly link: ConsumerLink,
    readonly id: number,
    readonly method: string,
    readonly window: number,
  ) {
    this.grantEvery = Math.max(1, Math.floor(window / 2));
  }

  /** Items received and not yet taken. */
  get buffered(): number {
    return this.items.length - this.head;
  }

  /** True once the stream ended, failed or was cancelled (buffered items may remain). */
  get closed(): boolean {
    return this.finished;
  }

  /** @internal Runs once when the stream ends, fails or is cancelled (detaches an AbortSignal). */
  whenSettled(fn: () => void): void {
    if (this.finished) fn();
    else this.onSettled = fn;
  }

  private settled(): void {
    const fn = this.onSettled;
    this.onSettled = null;
    fn?.();
  }

  /** @internal Delivers an item; false when the producer exceeded its credit. */
  push(item: T): boolean {
    if (this.finished) return true;
    if (this.buffered + this.ungranted >= this.window) return false;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      this.took();
      w.resolve({ value: item, done: false });
    } else {
      this.items.push(item);
    }
    return true;
  }

  /** @internal The producer ended (err undefined) or failed, or the connection dropped. */
  finish(err?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.settled();
    if (err) this.error = err;
    const w = this.waiter;
    if (w !== null && this.buffered === 0) {
      this.waiter = null;
      this.deliverEnd(w);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.took();
      return Promise.resolve({ value, done: false });
    }
    if (this.finished) {
      return new Promise((resolve, reject) => this.deliverEnd({ resolve, reject }));
    }
    if (this.waiter !== null)
      return Promise.reject(new Error('WireStream.next() called while another next() is pending'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Called by `for await` on break/throw: cancels the producer. */
  return(): Promise<IteratorResult<T>> {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Stops the stream: tells the producer (its signal aborts), drops buffered items, ends iteration. */
  cancel(): void {
    this.items = [];
    this.head = 0;
    if (this.finished) return;
    this.finished = true;
    this.settled();
    this.link.cancelStream(this.id);
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private took(): void {
    if (this.finished) return;
    if (++this.ungranted >= this.grantEvery) {
      const n = this.ungranted;
      this.ungranted = 0;
      this.link.grantCredit(this.id, n);
    }
  }

  private deliverEnd(w: Waiter<T>): void {
    const err = this.error;
    if (err) {
      this.error = null; // thrown once; later next() calls report done
      w.reject(err);
    } else {
      w.resolve({ value: undefined, done: true });
    }
  }
}

/** The producer end of a stream, handed to a {@link StreamHandler}. */
export interface StreamSink<T = unknown> {
  /**
   * Sends one item when the consumer has credit, else waits for it. Rejects with WireCancelledError
   * (consumer cancelled), WireDisconnectedError (connection gone) or WireFrameTooLargeError.
   */
  send(item: T): Promise<void>;
  /** Sends only if credit is available right now; false otherwise (or when closed). Never buffers. */
  trySend(item: T): boolean;
  /** Ends the stream after the items already passed to `send()`. */
  end(): void;
  /** Ends the stream with an error (its `code` reaches the consumer as a RemoteError). */
  fail(err: unknown): void;
  /** Items the consumer will accept right now. */
  readonly credit: number;
  /** Items passed to `send()` that wait for credit (the sender's buffer). */
  readonly waiting: number;
  readonly closed: boolean;
  /** Aborts when the consumer cancels or the connection drops. */
  readonly signal: AbortSignal;
}

interface PendingSend {
  item: unknown;
  resolve: () => void;
  reject: (err: Error) => void;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** @internal The producer side state of one stream on one connection. */
export class ServedStream implements StreamSink<unknown>, CallContext {
  private pending: PendingSend[] = [];
  private ending: { err: unknown } | null = null;
  private isClosed = false;
  private closeReason: Error | null = null;
  private controller: AbortController | null = null;

  constructor(
    private readonly link: ProducerLink,
    readonly id: number,
    readonly method: string,
    private available: number,
  ) {}

  get conn(): WireConnection {
    return this.link.conn;
  }

  get credit(): number {
    return this.available;
  }

  get waiting(): number {
    return this.pending.length;
  }

  get closed(): boolean {
    return this.isClosed || this.ending !== null;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.closeReason) this.controller.abort(this.closeReason);
    }
    return this.controller.signal;
  }

  send(item: unknown): Promise<void> {
    if (this.closed) return Promise.reject(this.closeReason ?? new WireCancelledError('stream already ended'));
    if (this.available > 0 && this.pending.length === 0) {
      const err = this.emit(item);
      return err === null ? RESOLVED : Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => this.pending.push({ item, resolve, reject }));
  }

  trySend(item: unknown): boolean {
    if (this.closed || this.available <= 0 || this.pending.length > 0) return false;
    return this.emit(item) === null;
  }

  end(): void {
    this.finishWith(undefined);
  }

  fail(err: unknown): void {
    this.finishWith(err ?? new Error('stream failed'));
  }

  /** @internal The consumer took `n` more items. */
  grant(n: number): void {
    if (this.isClosed) return;
    this.available += n;
    while (this.available > 0 && this.pending.length > 0) {
      const p = this.pending.shift() as PendingSend;
      const err = this.emit(p.item);
      if (err === null) p.resolve();
      else p.reject(err);
    }
    if (this.pending.length === 0 && this.ending !== null) this.sendEnd(this.ending.err);
  }

  /** @internal The consumer cancelled or the connection dropped: nothing more will be sent. */
  abort(reason: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(reason);
    this.controller?.abort(reason);
  }

  private emit(item: unknown): Error | null {
    try {
      this.link.sendEvt(this.id, this.method, item);
    } catch (err) {
      return err instanceof Error ? err : new WireBadFrameError(String(err));
    }
    this.available--;
    return null;
  }

  private finishWith(err: unknown): void {
    if (this.closed) return;
    if (err !== undefined && this.pending.length > 0) {
      // A failure is reported now; items still waiting for credit are never sent.
      const pending = this.pending;
      this.pending = [];
      const reason = new WireCancelledError('stream failed before the item was sent');
      for (const p of pending) p.reject(reason);
    }
    this.ending = { err };
    if (this.pending.length === 0) this.sendEnd(err);
  }

  private sendEnd(err: unknown): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = new WireCancelledError('stream ended');
    this.link.sendEnd(this.id, this.method, err);
  }
}
