import type { Logger, Runtime, TimerHandle } from '@kemu/runtime';
import type { Router, StreamSink, WireConnection } from '@kemu/wire';
import type { MvccStore } from '../mvcc/store.js';
import { type WatchResponse as HubResponse, type WatchFilter, WatchHub, type WatchRequest } from '../mvcc/watch.js';
import { InvalidRequestError } from './errors.js';
import { Methods, type ResponseHeader, type WatchResponse } from './protocol.js';

/** Sends queued on one stream before the hub is told to hold that watcher's events (flow control). */
const MAX_UNACKED_SENDS = 16;

interface OpenWatch {
  sink: StreamSink<WatchResponse>;
  conn: WireConnection;
  stalled: boolean;
}

/**
 * etcd's Watch service on one member: each wire stream is one watcher of the member's watch hub.
 * Events come from the local store (a follower serves its own watches), pushed under the wire's
 * credit flow control: when a consumer falls behind, the hub holds (and if needed drops and later
 * replays from history) that watcher's events, so a slow client never stalls writes.
 */
export class WatchService {
  private readonly hub: WatchHub;
  private readonly open = new Map<number, OpenWatch>();
  private readonly syncTimer: TimerHandle;
  private readonly progressTimer: TimerHandle;

  constructor(
    store: MvccStore,
    private readonly header: (revision: number) => ResponseHeader,
    runtime: Runtime,
    private readonly log: Logger,
    progressIntervalMs: number,
  ) {
    this.hub = new WatchHub(store, (res) => this.deliver(res), {
      onSinkError: (watchId, err) => this.log.warn({ err, watchId }, 'watch sink failed; watch canceled'),
    });
    this.syncTimer = runtime.setInterval(() => this.hub.syncUnsynced(), 100);
    this.progressTimer = runtime.setInterval(() => this.hub.progressNotifyAll(), progressIntervalMs);
  }

  get watcherCount(): number {
    return this.open.size;
  }

  register(router: Router): void {
    router.handleStream<unknown, WatchResponse>(Methods.watch, (body, sink, ctx) =>
      this.create(body, sink, ctx.conn, ctx.signal),
    );
    router.handle(Methods.watchProgress, (_body, ctx) => {
      let n = 0;
      for (const [id, w] of this.open) if (w.conn === ctx.conn && this.hub.progress(id)) n++;
      return { requested: n };
    });
  }

  close(): void {
    this.syncTimer.cancel();
    this.progressTimer.cancel();
    for (const w of this.open.values()) w.sink.end();
    this.open.clear();
    this.hub.close();
  }

  private create(body: unknown, sink: StreamSink<WatchResponse>, conn: WireConnection, signal: AbortSignal): void {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidRequestError('watch: request must be an object');
    }
    const f = body as Record<string, unknown>;
    const req: WatchRequest = { key: f.key as Uint8Array };
    if (f.rangeEnd !== undefined) req.rangeEnd = f.rangeEnd as Uint8Array;
    if (f.startRevision !== undefined) req.startRevision = f.startRevision as number;
    if (f.prevKv === true) req.prevKv = true;
    if (f.progressNotify === true) req.progressNotify = true;
    if (f.filters !== undefined) {
      if (!Array.isArray(f.filters)) throw new InvalidRequestError('watch: filters must be a list');
      req.filters = f.filters.map((x): WatchFilter => {
        if (x === 'noput' || x === 'noPut') return 'noPut';
        if (x === 'nodelete' || x === 'noDelete') return 'noDelete';
        throw new InvalidRequestError(`watch: unknown filter ${String(x)}`);
      });
    }
    // The hub sends `created` (and maybe catch-up events) synchronously from watch(), so the
    // stream must be findable before the id is known: park it under a placeholder first.
    const pending: OpenWatch = { sink, conn, stalled: false };
    this.parked = pending;
    let id: number;
    try {
      id = this.hub.watch(req);
    } finally {
      this.parked = undefined;
    }
    if (!this.open.has(id) && !sink.closed) this.open.set(id, pending);
    signal.addEventListener(
      'abort',
      () => {
        this.open.delete(id);
        this.hub.cancel(id);
      },
      { once: true },
    );
  }

  private parked: OpenWatch | undefined;

  private deliver(res: HubResponse): boolean {
    let w = this.open.get(res.watchId);
    if (!w && this.parked) {
      w = this.parked;
      this.open.set(res.watchId, w);
    }
    if (!w || w.sink.closed) return true;
    const out: WatchResponse = { ...res, header: this.header(res.header.revision) };
    const sent = w.sink.send(out);
    const watchId = res.watchId;
    sent.then(
      () => {
        if (w.stalled && w.sink.waiting === 0) {
          w.stalled = false;
          this.hub.resume(watchId);
        }
      },
      () => {
        this.open.delete(watchId);
        this.hub.cancel(watchId);
      },
    );
    if (res.canceled) {
      this.open.delete(watchId);
      w.sink.end();
      return true;
    }
    if (w.sink.waiting >= MAX_UNACKED_SENDS) {
      w.stalled = true;
      return false;
    }
    return true;
  }
}
