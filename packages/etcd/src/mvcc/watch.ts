/**
 * The watch hub, after etcd's watchableStore. Each watcher covers a key or range and receives
 * every change from its start revision on, in revision order, without gaps or duplicates.
 *
 * - Synced watchers get events pushed as each revision commits.
 * - Unsynced watchers (started in the past, fallen behind, or after a snapshot restore) are
 *   caught up from the store's history by `syncUnsynced()`, which the host calls periodically
 *   (etcd: every 100 ms) and which does bounded work per call; a watcher whose next revision has
 *   been compacted gets a final response with `compactRevision` and `canceled` and is dropped.
 * - Slow consumers never stall writes. The sink returns false when the consumer is saturated
 *   (like `stream.write`); the hub then buffers that watcher's events up to a bound, and past it
 *   drops the buffer and moves the watcher to unsynced, to be caught up from history once the host
 *   calls `resume()`. Memory per slow watcher is therefore bounded.
 *
 * The hub is per member and not replicated state; it only reads the store. The sink must not
 * write to the store synchronously.
 */
import { type Bytes, isBytes } from './bytes.js';
import { EmptyKeyError, InvalidRequestError, WatchIdExistsError } from './errors.js';
import type { KvRecord } from './key-index.js';
import { type KeySpan, spanContains, spanIsEmpty, spanOf } from './key-span.js';
import { type MvccStore, toKeyValue } from './store.js';
import type { ResponseHeader, WatchEvent } from './types.js';

export type WatchFilter = 'noPut' | 'noDelete';

export interface WatchRequest {
  key: Bytes;
  /** Same conventions as range: absent = one key, `\0` = all keys ≥ key. */
  rangeEnd?: Bytes;
  /** First revision to deliver; 0/absent = changes after the current revision. */
  startRevision?: number;
  prevKv?: boolean;
  filters?: WatchFilter[];
  /** Include this watcher in `progressNotifyAll()`. */
  progressNotify?: boolean;
  /** Client-chosen id (etcd allows one); otherwise the hub assigns the next free id. */
  watchId?: number;
  /**
   * Split a revision too big for one response (over `maxResponseBytes`) into several, all but the
   * last marked `fragment` (etcd's fragment option; the client joins them). Without it such a
   * revision goes out whole, however big.
   */
  fragment?: boolean;
}

export interface WatchResponse {
  watchId: number;
  header: ResponseHeader;
  /** Whole revisions, in order. Empty for created/canceled/progress responses. */
  events: WatchEvent[];
  created?: boolean;
  canceled?: boolean;
  cancelReason?: string;
  /** Set (with canceled) when the watcher needed history that has been compacted. */
  compactRevision?: number;
  /** More events of the same revision follow in the next response (only with `fragment`). */
  fragment?: boolean;
}

/**
 * Delivers one response. Returning exactly `false` says "saturated: send nothing more until
 * resume()"; any other result (true, nothing) means keep going.
 */
export type WatchSink = (response: WatchResponse) => unknown;

export interface WatchHubOptions {
  /** Events held for a stalled watcher before it is dropped to unsynced (etcd: 128 responses). */
  maxBufferedEvents?: number;
  /** Catch-up responses carry at most this many events (whole revisions are never split). */
  maxEventsPerResponse?: number;
  /**
   * Approximate payload bound per response (keys + values + prev values): catch-up batches stop
   * before it, and `fragment` watchers get bigger revisions split. Default 1 MiB, well under the
   * wire's frame limit.
   */
  maxResponseBytes?: number;
  /** History records one watcher's catch-up examines per `syncUnsynced()` call. */
  maxScanPerSync?: number;
  /** Called when the sink throws; the watcher is then canceled. */
  onSinkError?: (watchId: number, error: unknown) => void;
}

export interface WatchHubStats {
  synced: number;
  unsynced: number;
  stalled: number;
  bufferedEvents: number;
}

const COMPACTED_REASON = 'etcdserver: mvcc: required revision has been compacted';

class Watcher {
  /** Next revision this watcher has not been given yet (buffered events count as given). */
  nextRev: number;
  synced = false;
  stalled = false;
  buffer: WatchResponse[] = [];
  bufferedEvents = 0;

  constructor(
    readonly id: number,
    readonly span: KeySpan,
    readonly prevKv: boolean,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly progressNotify: boolean,
    readonly fragment: boolean,
    startRev: number,
  ) {
    this.nextRev = startRev;
  }

  wants(rec: KvRecord): boolean {
    if (rec.isTombstone ? this.noDelete : this.noPut) return false;
    return spanContains(this.span, rec.owner.key);
  }
}

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  /** Synced single-key watchers by latin1 key, and synced range watchers. */
  private readonly syncedByKey = new Map<string, Set<Watcher>>();
  private readonly syncedRanges = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  private nextId = 0;
  /** Last store revision the hub has seen committed. */
  private seenRev: number;
  private readonly maxBufferedEvents: number;
  private readonly maxEventsPerResponse: number;
  private readonly maxResponseBytes: number;
  private readonly maxScanPerSync: number;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: MvccStore,
    private readonly sink: WatchSink,
    private readonly options: WatchHubOptions = {},
  ) {
    this.maxBufferedEvents = options.maxBufferedEvents ?? 1024;
    this.maxEventsPerResponse = options.maxEventsPerResponse ?? 1000;
    this.maxScanPerSync = options.maxScanPerSync ?? 10_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.seenRev = store.revision;
    this.unsubscribe = store.subscribe({
      committed: (rev, records) => this.onCommitted(rev, records),
      restored: () => this.onRestored(),
    });
  }

  /** Detaches from the store; watchers are dropped without responses. */
  close(): void {
    this.unsubscribe();
    this.watchers.clear();
    this.syncedByKey.clear();
    this.syncedRanges.clear();
    this.unsynced.clear();
  }

  /**
   * Creates a watcher and sends its `created` response. A watcher starting in the past is caught
   * up at once as far as one sync allows (or canceled as compacted).
   */
  watch(req: WatchRequest): number {
    if (!isBytes(req.key)) throw new InvalidRequestError('key must be bytes');
    if (req.key.byteLength === 0) throw new EmptyKeyError();
    if (req.rangeEnd !== undefined && !isBytes(req.rangeEnd)) throw new InvalidRequestError('rangeEnd must be bytes');
    const start = req.startRevision ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) throw new InvalidRequestError('startRevision must be ≥ 0');
    let id = req.watchId;
    if (id !== undefined) {
      if (!Number.isSafeInteger(id) || id < 0) throw new InvalidRequestError('watchId must be ≥ 0');
      if (this.watchers.has(id)) throw new WatchIdExistsError(id);
    } else {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    }
    const filters = req.filters ?? [];
    if (!Array.isArray(filters) || filters.some((f) => f !== 'noPut' && f !== 'noDelete')) {
      throw new InvalidRequestError('filters must be a list of noPut/noDelete');
    }
    const current = this.store.revision;
    const w = new Watcher(
      id,
      spanOf(req.key, req.rangeEnd),
      req.prevKv === true,
      filters.includes('noPut'),
      filters.includes('noDelete'),
      req.progressNotify === true,
      req.fragment === true,
      start === 0 ? current + 1 : start,
    );
    this.watchers.set(id, w);
    this.send(w, { watchId: id, header: { revision: current }, events: [], created: true });
    if (!this.watchers.has(id)) return id; // the sink failed
    if (w.nextRev > current) this.markSynced(w);
    else {
      this.unsynced.add(w);
      if (!w.stalled) this.syncWatcher(w);
    }
    return id;
  }

  /** Removes a watcher and sends it a `canceled` response. Returns false if it did not exist. */
  cancel(watchId: number, reason?: string): boolean {
    const w = this.watchers.get(watchId);
    if (!w) return false;
    this.remove(w);
    const resp: WatchResponse = { watchId, header: { revision: this.store.revision }, events: [], canceled: true };
    if (reason !== undefined) resp.cancelReason = reason;
    this.deliver(w, resp);
    return true;
  }

  /**
   * The consumer drained: flush what was buffered, then catch up from history if the watcher fell
   * behind. Returns false if the watcher does not exist.
   */
  resume(watchId: number): boolean {
    const w = this.watchers.get(watchId);
    if (!w) return false;
    w.stalled = false;
    while (w.buffer.length > 0 && !w.stalled && this.watchers.has(w.id)) {
      // A revision's fragments leave together, so the buffer always starts at a revision boundary.
      let resp: WatchResponse;
      do {
        resp = w.buffer.shift()!;
        w.bufferedEvents -= resp.events.length;
        this.send(w, resp);
      } while (resp.fragment && w.buffer.length > 0 && this.watchers.has(w.id));
    }
    if (!w.stalled && !w.synced && this.watchers.has(w.id)) this.syncWatcher(w);
    return true;
  }

  /**
   * Catches up unsynced, non-stalled watchers from history, with bounded work per watcher.
   * Returns how many watchers remain unsynced (call again soon if > 0).
   */
  syncUnsynced(): number {
    for (const w of [...this.unsynced]) {
      if (!w.stalled) this.syncWatcher(w);
    }
    return this.unsynced.size;
  }

  /**
   * Sends a progress notification (no events, header = current revision) if the watcher has been
   * given every event up to now. Returns whether one was sent (etcd skips unsynced watchers too).
   */
  progress(watchId: number): boolean {
    const w = this.watchers.get(watchId);
    if (!w?.synced || w.stalled || w.buffer.length > 0) return false;
    this.send(w, { watchId, header: { revision: this.store.revision }, events: [] });
    return true;
  }

  /** The periodic hook: progress for every watcher created with `progressNotify`. Returns the count sent. */
  progressNotifyAll(): number {
    let sent = 0;
    for (const w of [...this.watchers.values()]) if (w.progressNotify && this.progress(w.id)) sent++;
    return sent;
  }

  isSynced(watchId: number): boolean {
    const w = this.watchers.get(watchId);
    return w?.synced === true && w.buffer.length === 0;
  }

  stats(): WatchHubStats {
    let stalled = 0;
    let bufferedEvents = 0;
    for (const w of this.watchers.values()) {
      if (w.stalled) stalled++;
      bufferedEvents += w.bufferedEvents;
    }
    return { synced: this.watchers.size - this.unsynced.size, unsynced: this.unsynced.size, stalled, bufferedEvents };
  }

  // ---- internals ---------------------------------------------------------------------------

  private onCommitted(rev: number, records: readonly KvRecord[]): void {
    this.seenRev = rev;
    if (this.syncedByKey.size === 0 && this.syncedRanges.size === 0) return;
    const perWatcher = new Map<Watcher, WatchEvent[]>();
    const events = new EventCache(this.store);
    for (const rec of records) {
      const add = (w: Watcher): void => {
        if (rev < w.nextRev || !w.wants(rec)) return;
        let list = perWatcher.get(w);
        if (!list) perWatcher.set(w, (list = []));
        list.push(events.of(rec, w.prevKv));
      };
      const singles = this.syncedByKey.get(rec.owner.key);
      if (singles) for (const w of singles) add(w);
      for (const w of this.syncedRanges) add(w);
    }
    for (const [w, evs] of perWatcher) {
      w.nextRev = rev + 1;
      const resps = this.responses(w, evs, rev);
      if (!w.stalled && w.buffer.length === 0) {
        for (const resp of resps) this.send(w, resp);
      } else if (w.bufferedEvents + evs.length <= this.maxBufferedEvents) {
        w.buffer.push(...resps);
        w.bufferedEvents += evs.length;
      } else this.fallBehind(w, w.buffer[0]?.events[0]?.kv.modRevision ?? rev);
    }
  }

  /** Drops a stalled watcher's buffer; it will be caught up from `fromRev` via history. */
  private fallBehind(w: Watcher, fromRev: number): void {
    this.unmarkSynced(w);
    w.buffer = [];
    w.bufferedEvents = 0;
    w.nextRev = fromRev;
    this.unsynced.add(w);
  }

  private onRestored(): void {
    // Events between what watchers were given and the snapshot's revision come from its history.
    for (const w of this.watchers.values()) {
      if (!w.synced) continue;
      this.unmarkSynced(w);
      w.nextRev = Math.max(w.nextRev, this.seenRev + 1);
      this.unsynced.add(w);
    }
    this.seenRev = this.store.revision;
    this.syncUnsynced();
  }

  private syncWatcher(w: Watcher): void {
    const compactRev = this.store.compactRevision;
    if (w.nextRev < compactRev) {
      this.remove(w);
      this.deliver(w, {
        watchId: w.id,
        header: { revision: this.store.revision },
        events: [],
        canceled: true,
        cancelReason: COMPACTED_REASON,
        compactRevision: compactRev,
      });
      return;
    }
    const { records, start } = this.store.historyFrom(w.nextRev);
    const cache = new EventCache(this.store);
    let i = start;
    let scanned = 0;
    let batch: WatchEvent[] = [];
    let batchBytes = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      for (const resp of this.responses(w, batch, this.store.revision)) this.send(w, resp);
      batch = [];
      batchBytes = 0;
    };
    const gone = (): boolean => w.stalled || !this.watchers.has(w.id);
    while (i < records.length && scanned < this.maxScanPerSync) {
      const rev = records[i]!.modRevision;
      let end = i;
      const revEvents: WatchEvent[] = [];
      let revBytes = 0;
      for (; end < records.length && records[end]!.modRevision === rev; end++) {
        const rec = records[end]!;
        if (!w.wants(rec)) continue;
        const ev = cache.of(rec, w.prevKv);
        revEvents.push(ev);
        revBytes += eventBytes(ev);
      }
      // A revision is never split across batches, so a full batch goes out before this one joins.
      const full =
        batch.length + revEvents.length > this.maxEventsPerResponse || batchBytes + revBytes > this.maxResponseBytes;
      if (batch.length > 0 && full) {
        flush();
        if (gone()) break;
      }
      for (const e of revEvents) batch.push(e);
      batchBytes += revBytes;
      scanned += end - i;
      i = end;
      w.nextRev = rev + 1;
      if (batch.length >= this.maxEventsPerResponse || batchBytes >= this.maxResponseBytes) {
        flush();
        if (gone()) break;
      }
    }
    flush(); // only a scan-budget exit leaves events here; every break follows a flush
    if (i >= records.length && this.watchers.has(w.id)) {
      w.nextRev = Math.max(w.nextRev, this.store.revision + 1);
      this.unsynced.delete(w);
      this.markSynced(w);
    }
  }

  /**
   * The response(s) carrying `events`: one, or for a `fragment` watcher whose events exceed
   * maxResponseBytes (then they are one revision), several with `fragment` on all but the last.
   */
  private responses(w: Watcher, events: WatchEvent[], headerRev: number): WatchResponse[] {
    const whole: WatchResponse = { watchId: w.id, header: { revision: headerRev }, events };
    if (!w.fragment) return [whole];
    const parts: WatchEvent[][] = [];
    let part: WatchEvent[] = [];
    let bytes = 0;
    for (const ev of events) {
      const size = eventBytes(ev);
      if (part.length > 0 && bytes + size > this.maxResponseBytes) {
        parts.push(part);
        part = [];
        bytes = 0;
      }
      part.push(ev);
      bytes += size;
    }
    parts.push(part);
    if (parts.length === 1) return [whole];
    return parts.map((evs, n) => {
      const resp: WatchResponse = { watchId: w.id, header: { revision: headerRev }, events: evs };
      if (n < parts.length - 1) resp.fragment = true;
      return resp;
    });
  }

  private markSynced(w: Watcher): void {
    w.synced = true;
    if (w.span.single) {
      let set = this.syncedByKey.get(w.span.start);
      if (!set) this.syncedByKey.set(w.span.start, (set = new Set()));
      set.add(w);
    } else if (!spanIsEmpty(w.span)) this.syncedRanges.add(w);
  }

  private unmarkSynced(w: Watcher): void {
    if (!w.synced) return;
    w.synced = false;
    const set = this.syncedByKey.get(w.span.start);
    if (set?.delete(w) && set.size === 0) this.syncedByKey.delete(w.span.start);
    this.syncedRanges.delete(w);
  }

  private remove(w: Watcher): void {
    this.unmarkSynced(w);
    this.unsynced.delete(w);
    this.watchers.delete(w.id);
    w.buffer = [];
    w.bufferedEvents = 0;
  }

  /** Sends to a live watcher, tracking backpressure. */
  private send(w: Watcher, resp: WatchResponse): void {
    if (this.deliver(w, resp) === false) w.stalled = true;
  }

  private deliver(w: Watcher, resp: WatchResponse): unknown {
    try {
      return this.sink(resp);
    } catch (err) {
      if (this.watchers.has(w.id)) this.remove(w);
      this.options.onSinkError?.(w.id, err);
      return undefined;
    }
  }
}

/** Rough wire size of an event: its bytes plus a fixed allowance for revisions and framing. */
function eventBytes(ev: WatchEvent): number {
  let n = 48 + ev.kv.key.byteLength + ev.kv.value.byteLength;
  if (ev.prevKv) n += 48 + ev.prevKv.key.byteLength + ev.prevKv.value.byteLength;
  return n;
}

/** Builds each record's event once per prevKv flavour, shared by every watcher that wants it. */
class EventCache {
  private readonly plain = new Map<KvRecord, WatchEvent>();
  private readonly withPrev = new Map<KvRecord, WatchEvent>();

  constructor(private readonly store: MvccStore) {}

  of(rec: KvRecord, prevKv: boolean): WatchEvent {
    const cache = prevKv ? this.withPrev : this.plain;
    let ev = cache.get(rec);
    if (!ev) {
      ev = { type: rec.isTombstone ? 'delete' : 'put', kv: toKeyValue(rec, false) };
      if (prevKv) {
        const prev = rec.owner.previous(rec);
        // etcd reads prev_kv at revision-1, which is gone once that revision is compacted.
        if (prev && rec.modRevision > this.store.compactRevision) ev.prevKv = toKeyValue(prev, false);
      }
      cache.set(rec, ev);
    }
    return ev;
  }
}
