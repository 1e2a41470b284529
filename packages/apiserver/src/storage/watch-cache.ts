import type { KubeObject } from '@kemu/api';
import type { EtcdClient, KeyValue, WatchResponse } from '@kemu/etcd';
import type { Logger, Runtime, TimerHandle } from '@kemu/runtime';
import { decodeKv, decodeObject, keyString } from './codec.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change as the cache saw it: `object` is the new state (the last state for DELETED). */
export interface CacheEvent {
  type: ChangeType;
  key: string;
  object: KubeObject;
  /** The state before the change (undefined for a creation). */
  prev?: KubeObject;
  rv: number;
}

/** What a watcher receives: changes, bookmarks, or the error that ends the watch. */
export type WatchOutput =
  | { type: ChangeType; object: KubeObject }
  | { type: 'BOOKMARK'; rv: number }
  | { type: 'EXPIRED'; requested: number; oldest: number };

export interface WatchSpec {
  /** Deliver changes with resourceVersion > fromRv; undefined = first every current match as ADDED. */
  fromRv?: number;
  /** Only keys under this prefix (the namespace's prefix for a namespaced watch). */
  keyPrefix: string;
  /** Label/field selectors; evaluated on old and new state like the real watch cache. */
  match: (obj: KubeObject) => boolean;
  bookmarks: boolean;
}

export interface WatchHandle {
  stop(): void;
}

interface Watcher {
  spec: WatchSpec;
  emit: (out: WatchOutput) => void;
  /** Highest rv already delivered (events at or below are skipped). */
  sentRv: number;
}

export interface WatchCacheOptions {
  etcd: EtcdClient;
  /** The resource's etcd prefix, e.g. `/registry/pods/`. */
  prefix: string;
  log: Logger;
  runtime: Runtime;
  /** How many past events are kept for watches that resume from a resourceVersion. */
  historySize?: number;
  bookmarkIntervalMs?: number;
}

/**
 * The apiserver's watch cache for one resource (client-go's reflector + upstream's cacher in one):
 * one etcd watch feeds an in-memory copy of every object plus a window of recent events, and every
 * HTTP and wire watcher is served from it, so a thousand watchers cost etcd nothing. A watch from a
 * resourceVersion older than the window, which the cache cannot replay, is served straight from
 * etcd's history (rare: a client resuming across an apiserver restart); when etcd has compacted it
 * too, the watcher gets the 410 "too old resource version" error and relists.
 */
export class WatchCache {
  readonly prefix: string;
  private readonly etcd: EtcdClient;
  private readonly log: Logger;
  private readonly runtime: Runtime;
  private readonly historySize: number;
  private readonly bookmarkIntervalMs: number;
  private readonly objects = new Map<string, KubeObject>();
  private history: CacheEvent[] = [];
  /** Every change up to this revision has been applied. */
  private rev = 0;
  /** The oldest resourceVersion a watch can resume from out of the window. */
  private oldest = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly revWaiters: { rv: number; resolve: () => void }[] = [];
  private stopped = false;
  private syncedPromise: Promise<void>;
  private resolveSynced!: () => void;
  private etcdWatch: { close(): void } | undefined;
  private bookmarkTimer: TimerHandle | undefined;

  constructor(opts: WatchCacheOptions) {
    this.etcd = opts.etcd;
    this.prefix = opts.prefix;
    this.log = opts.log;
    this.runtime = opts.runtime;
    this.historySize = opts.historySize ?? 10000;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 5000;
    this.syncedPromise = new Promise((r) => {
      this.resolveSynced = r;
    });
  }

  get revision(): number {
    return this.rev;
  }

  get oldestResourceVersion(): number {
    return this.oldest;
  }

  get synced(): boolean {
    return this.rev > 0;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  whenSynced(): Promise<void> {
    return this.syncedPromise;
  }

  start(): void {
    void this.run();
    this.bookmarkTimer = this.runtime.setInterval(() => this.sendBookmarks(), this.bookmarkIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    this.bookmarkTimer?.cancel();
    this.etcdWatch?.close();
    this.watchers.clear();
  }

  /** Current objects under `keyPrefix` that match, and the revision they are current at. */
  list(keyPrefix: string, match: (o: KubeObject) => boolean): { items: KubeObject[]; revision: number } {
    const items: KubeObject[] = [];
    for (const key of [...this.objects.keys()].sort()) {
      if (!key.startsWith(keyPrefix)) continue;
      const o = this.objects.get(key)!;
      if (match(o)) items.push(o);
    }
    return { items, revision: this.rev };
  }

  getCached(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  /** Resolves once the cache has applied everything up to `rv` (or after `timeoutMs`: false). */
  async waitForRevision(rv: number, timeoutMs: number): Promise<boolean> {
    if (this.rev >= rv) return true;
    return new Promise<boolean>((resolve) => {
      const timer = this.runtime.setTimeout(() => {
        const i = this.revWaiters.indexOf(w);
        if (i >= 0) this.revWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      const w = {
        rv,
        resolve: () => {
          timer.cancel();
          resolve(true);
        },
      };
      this.revWaiters.push(w);
    });
  }

  /**
   * Starts a watcher. Events are delivered synchronously through `emit` in revision order; the
   * caller buffers or drops slow consumers. An EXPIRED output ends the watch.
   */
  watch(spec: WatchSpec, emit: (out: WatchOutput) => void): WatchHandle {
    const w: Watcher = { spec, emit, sentRv: 0 };
    if (spec.fromRv === undefined) {
      for (const { items } of [this.list(spec.keyPrefix, spec.match)]) {
        for (const o of items) emit({ type: 'ADDED', object: o });
      }
      w.sentRv = this.rev;
    } else if (spec.fromRv < this.oldest) {
      return this.watchFromEtcd(spec, emit);
    } else {
      w.sentRv = spec.fromRv;
      for (const ev of this.history) if (ev.rv > spec.fromRv) this.deliver(w, ev);
    }
    this.watchers.add(w);
    return { stop: () => this.watchers.delete(w) };
  }

  // ---- feeding from etcd --------------------------------------------------------------------

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        await this.relist();
        backoff = 100;
        await this.follow();
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err, prefix: this.prefix }, 'watch cache lost its etcd watch; relisting');
        await new Promise<void>((r) => this.runtime.setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  /** Loads every object at one revision. Watchers of the old state are told to relist. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let revision = 0;
    let from: Uint8Array | undefined;
    for (;;) {
      const page = await this.etcd.rangePage(this.prefix, {
        limit: 1000,
        ...(from ? { from } : {}),
        ...(revision > 0 ? { revision } : {}),
      });
      if (revision === 0) revision = page.revision;
      for (const kv of page.kvs) fresh.set(keyString(kv.key), decodeKv(kv));
      if (!page.nextKey) break;
      from = page.nextKey;
    }
    const hadState = this.rev > 0;
    this.objects.clear();
    for (const [k, v] of fresh) this.objects.set(k, v);
    this.history = [];
    this.rev = revision;
    this.oldest = revision;
    if (hadState) {
      for (const w of [...this.watchers]) {
        this.watchers.delete(w);
        w.emit({ type: 'EXPIRED', requested: w.sentRv, oldest: revision });
      }
    }
    this.resolveSynced();
    this.wakeRevWaiters();
  }

  private async follow(): Promise<void> {
    const watcher = this.etcd.watch(this.prefix, {
      prefix: true,
      startRevision: this.rev + 1,
      progressNotify: true,
    });
    this.etcdWatch = watcher;
    try {
      for await (const res of watcher) {
        if (this.stopped) return;
        this.apply(res);
      }
    } finally {
      watcher.close();
    }
    if (!this.stopped) throw new Error('etcd watch ended');
  }

  private apply(res: WatchResponse): void {
    if (res.events.length === 0) {
      if (!res.created && res.header.revision > this.rev) {
        this.rev = res.header.revision;
        this.wakeRevWaiters();
      }
      return;
    }
    for (const ev of res.events) {
      const key = keyString(ev.kv.key);
      const rv = ev.kv.modRevision;
      if (rv <= this.rev && this.history.length > 0 && rv <= this.history[this.history.length - 1]!.rv) continue;
      const prev = this.objects.get(key);
      let change: CacheEvent;
      if (ev.type === 'delete') {
        if (!prev) {
          this.rev = Math.max(this.rev, rv);
          continue;
        }
        this.objects.delete(key);
        const last = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
        change = { type: 'DELETED', key, object: last, prev, rv };
      } else {
        const obj = decodeKv(ev.kv as KeyValue);
        this.objects.set(key, obj);
        change = prev ? { type: 'MODIFIED', key, object: obj, prev, rv } : { type: 'ADDED', key, object: obj, rv };
      }
      this.rev = Math.max(this.rev, rv);
      this.history.push(change);
      if (this.history.length > this.historySize) {
        const dropped = this.history.splice(0, this.history.length - this.historySize);
        this.oldest = dropped[dropped.length - 1]!.rv;
      }
      for (const w of this.watchers) this.deliver(w, change);
    }
    this.wakeRevWaiters();
  }

  private deliver(w: Watcher, ev: CacheEvent): void {
    if (ev.rv <= w.sentRv) return;
    if (!ev.key.startsWith(w.spec.keyPrefix)) return;
    const out = translate(ev, w.spec.match);
    w.sentRv = ev.rv;
    if (out) w.emit(out);
  }

  private sendBookmarks(): void {
    for (const w of this.watchers) {
      if (!w.spec.bookmarks || this.rev <= 0) continue;
      w.sentRv = Math.max(w.sentRv, this.rev);
      w.emit({ type: 'BOOKMARK', rv: this.rev });
    }
  }

  private wakeRevWaiters(): void {
    for (let i = this.revWaiters.length - 1; i >= 0; i--) {
      const w = this.revWaiters[i]!;
      if (w.rv <= this.rev) {
        this.revWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** A watch from before the window: replayed from etcd's own history with previous values. */
  private watchFromEtcd(spec: WatchSpec, emit: (out: WatchOutput) => void): WatchHandle {
    const requested = spec.fromRv ?? 0;
    const watcher = this.etcd.watch(spec.keyPrefix, { prefix: true, startRevision: requested + 1, prevKv: true });
    let stopped = false;
    let lastRv = requested;
    const timer = spec.bookmarks
      ? this.runtime.setInterval(() => {
          if (!stopped && lastRv > 0) emit({ type: 'BOOKMARK', rv: lastRv });
        }, this.bookmarkIntervalMs)
      : undefined;
    void (async () => {
      try {
        for await (const res of watcher) {
          if (stopped) return;
          if (res.events.length === 0) {
            if (!res.created && res.header.revision > lastRv) lastRv = res.header.revision;
            continue;
          }
          for (const ev of res.events) {
            const key = keyString(ev.kv.key);
            const rv = ev.kv.modRevision;
            lastRv = rv;
            const prev = ev.prevKv ? decodeKv(ev.prevKv) : undefined;
            let change: CacheEvent;
            if (ev.type === 'delete') {
              if (!prev) continue;
              change = {
                type: 'DELETED',
                key,
                object: { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } },
                prev,
                rv,
              };
            } else {
              const obj = decodeObject(ev.kv.value as Uint8Array, rv);
              change = prev
                ? { type: 'MODIFIED', key, object: obj, prev, rv }
                : { type: 'ADDED', key, object: obj, rv };
            }
            const out = translate(change, spec.match);
            if (out) emit(out);
          }
        }
      } catch (err) {
        if (stopped) return;
        const compactRevision = (err as { compactRevision?: number }).compactRevision;
        emit({ type: 'EXPIRED', requested, oldest: compactRevision ?? this.oldest });
      } finally {
        timer?.cancel();
      }
    })();
    return {
      stop: () => {
        stopped = true;
        timer?.cancel();
        watcher.close();
      },
    };
  }
}

/** Upstream's rule: a change that moves an object in or out of the selection is ADDED/DELETED. */
function translate(ev: CacheEvent, match: (o: KubeObject) => boolean): WatchOutput | undefined {
  const nowMatches = match(ev.object);
  if (ev.type === 'ADDED') return nowMatches ? { type: 'ADDED', object: ev.object } : undefined;
  if (ev.type === 'DELETED') return ev.prev && match(ev.prev) ? { type: 'DELETED', object: ev.object } : undefined;
  const wasMatching = ev.prev ? match(ev.prev) : false;
  if (nowMatches && wasMatching) return { type: 'MODIFIED', object: ev.object };
  if (nowMatches) return { type: 'ADDED', object: ev.object };
  if (wasMatching) return { type: 'DELETED', object: ev.object };
  return undefined;
}
