import type { Runtime } from '@kemu/runtime';
import { CompactedError, EtcdError, StoppedError } from '../server/errors.js';
import { Methods, type WatchCreateRequest, type WatchResponse } from '../server/protocol.js';
import type { Bytes } from './bytes.js';
import type { MemberConnection, StreamHandle } from './transport.js';

export interface WatchOptions {
  prefix?: boolean;
  rangeEnd?: Bytes;
  /** First revision to deliver; absent = only changes after the watch is created. */
  startRevision?: number;
  prevKv?: boolean;
  /** Ask the member for periodic progress notifications. */
  progressNotify?: boolean;
  filters?: ('noput' | 'nodelete')[];
}

type Item = { value: WatchResponse } | { error: Error } | { done: true };

/**
 * A client-side watch. It keeps `nextRevision` — one past the last revision it delivered — and when
 * its stream breaks, opens a new one (on another member if need be) from there, so callers see every
 * event once and in order. Responses queue until the caller takes them: a slow reader backs up into
 * the wire's flow control, not into unbounded memory on the member.
 */
export class Watcher implements AsyncIterable<WatchResponse> {
  private readonly queue: Item[] = [];
  private waiting: ((item: Item) => void) | undefined;
  private stream: StreamHandle | undefined;
  private closed = false;
  private attempt = 0;
  /** 0 = not yet known (the first `created` response tells us). */
  private nextRevision: number;
  private readonly created: Promise<void>;
  private resolveCreated!: () => void;
  private rejectCreated!: (err: Error) => void;
  private retryBackoff = 50;

  constructor(
    private readonly key: Uint8Array,
    private readonly rangeEnd: Uint8Array | undefined,
    private readonly opts: WatchOptions,
    private readonly connFor: (attempt: number) => MemberConnection,
    private readonly runtime: Runtime,
    private readonly onClose: () => void,
  ) {
    this.nextRevision = opts.startRevision ?? 0;
    this.created = new Promise<void>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    this.created.catch(() => {});
  }

  /** Resolves once the member has registered the watch (events after this point are covered). */
  ready(): Promise<void> {
    return this.created;
  }

  /** The revision the watch would resume from. */
  get resumeRevision(): number {
    return this.nextRevision;
  }

  /**
   * Asks the member for a progress notification on this watch (etcd's RequestProgress): a response
   * with no events whose header revision says everything up to it has been delivered.
   */
  async requestProgress(timeoutMs = 5000): Promise<void> {
    if (!this.conn) throw new StoppedError('etcd client: watch is not connected');
    await this.conn.call(Methods.watchProgress, {}, timeoutMs);
  }

  private conn: MemberConnection | undefined;

  start(): void {
    if (this.closed) return;
    const req: WatchCreateRequest = { key: this.key };
    if (this.rangeEnd) req.rangeEnd = this.rangeEnd;
    if (this.nextRevision > 0) req.startRevision = this.nextRevision;
    if (this.opts.prevKv) req.prevKv = true;
    if (this.opts.progressNotify) req.progressNotify = true;
    if (this.opts.filters) req.filters = this.opts.filters;
    let conn: MemberConnection;
    try {
      conn = this.connFor(this.attempt);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.conn = conn;
    this.stream = conn.stream(Methods.watch, req, {
      onMessage: (msg) => this.onMessage(msg as WatchResponse),
      onEnd: (err) => this.onEnd(err),
    });
  }

  private onMessage(res: WatchResponse): void {
    if (this.closed) return;
    if (res.compactRevision && res.canceled) {
      this.fail(new CompactedError(res.compactRevision));
      return;
    }
    if (res.canceled) {
      this.fail(new EtcdError('ETCD_WATCH_CANCELED', res.cancelReason ?? 'etcdserver: watch canceled'));
      return;
    }
    this.retryBackoff = 50;
    if (res.created) {
      if (this.nextRevision === 0) this.nextRevision = res.header.revision + 1;
      this.resolveCreated();
      if (res.events.length === 0) return;
    }
    const last = res.events[res.events.length - 1];
    if (last) {
      this.nextRevision = Math.max(this.nextRevision, last.kv.modRevision + 1);
    } else {
      // A progress notification: everything up to header.revision has been delivered.
      this.nextRevision = Math.max(this.nextRevision, res.header.revision + 1);
    }
    this.push({ value: res });
  }

  private onEnd(err?: Error): void {
    this.stream = undefined;
    if (this.closed) return;
    if (err instanceof EtcdError && !isTransient(err)) {
      this.fail(err);
      return;
    }
    // The member went away (or ended the stream): resume elsewhere from nextRevision.
    this.attempt++;
    const wait = this.retryBackoff;
    this.retryBackoff = Math.min(this.retryBackoff * 2, 1000);
    this.runtime.setTimeout(() => this.start(), wait);
  }

  private fail(err: Error): void {
    this.rejectCreated(err);
    this.push({ error: err });
    this.close();
  }

  private push(item: Item): void {
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w(item);
    } else {
      this.queue.push(item);
    }
  }

  private next(): Promise<Item> {
    const item = this.queue.shift();
    if (item) return Promise.resolve(item);
    if (this.closed) return Promise.resolve({ done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream?.cancel();
    this.stream = undefined;
    this.rejectCreated(new StoppedError('etcd client: watch closed'));
    this.onClose();
    this.push({ done: true });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    for (;;) {
      const item = await this.next();
      if ('done' in item) return;
      if ('error' in item) throw item.error;
      yield item.value;
    }
  }
}

function isTransient(err: EtcdError): boolean {
  return err.code === 'ETCD_NO_LEADER' || err.code === 'ETCD_STOPPED' || err.code === 'ETCD_UNAVAILABLE';
}
