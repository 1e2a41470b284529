// Reflector + SharedIndexInformer (client-go tools/cache): list, then watch from the list's
// resourceVersion, keep an indexed cache, and tell handlers what changed. Objects that vanished
// while the watch was down reach onDelete as a DeletedFinalStateUnknown tombstone after the relist.
import { type KubeObject, parseLabelSelector, type Selector } from '@kemu/api';
import { type Logger, type Random, type Runtime, silentLogger, type TimerHandle } from '@kemu/runtime';
import { Backoff } from '@kemu/wire';
import { ClientConfigError, isResourceExpired } from './errors.js';
import { type ListOptions, type ListWatcher, objectKey, type WatchEvent, type WatchStream } from './interfaces.js';
import { Indexer, type IndexFunc, NAMESPACE_INDEX, namespaceIndexFunc } from './store.js';

/** What onDelete gets for an object whose deletion the informer did not see (it found it gone on a relist). */
export class DeletedFinalStateUnknown<T> {
  constructor(
    readonly key: string,
    /** The last state the cache had. */
    readonly obj: T,
  ) {}
}

export interface EventHandler<T> {
  /** `isInInitialList`: the object came from a list (first sync, or a handler added late), not a watch. */
  onAdd?(obj: T, isInInitialList: boolean): void;
  /** Also called on relists and resyncs, with `old === new` state when nothing changed. */
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

export interface HandlerRegistration {
  remove(): void;
  hasSynced(): boolean;
}

export interface InformerOptions<T extends KubeObject> {
  listWatcher: ListWatcher<T>;
  runtime: Runtime;
  random: Random;
  log?: Logger;
  /** Restricts what is cached (namespace, label and field selectors). */
  selector?: Pick<ListOptions, 'namespace' | 'labelSelector' | 'fieldSelector'>;
  /** Extra indexes beside `namespace`, e.g. `{ byNode: fieldIndexFunc('spec.nodeName') }`. */
  indexers?: Record<string, IndexFunc<T>>;
  /** Every so often, onUpdate(obj, obj) for every cached object (0/absent: never). */
  resyncPeriodMs?: number;
  /**
   * List in pages of this many (default 500, as client-go's reflector; 0: one request). A paged list
   * is a consistent read from etcd: the apiserver serves lists with a resourceVersion from its watch
   * cache in one piece, which for tens of thousands of objects would exceed a wire frame.
   */
  pageSize?: number;
  /** Delay between failed list/watch attempts: exponential with jitter (default 800 ms → 30 s, like client-go). */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Name for log lines, e.g. `pods`. */
  name?: string;
}

type Phase = 'idle' | 'running' | 'stopped';

/** client-go's reflector page size. */
const DEFAULT_PAGE_SIZE = 500;

export class SharedIndexInformer<T extends KubeObject = KubeObject> {
  readonly store: Indexer<T>;
  private readonly lw: ListWatcher<T>;
  private readonly runtime: Runtime;
  private readonly log: Logger;
  private readonly selector: Pick<ListOptions, 'namespace' | 'labelSelector' | 'fieldSelector'>;
  private readonly resyncPeriodMs: number;
  private readonly pageSize: number | undefined;
  private readonly backoff: Backoff;
  private readonly handlers = new Set<EventHandler<T>>();
  private phase: Phase = 'idle';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private stream: WatchStream<T> | undefined;
  private sleeper: { timer: TimerHandle; resolve: () => void } | undefined;
  private resyncTimer: TimerHandle | undefined;
  private lastRv = '';
  /** After a 410 on list, the next list must be a consistent read (no resourceVersion). */
  private rvUnavailable = false;
  private loop: Promise<void> | undefined;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsAfterExpired: 0, errors: 0, events: 0 };

  constructor(opts: InformerOptions<T>) {
    this.lw = opts.listWatcher;
    this.runtime = opts.runtime;
    this.log = (opts.log ?? silentLogger()).child({ informer: opts.name ?? 'objects' });
    this.selector = opts.selector ?? {};
    this.resyncPeriodMs = opts.resyncPeriodMs ?? 0;
    if (this.resyncPeriodMs < 0) throw new ClientConfigError('resyncPeriodMs must be >= 0');
    this.pageSize = opts.pageSize === 0 ? undefined : (opts.pageSize ?? DEFAULT_PAGE_SIZE);
    this.backoff = new Backoff(opts.random, {
      initialDelayMs: opts.backoff?.initialDelayMs ?? 800,
      maxDelayMs: opts.backoff?.maxDelayMs ?? 30_000,
    });
    this.store = new Indexer<T>({ [NAMESPACE_INDEX]: namespaceIndexFunc, ...(opts.indexers ?? {}) });
  }

  /** The resourceVersion the cache reflects (last list, event or bookmark). */
  get lastSyncResourceVersion(): string {
    return this.lastRv;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get hasStarted(): boolean {
    return this.phase !== 'idle';
  }

  /** Resolves after the first complete list has been applied. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  addEventHandler(handler: EventHandler<T>): HandlerRegistration {
    this.handlers.add(handler);
    // A late handler first hears about everything already cached, like client-go's.
    if (this.synced) for (const obj of this.store.list()) this.safely(() => handler.onAdd?.(obj, true));
    return { remove: () => this.handlers.delete(handler), hasSynced: () => this.synced };
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    this.store.addIndexers(indexers);
  }

  /** Cached objects, optionally of one namespace and matching a label selector (a lister). */
  list(opts: { namespace?: string; labelSelector?: string | Selector } = {}): T[] {
    const objs = opts.namespace === undefined ? this.store.list() : this.store.byIndex(NAMESPACE_INDEX, opts.namespace);
    if (opts.labelSelector === undefined) return objs;
    const sel = typeof opts.labelSelector === 'string' ? parseLabelSelector(opts.labelSelector) : opts.labelSelector;
    return sel.empty ? objs : objs.filter((o) => sel.matches(o.metadata.labels));
  }

  /** One cached object by namespace (undefined for cluster-scoped) and name. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace, name);
  }

  /** Starts the list/watch loop; returns at once. */
  start(): void {
    if (this.phase !== 'idle') throw new ClientConfigError('informer already started');
    this.phase = 'running';
    if (this.resyncPeriodMs > 0) this.resyncTimer = this.runtime.setInterval(() => this.resync(), this.resyncPeriodMs);
    this.loop = this.run();
  }

  /** Stops watching; the cache keeps its content. Resolves when the loop has exited. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.resyncTimer?.cancel();
    this.stream?.cancel();
    this.wakeSleeper();
    await this.loop;
  }

  private get running(): boolean {
    return this.phase === 'running';
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.listAndWatch();
      } catch (err) {
        if (!this.running) break;
        this.stats.errors++;
        if (isResourceExpired(err)) this.rvUnavailable = true;
        const delay = this.backoff.next();
        this.log.warn({ err, delayMs: Math.round(delay) }, 'list/watch failed; relisting after backoff');
        await this.sleep(delay);
      }
    }
  }

  /** One list, then watches until a watch fails (throws) or the informer stops. */
  private async listAndWatch(): Promise<void> {
    const items = await this.listAll();
    if (!this.running) return;
    this.replace(items.items, items.resourceVersion);
    const eventsAtList = this.stats.events;
    while (this.running) {
      const outcome = await this.watchOnce();
      if (outcome === 'expired') {
        this.stats.relistsAfterExpired++;
        this.log.info({ rv: this.lastRv }, 'watch expired (410); relisting');
        // Expired straight after a list: do not spin list → 410 → list against a server that keeps
        // compacting past us; back off first.
        if (this.stats.events === eventsAtList) await this.sleep(this.backoff.next());
        return;
      }
      if (outcome === 'idle-close') await this.sleep(this.backoff.next());
    }
  }

  private async listAll(): Promise<{ items: T[]; resourceVersion: string }> {
    this.stats.lists++;
    // First list may come from the server's cache ("0"); later ones at least as new as what we saw;
    // after a 410 a consistent read.
    const rv = this.rvUnavailable ? undefined : this.lastRv === '' ? '0' : this.lastRv;
    const base: ListOptions = { ...this.selector };
    if (rv !== undefined) base.resourceVersion = rv;
    if (this.pageSize === undefined) {
      const out = await this.lw.list(base);
      this.rvUnavailable = false;
      return out;
    }
    const all: T[] = [];
    let cont: string | undefined;
    let listRv = '';
    do {
      const page = await this.lw.list(
        cont === undefined
          ? { ...this.selector, limit: this.pageSize }
          : { ...this.selector, limit: this.pageSize, continue: cont },
      );
      all.push(...page.items);
      listRv = page.resourceVersion;
      cont = page.continue;
    } while (cont !== undefined && cont !== '' && this.running);
    this.rvUnavailable = false;
    return { items: all, resourceVersion: listRv };
  }

  /**
   * Returns how the watch ended: `'expired'` (410 → relist), `'closed'` after events (resume at
   * once), `'idle-close'` with no events (resume after a backoff so a server that closes at once is
   * not hammered). Transport errors and other ERROR events throw (→ backoff and relist).
   */
  private async watchOnce(): Promise<'expired' | 'closed' | 'idle-close'> {
    this.stats.watches++;
    const stream = this.lw.watch({ ...this.selector, resourceVersion: this.lastRv, allowBookmarks: true });
    this.stream = stream;
    let events = 0;
    try {
      for await (const ev of stream) {
        if (!this.running) break;
        if (ev.type === 'ERROR') {
          if (ev.object.code === 410) return 'expired';
          throw new WatchErrorEvent(ev.object.message ?? 'watch error', ev.object.code ?? 500);
        }
        this.apply(ev);
        events++;
        this.stats.events++;
        this.backoff.reset();
      }
    } finally {
      stream.cancel();
      this.stream = undefined;
    }
    return events > 0 ? 'closed' : 'idle-close';
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'ERROR') return;
    const rv = ev.object.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.lastRv = rv;
      return;
    }
    const obj = ev.object;
    if (ev.type === 'DELETED') {
      const old = this.store.deleteKey(objectKey(obj));
      if (old) this.dispatch((h) => h.onDelete?.(obj));
    } else {
      const old = this.store.upsert(obj);
      if (old) this.dispatch((h) => h.onUpdate?.(old, obj));
      else this.dispatch((h) => h.onAdd?.(obj, false));
    }
    if (rv) this.lastRv = rv;
  }

  /** Makes the cache equal to a fresh list, telling handlers the difference. */
  private replace(items: T[], rv: string): void {
    const seen = new Set<string>();
    const initial = !this.synced;
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.upsert(obj);
      if (old) this.dispatch((h) => h.onUpdate?.(old, obj));
      else this.dispatch((h) => h.onAdd?.(obj, initial));
    }
    for (const key of this.store.listKeys()) {
      if (seen.has(key)) continue;
      const old = this.store.deleteKey(key);
      if (old) this.dispatch((h) => h.onDelete?.(new DeletedFinalStateUnknown(key, old)));
    }
    this.lastRv = rv;
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of this.store.list()) this.dispatch((h) => h.onUpdate?.(obj, obj));
  }

  private dispatch(fn: (h: EventHandler<T>) => void): void {
    for (const h of this.handlers) this.safely(() => fn(h));
  }

  /** A throwing handler must not stop the informer or the other handlers. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'event handler threw');
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.runtime.setTimeout(() => {
        this.sleeper = undefined;
        resolve();
      }, ms);
      this.sleeper = { timer, resolve };
    });
  }

  private wakeSleeper(): void {
    const s = this.sleeper;
    this.sleeper = undefined;
    if (s) {
      s.timer.cancel();
      s.resolve();
    }
  }
}

/** A watch ended with an ERROR event other than 410. */
export class WatchErrorEvent extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'WatchErrorEvent';
  }
}

export interface WaitForSyncOptions {
  runtime: Runtime;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** True once every informer has synced; false on timeout or abort (like client-go's WaitForCacheSync). */
export async function waitForCacheSync(
  informers: readonly { whenSynced(): Promise<void> }[],
  opts: WaitForSyncOptions,
): Promise<boolean> {
  let timer: TimerHandle | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<false>((resolve) => {
    if (opts.timeoutMs !== undefined) timer = opts.runtime.setTimeout(() => resolve(false), opts.timeoutMs);
    if (opts.signal) {
      if (opts.signal.aborted) resolve(false);
      onAbort = () => resolve(false);
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([Promise.all(informers.map((i) => i.whenSynced())).then(() => true as const), giveUp]);
  } finally {
    timer?.cancel();
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }
}
