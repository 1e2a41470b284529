// An in-memory API for unit tests of this package and of controllers: one object store with a
// global resourceVersion, watch fan-out with replay from a resourceVersion, 410 Expired once the
// history a watcher needs is gone, Conflict on a stale resourceVersion, finalizers, the status
// subresource and pods/binding. Test hooks drop, expire or break watches and intercept calls.
import {
  admitPod,
  alreadyExistsStatus,
  apiVersionOf,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type Binding,
  badRequestStatus,
  compileFieldSelector,
  conflictStatus,
  defaultObject,
  findResource,
  formatTime,
  invalidStatusFor,
  type KubeObject,
  type Namespace,
  notFoundStatus,
  type PatchType,
  type Pod,
  parseLabelSelector,
  prepareForCreate,
  qualifiedResource,
  type ResourceDef,
  tooOldResourceVersionStatus,
  validateObject,
  validateObjectUpdate,
} from '@kemu/api';
import { type Clock, systemRuntime } from '@kemu/runtime';
import { ApiError, failureStatus } from './errors.js';
import type {
  ApiClient,
  DeleteOptions,
  DeleteResult,
  GetOptions,
  ListOptions,
  ListResult,
  PatchOptions,
  ResourceClient,
  UpdateOptions,
  WatchOptions,
  WatchStream,
} from './interfaces.js';
import { WatchChannel } from './watch-channel.js';

export type FakeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete' | 'bind';

export interface FakeCall {
  verb: FakeVerb;
  /** Qualified resource, e.g. `pods`, `leases.coordination.k8s.io`. */
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** Runs before every call; throw to fail it, await to delay it (e.g. on the injected timers). */
export type FakeInterceptor = (call: FakeCall) => void | Promise<void>;

export interface FakeApiOptions {
  /** Stamps creationTimestamp/deletionTimestamp (default: the system clock). */
  clock?: Clock;
  /** Change events kept for watch replay; older ones are compacted (watching from before → 410). */
  historyLimit?: number;
  /**
   * Default, admit (pods), prepare and validate objects like the apiserver (with @kemu/api's
   * functions), so controllers see defaulted objects and 422 Invalid for bad ones. Off by default:
   * many unit tests write partial objects on purpose.
   */
  defaultAndValidate?: boolean;
}

interface HistoryEntry {
  rv: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  prev: KubeObject | undefined;
}

interface Watcher {
  resource: string;
  channel: WatchChannel<KubeObject>;
  matches: (obj: KubeObject) => boolean;
  bookmarks: boolean;
}

const clone = <T>(v: T): T => structuredClone(v);

export class FakeApi implements ApiClient {
  private readonly clock: Clock;
  private readonly historyLimit: number;
  private readonly machinery: boolean;
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private history: HistoryEntry[] = [];
  private compactedRv = 0;
  private rv = 0;
  private uidSeq = 0;
  private nameSeq = 0;
  private readonly watchers = new Set<Watcher>();
  private interceptor: FakeInterceptor | undefined;
  /** Every call made, in order (for assertions). */
  readonly calls: FakeCall[] = [];

  constructor(opts: FakeApiOptions = {}) {
    this.clock = opts.clock ?? systemRuntime;
    this.historyLimit = opts.historyLimit ?? 1000;
    this.machinery = opts.defaultAndValidate ?? false;
  }

  /** The apiserver's create path (defaults, pod admission, strategy, validation) when enabled. */
  private admitCreate(obj: KubeObject): KubeObject {
    if (!this.machinery) return obj;
    return this.guard(() => {
      let o = defaultObject(obj);
      if (o.kind === 'Pod' && o.apiVersion === 'v1') o = admitPod(o as Pod);
      o = prepareForCreate(o);
      const invalid = invalidStatusFor(o, validateObject(o));
      if (invalid) throw new ApiError(invalid);
      return o;
    });
  }

  private admitUpdate(obj: KubeObject, old: KubeObject): KubeObject {
    if (!this.machinery) return obj;
    return this.guard(() => {
      const o = defaultObject(obj);
      const invalid = invalidStatusFor(o, validateObjectUpdate(o, old));
      if (invalid) throw new ApiError(invalid);
      return o;
    });
  }

  /** Malformed objects (wrong JSON types) are a 400, as on the apiserver. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(badRequestStatus(err instanceof Error ? err.message : String(err)));
    }
  }

  resource<T extends KubeObject = KubeObject>(resource: string, opts: { namespace?: string } = {}): ResourceClient<T> {
    const def = findResource(resource);
    if (!def) throw new ApiError(badRequestStatus(`the server doesn't have a resource type "${resource}"`));
    return new FakeResourceClient<T>(this, def, def.namespaced ? opts.namespace : undefined);
  }

  /** Installs (or with undefined removes) the call interceptor. */
  intercept(fn: FakeInterceptor | undefined): void {
    this.interceptor = fn;
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Open watches. */
  get watchCount(): number {
    return this.watchers.size;
  }

  /** Forgets change history up to `upTo` (default: all of it); watches from before then get 410. */
  compact(upTo = this.rv): void {
    this.history = this.history.filter((e) => e.rv > upTo);
    this.compactedRv = Math.max(this.compactedRv, upTo);
  }

  /** Every open watch receives an ERROR 410 Expired and ends (as when the watch cache drops a slow watcher). */
  expireWatches(): void {
    for (const w of [...this.watchers]) {
      w.channel.push({ type: 'ERROR', object: tooOldResourceVersionStatus(this.rv, this.compactedRv + 1) });
      this.closeWatcher(w);
    }
  }

  /** Every open watch ends normally (as on the apiserver's watch timeout). */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.closeWatcher(w);
  }

  /** Every open watch fails as if the connection broke (the iterator throws ServiceUnavailable). */
  breakWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.channel.fail(new ApiError(failureStatus(503, 'ServiceUnavailable', 'connection to the apiserver lost')));
    }
  }

  /** Sends a BOOKMARK at the current resourceVersion to watches that allowed them. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) w.channel.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv) } } });
    }
  }

  /** The stored objects of a resource, sorted by key (a copy). */
  objects<T extends KubeObject = KubeObject>(resource: string): T[] {
    const store = this.storeOf(this.defOf(resource));
    return [...store.keys()].sort().map((k) => clone(store.get(k)) as T);
  }

  // ---- internals used by FakeResourceClient ----

  /** @internal */
  async gate(call: FakeCall): Promise<void> {
    this.calls.push(call);
    if (this.interceptor) await this.interceptor(call);
  }

  private defOf(resource: string): ResourceDef {
    const def = findResource(resource);
    if (!def) throw new ApiError(badRequestStatus(`the server doesn't have a resource type "${resource}"`));
    return def;
  }

  private storeOf(def: ResourceDef): Map<string, KubeObject> {
    const id = qualifiedResource(def);
    let s = this.stores.get(id);
    if (!s) {
      s = new Map();
      this.stores.set(id, s);
    }
    return s;
  }

  private closeWatcher(w: Watcher): void {
    this.watchers.delete(w);
    w.channel.end();
  }

  private record(def: ResourceDef, type: HistoryEntry['type'], object: KubeObject, prev: KubeObject | undefined): void {
    const entry: HistoryEntry = { rv: this.rv, resource: qualifiedResource(def), type, object: clone(object), prev };
    this.history.push(entry);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      const last = dropped[dropped.length - 1];
      if (last) this.compactedRv = Math.max(this.compactedRv, last.rv);
    }
    for (const w of this.watchers) this.deliver(w, entry);
  }

  private deliver(w: Watcher, e: HistoryEntry): void {
    if (w.resource !== e.resource) return;
    const now = w.matches(e.object);
    const before = e.prev !== undefined && w.matches(e.prev);
    if (e.type === 'MODIFIED') {
      if (now && before) w.channel.push({ type: 'MODIFIED', object: clone(e.object) });
      else if (now) w.channel.push({ type: 'ADDED', object: clone(e.object) });
      else if (before) w.channel.push({ type: 'DELETED', object: clone(e.object) });
    } else if (now) {
      w.channel.push({ type: e.type, object: clone(e.object) });
    }
  }

  private matcher(def: ResourceDef, ns: string | undefined, opts: ListOptions): (obj: KubeObject) => boolean {
    try {
      const labels = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
      const fields = opts.fieldSelector ? compileFieldSelector(def.resource, opts.fieldSelector) : undefined;
      return (obj) =>
        (ns === undefined || obj.metadata.namespace === ns) &&
        (labels === undefined || labels.matches(obj.metadata.labels)) &&
        (fields === undefined || fields.matches(obj));
    } catch (err) {
      throw new ApiError(badRequestStatus(err instanceof Error ? err.message : String(err)));
    }
  }

  /** @internal */
  list(def: ResourceDef, ns: string | undefined, opts: ListOptions): ListResult<KubeObject> {
    const match = this.matcher(def, ns, opts);
    let keys = [...this.storeOf(def).keys()].sort();
    if (opts.continue) {
      const [rvText, after] = splitContinue(opts.continue);
      if (rvText < this.compactedRv) {
        throw new ApiError(failureStatus(410, 'Expired', 'The provided continue parameter is too old'));
      }
      keys = keys.filter((k) => k > after);
    }
    const items: KubeObject[] = [];
    let last: string | undefined;
    let remaining = 0;
    for (const k of keys) {
      const obj = this.storeOf(def).get(k);
      if (!obj || !match(obj)) continue;
      if (opts.limit !== undefined && opts.limit > 0 && items.length >= opts.limit) {
        remaining++;
        continue;
      }
      items.push(clone(obj));
      last = k;
    }
    const out: ListResult<KubeObject> = { items, resourceVersion: String(this.rv) };
    if (remaining > 0 && last !== undefined) {
      out.continue = `${this.rv}:${last}`;
      out.remainingItemCount = remaining;
    }
    return out;
  }

  /** @internal */
  watch(def: ResourceDef, ns: string | undefined, opts: WatchOptions, channel: WatchChannel<KubeObject>): void {
    const w: Watcher = {
      resource: qualifiedResource(def),
      channel,
      matches: this.matcher(def, ns, opts),
      bookmarks: opts.allowBookmarks === true,
    };
    const from = opts.resourceVersion;
    if (from === undefined || from === '' || from === '0') {
      // "Get state and start at most recent": synthetic ADDED for what exists now.
      for (const k of [...this.storeOf(def).keys()].sort()) {
        const obj = this.storeOf(def).get(k);
        if (obj && w.matches(obj)) channel.push({ type: 'ADDED', object: clone(obj) });
      }
    } else {
      const rv = Number(from);
      if (!Number.isInteger(rv) || rv < 0) throw new ApiError(badRequestStatus(`invalid resourceVersion "${from}"`));
      if (rv < this.compactedRv) {
        channel.push({ type: 'ERROR', object: tooOldResourceVersionStatus(rv, this.compactedRv + 1) });
        channel.end();
        return;
      }
      for (const e of this.history) if (e.rv > rv) this.deliver(w, e);
    }
    this.watchers.add(w);
    channel.setCancel(() => this.watchers.delete(w));
  }

  /** @internal */
  get(def: ResourceDef, ns: string | undefined, name: string): KubeObject {
    const obj = this.storeOf(def).get(keyOf(def, ns, name));
    if (!obj) throw new ApiError(notFoundStatus(def, name));
    return clone(obj);
  }

  /** @internal */
  create(def: ResourceDef, ns: string | undefined, input: KubeObject): KubeObject {
    const obj = clone(input);
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    const meta = obj.metadata;
    if (!meta.name && meta.generateName)
      meta.name = `${meta.generateName}${(++this.nameSeq).toString(36).padStart(5, '0')}`;
    if (!meta.name) throw new ApiError(invalidName(def));
    if (def.namespaced) {
      if (!ns)
        throw new ApiError(
          badRequestStatus('the namespace of the provided object does not match the namespace sent on the request'),
        );
      meta.namespace = ns;
    } else delete meta.namespace;
    const store = this.storeOf(def);
    const key = keyOf(def, ns, meta.name);
    if (store.has(key)) throw new ApiError(alreadyExistsStatus(def, meta.name));
    if (meta.resourceVersion)
      throw new ApiError(badRequestStatus('resourceVersion should not be set on objects to be created'));
    const stored = this.admitCreate(obj);
    const m = stored.metadata;
    m.uid = `uid-${++this.uidSeq}`;
    m.creationTimestamp = formatTime(this.clock.now());
    m.generation = 1;
    delete m.deletionTimestamp;
    m.resourceVersion = String(++this.rv);
    store.set(key, stored);
    this.record(def, 'ADDED', stored, undefined);
    return clone(stored);
  }

  /** @internal The shared write path of update, updateStatus, patch and bind. */
  write(def: ResourceDef, ns: string | undefined, input: KubeObject, mode: 'main' | 'status'): KubeObject {
    const name = input.metadata.name ?? '';
    if (!name) throw new ApiError(invalidName(def));
    const store = this.storeOf(def);
    const key = keyOf(def, ns, name);
    const old = store.get(key);
    if (!old) throw new ApiError(notFoundStatus(def, name));
    const wantRv = input.metadata.resourceVersion;
    if (wantRv !== undefined && wantRv !== '' && wantRv !== old.metadata.resourceVersion) {
      throw new ApiError(conflictStatus(def, name));
    }
    const hasStatus = def.subresources.some((s) => s.name === 'status');
    let obj: KubeObject;
    if (mode === 'status') {
      obj = { ...clone(old), status: clone((input as { status?: unknown }).status) } as KubeObject;
    } else {
      obj = clone(input);
      obj.apiVersion = old.apiVersion;
      obj.kind = old.kind;
      // System fields are the server's, not the writer's.
      obj.metadata = {
        ...obj.metadata,
        namespace: old.metadata.namespace,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
        generation: old.metadata.generation,
      };
      if (old.metadata.namespace === undefined) delete obj.metadata.namespace;
      if (old.metadata.deletionTimestamp !== undefined) obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      else delete obj.metadata.deletionTimestamp;
      if (hasStatus) {
        const oldStatus = (old as { status?: unknown }).status;
        if (oldStatus === undefined) delete (obj as { status?: unknown }).status;
        else (obj as { status?: unknown }).status = clone(oldStatus);
      }
      obj = this.admitUpdate(obj, old);
      if (specOf(obj) !== specOf(old)) obj.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    if (
      JSON.stringify(obj) ===
      JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: obj.metadata.resourceVersion } })
    ) {
      // A no-op write does not bump the resourceVersion (like the apiserver).
      return clone(old);
    }
    this.rv++;
    if (
      obj.metadata.deletionTimestamp !== undefined &&
      (obj.metadata.finalizers ?? []).length === 0 &&
      namespaceFinalizers(def, obj).length === 0
    ) {
      obj.metadata.resourceVersion = String(this.rv);
      store.delete(key);
      this.record(def, 'DELETED', obj, clone(old));
      return clone(obj);
    }
    obj.metadata.resourceVersion = String(this.rv);
    store.set(key, obj);
    this.record(def, 'MODIFIED', obj, clone(old));
    return clone(obj);
  }

  /** @internal */
  patch(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    sub: string | undefined,
  ): KubeObject {
    const current = this.get(def, ns, name);
    let patched: unknown;
    try {
      if (type === 'json') patched = applyJsonPatch(current, patch);
      else if (type === 'strategic') patched = applyStrategicMergePatch(current, patch);
      else patched = applyMergePatch(current, patch);
    } catch (err) {
      throw new ApiError(badRequestStatus(err instanceof Error ? err.message : String(err)));
    }
    const obj = patched as KubeObject;
    obj.metadata = { ...obj.metadata, name, resourceVersion: current.metadata.resourceVersion };
    return this.write(def, ns, obj, sub === 'status' ? 'status' : 'main');
  }

  /** @internal */
  delete(def: ResourceDef, ns: string | undefined, name: string, opts: DeleteOptions): DeleteResult<KubeObject> {
    const store = this.storeOf(def);
    const key = keyOf(def, ns, name);
    const old = store.get(key);
    if (!old) throw new ApiError(notFoundStatus(def, name));
    const pre = opts.preconditions;
    if (pre?.uid !== undefined && pre.uid !== old.metadata.uid) {
      throw new ApiError(
        conflictStatus(
          def,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid ?? ''}`,
        ),
      );
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw new ApiError(
        conflictStatus(
          def,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ''}`,
        ),
      );
    }
    // propagationPolicy as the apiserver applies it: a finalizer the garbage collector acts on.
    const policyFinalizer =
      opts.propagationPolicy === 'Foreground'
        ? 'foregroundDeletion'
        : opts.propagationPolicy === 'Orphan'
          ? 'orphan'
          : undefined;
    const finalizers = [...(old.metadata.finalizers ?? [])];
    if (policyFinalizer !== undefined && !finalizers.includes(policyFinalizer)) finalizers.push(policyFinalizer);
    if (finalizers.length > 0 || namespaceFinalizers(def, old).length > 0) {
      if (
        old.metadata.deletionTimestamp !== undefined &&
        finalizers.length === (old.metadata.finalizers ?? []).length
      ) {
        return { deleted: false, object: clone(old) };
      }
      const obj = clone(old);
      if (finalizers.length > 0) obj.metadata.finalizers = finalizers;
      obj.metadata.deletionTimestamp ??= formatTime(this.clock.now());
      obj.metadata.deletionGracePeriodSeconds = 0;
      // A namespace with spec.finalizers waits in phase Terminating for the namespace controller.
      if (def.resource === 'namespaces')
        (obj as Namespace).status = { ...(obj as Namespace).status, phase: 'Terminating' };
      obj.metadata.resourceVersion = String(++this.rv);
      store.set(key, obj);
      this.record(def, 'MODIFIED', obj, clone(old));
      return { deleted: false, object: clone(obj) };
    }
    const obj = clone(old);
    obj.metadata.resourceVersion = String(++this.rv);
    store.delete(key);
    this.record(def, 'DELETED', obj, clone(old));
    return { deleted: true };
  }

  /** @internal */
  bind(ns: string | undefined, binding: Binding): void {
    const def = this.defOf('pods');
    const name = binding.metadata.name ?? '';
    const pod = this.get(def, ns, name) as KubeObject & { spec?: { nodeName?: string } };
    const node = binding.target?.name ?? '';
    if (!node) throw new ApiError(badRequestStatus('binding target name is required'));
    if (pod.spec?.nodeName) {
      throw new ApiError(conflictStatus(def, name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`));
    }
    pod.spec = { ...pod.spec, nodeName: node };
    // Binding is a server-side write of spec.nodeName; it bypasses the generation bump.
    const store = this.storeOf(def);
    const old = store.get(keyOf(def, ns, name));
    pod.metadata.resourceVersion = String(++this.rv);
    store.set(keyOf(def, ns, name), pod);
    this.record(def, 'MODIFIED', pod, old ? clone(old) : undefined);
  }
}

function keyOf(def: ResourceDef, ns: string | undefined, name: string): string {
  return def.namespaced ? `${ns ?? ''}/${name}` : name;
}

function splitContinue(token: string): [number, string] {
  const i = token.indexOf(':');
  return [Number(token.slice(0, i)), token.slice(i + 1)];
}

function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = obj as KubeObject & { status?: unknown };
  return JSON.stringify(rest);
}

function invalidName(def: ResourceDef) {
  return {
    ...failureStatus(
      422,
      'Invalid',
      `${def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
    ),
    details: {
      kind: def.kind,
      causes: [
        {
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
          field: 'metadata.name',
        },
      ],
    },
  };
}

class FakeResourceClient<T extends KubeObject> implements ResourceClient<T> {
  readonly resource: string;

  constructor(
    private readonly api: FakeApi,
    private readonly def: ResourceDef,
    readonly namespace: string | undefined,
  ) {
    this.resource = qualifiedResource(def);
  }

  private ns(explicit: string | undefined): string | undefined {
    return this.def.namespaced ? (explicit ?? this.namespace) : undefined;
  }

  private call(verb: FakeVerb, ns: string | undefined, name: string | undefined): Promise<void> {
    return this.api.gate({ verb, resource: this.resource, namespace: ns, name });
  }

  async list(opts: ListOptions = {}): Promise<ListResult<T>> {
    const ns = this.ns(opts.namespace);
    await this.call('list', ns, undefined);
    return this.api.list(this.def, ns, opts) as ListResult<T>;
  }

  watch(opts: WatchOptions = {}): WatchStream<T> {
    const ns = this.ns(opts.namespace);
    const channel = new WatchChannel<KubeObject>();
    this.call('watch', ns, undefined).then(
      () => {
        if (channel.closed) return;
        try {
          this.api.watch(this.def, ns, opts, channel);
        } catch (err) {
          channel.fail(err instanceof Error ? err : new Error(String(err)));
        }
      },
      (err: unknown) => channel.fail(err instanceof Error ? err : new Error(String(err))),
    );
    return channel as unknown as WatchStream<T>;
  }

  async get(name: string, opts: GetOptions = {}): Promise<T> {
    const ns = this.ns(opts.namespace);
    await this.call('get', ns, name);
    return this.api.get(this.def, ns, name) as T;
  }

  async create(obj: T): Promise<T> {
    const ns = this.ns(obj.metadata.namespace);
    await this.call('create', ns, obj.metadata.name);
    return this.api.create(this.def, ns, obj) as T;
  }

  async update(obj: T, opts: UpdateOptions = {}): Promise<T> {
    const ns = this.ns(obj.metadata.namespace);
    await this.call('update', ns, obj.metadata.name);
    if (opts.subresource === 'finalize') {
      if (this.def.resource !== 'namespaces') {
        throw new ApiError(badRequestStatus(`the finalize subresource is only served for namespaces`));
      }
      // namespaces/finalize writes only spec.finalizers (the namespace registry's finalize strategy).
      const current = this.api.get(this.def, ns, obj.metadata.name ?? '') as Namespace;
      const fin = (obj as unknown as Namespace).spec?.finalizers ?? [];
      const next = { ...current, spec: { ...current.spec, finalizers: [...fin] } };
      if (obj.metadata.resourceVersion !== undefined) next.metadata.resourceVersion = obj.metadata.resourceVersion;
      return this.api.write(this.def, ns, next, 'main') as T;
    }
    return this.api.write(this.def, ns, obj, 'main') as T;
  }

  async updateStatus(obj: T): Promise<T> {
    const ns = this.ns(obj.metadata.namespace);
    await this.call('updateStatus', ns, obj.metadata.name);
    return this.api.write(this.def, ns, obj, 'status') as T;
  }

  async patch(name: string, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<T> {
    const ns = this.ns(opts.namespace);
    await this.call('patch', ns, name);
    return this.api.patch(this.def, ns, name, type, patch, opts.subresource) as T;
  }

  async delete(name: string, opts: DeleteOptions = {}): Promise<DeleteResult<T>> {
    const ns = this.ns(opts.namespace);
    await this.call('delete', ns, name);
    return this.api.delete(this.def, ns, name, opts) as DeleteResult<T>;
  }

  async bind(binding: Binding): Promise<void> {
    if (this.def.resource !== 'pods' || this.def.group !== '') {
      throw new ApiError(badRequestStatus(`binding is only supported on pods, not ${this.resource}`));
    }
    const ns = this.ns(binding.metadata.namespace);
    await this.call('bind', ns, binding.metadata.name);
    this.api.bind(ns, binding);
  }
}

/** `spec.finalizers` of a namespace (the `kubernetes` finalizer the namespace controller removes); [] otherwise. */
function namespaceFinalizers(def: ResourceDef, obj: KubeObject): string[] {
  return def.resource === 'namespaces' ? ((obj as Namespace).spec?.finalizers ?? []) : [];
}
