// The REST semantics shared by the HTTP API (kubectl) and the internal wire API (components):
// create/get/list/update/patch/delete/watch plus the status, scale, binding and finalize
// subresources, with defaulting, validation, admission, optimistic concurrency and graceful
// deletion. Every failure is an ApiStatusError carrying the Status real Kubernetes returns.
import { randomUUID } from 'node:crypto';
import {
  ApplyConflictError,
  admitPod,
  apiVersionOf,
  applyJsonPatch,
  applyMergePatch,
  applyScale,
  applyStrategicMergePatch,
  badRequestStatus,
  checkObjectShape,
  compileFieldSelector,
  conflictStatus,
  defaultFieldManager,
  defaultObject,
  fieldErr,
  forbiddenStatus,
  formatTime,
  internalErrorStatus,
  invalidStatus,
  invalidStatusFor,
  type KubeObject,
  type ManagedFieldsEntry,
  type ManagerRef,
  managedFieldsAfterUpdate,
  managedFieldsForApplyCreate,
  methodNotSupportedStatus,
  notFoundStatus,
  type PatchType,
  type Pod,
  type PodAdmissionOptions,
  parseLabelSelector,
  prepareForCreate,
  prepareForUpdate,
  type ResourceDef,
  resourceFor,
  type Scale,
  type Status,
  scaleOf,
  serverSideApply,
  serviceUnavailableStatus,
  storageKey,
  storagePrefix,
  successStatus,
  unsupportedMediaTypeStatus,
  validateObject,
  validateObjectUpdate,
} from '@kemu/api';
import type { Logger, Random, Runtime, TimerHandle } from '@kemu/runtime';
import { ApiStatusError } from './errors.js';
import { ServiceIpRange } from './service-ips.js';
import type { ListPage, ObjectStore } from './storage/store.js';
import type { WatchCache, WatchHandle, WatchOutput } from './storage/watch-cache.js';
import { unknownFields } from './strict-fields.js';

export interface Scope {
  def: ResourceDef;
  /** Required for namespaced resources except cluster-wide list/watch. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface WriteOptions {
  /** `Strict` rejects unknown fields (400); `Ignore`/`Warn`/absent accept them. */
  fieldValidation?: string;
  fieldManager?: string;
  /** Names the manager when `fieldManager` is absent (its first word, as upstream). */
  userAgent?: string;
  /** Server-side apply: take over fields other managers own with other values (else 409). */
  force?: boolean;
  /** Collects warnings for the client (HTTP `Warning: 299` headers), e.g. unknown fields under `Warn`. */
  warnings?: string[];
}

export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /** Absent: consistent read from etcd; '0' or a number: may be served from the watch cache. */
  resourceVersion?: string;
}

export interface WatchParams extends ListParams {
  allowWatchBookmarks?: boolean;
}

export interface DeleteParams {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type DeleteResult = { kind: 'pending'; object: KubeObject } | { kind: 'deleted'; status: Status };

export interface RestOptions {
  store: ObjectStore;
  /** One watch cache per resource plural. */
  caches: Map<string, WatchCache>;
  clock: Runtime;
  random: Random;
  log: Logger;
  /** Where Service ClusterIPs come from (default 10.96.0.0/16). */
  serviceIpRange?: ServiceIpRange;
  /** DefaultTolerationSeconds admission (`--default-not-ready-toleration-seconds` / `--default-unreachable-toleration-seconds`). */
  podAdmission?: PodAdmissionOptions;
}

/** NamespaceLifecycle: these namespaces cannot be deleted. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_CONFLICT_RETRIES = 8;
const CACHE_SYNC_TIMEOUT_MS = 10000;
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

export class RestHandlers {
  private readonly store: ObjectStore;
  private readonly caches: Map<string, WatchCache>;
  private readonly clock: Runtime;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly serviceIps: ServiceIpRange;
  private readonly podAdmission: PodAdmissionOptions;
  /**
   * Addresses and node ports this process handed out: the watch cache may not show a Service
   * created a moment ago, so concurrent creates here never get the same one.
   */
  private readonly allocatedIps = new Set<string>();
  private readonly allocatedNodePorts = new Set<number>();

  constructor(opts: RestOptions) {
    this.store = opts.store;
    this.caches = opts.caches;
    this.clock = opts.clock;
    this.random = opts.random;
    this.log = opts.log;
    this.serviceIps = opts.serviceIpRange ?? new ServiceIpRange('10.96.0.0/16');
    this.podAdmission = opts.podAdmission ?? {};
  }

  // ---- reads ------------------------------------------------------------------------------------

  async get(scope: Scope): Promise<KubeObject> {
    const name = requireName(scope);
    const obj = await this.store.mustGet(this.key(scope, name), scope.def, name);
    if (scope.subresource === 'scale') return scaleOf(obj) as KubeObject;
    return withTypeMeta(scope.def, obj);
  }

  async list(scope: Scope, params: ListParams): Promise<ListPage> {
    const match = this.matcher(scope.def, params);
    const prefix = storagePrefix(scope.def, scope.namespace);
    const rv = params.resourceVersion;
    if (rv !== undefined && rv !== '' && !params.continue) {
      const cache = this.cache(scope.def);
      const wanted = parseRv(rv);
      await this.synced(scope.def, cache);
      if (wanted > 0) await cache.waitForRevision(wanted, 3000);
      const { items, revision } = cache.list(prefix, match);
      return { items: items.map((o) => withTypeMeta(scope.def, o)), revision };
    }
    const page = await this.store.list(prefix, {
      ...(params.limit !== undefined ? { limit: params.limit } : {}),
      ...(params.continue ? { continue: params.continue } : {}),
      filter: match,
    });
    page.items = page.items.map((o) => withTypeMeta(scope.def, o));
    return page;
  }

  /** A watch served from the watch cache. `emit` is called synchronously per event. */
  async watch(scope: Scope, params: WatchParams, emit: (out: WatchOutput) => void): Promise<WatchHandle> {
    const match = this.matcher(scope.def, params);
    const cache = this.cache(scope.def);
    await this.synced(scope.def, cache);
    const rv = params.resourceVersion;
    const fromRv = rv === undefined || rv === '' || rv === '0' ? undefined : parseRv(rv);
    let keyPrefix = storagePrefix(scope.def, scope.namespace);
    if (scope.name !== undefined) keyPrefix = this.key(scope, scope.name);
    return cache.watch(
      {
        ...(fromRv !== undefined ? { fromRv } : {}),
        keyPrefix,
        match: scope.name !== undefined ? (o) => o.metadata.name === scope.name && match(o) : match,
        bookmarks: params.allowWatchBookmarks === true,
      },
      emit,
    );
  }

  // ---- writes -----------------------------------------------------------------------------------

  async create(scope: Scope, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const { def } = scope;
    if (scope.subresource === 'binding' || (def.resource === 'bindings' && scope.subresource === undefined)) {
      return this.bind(scope, body);
    }
    if (scope.subresource === 'eviction' && def.resource === 'pods') return this.evict(scope, body);
    if (scope.subresource !== undefined) {
      throw new ApiStatusError(methodNotSupportedStatus(def, 'create'));
    }
    const obj = this.decodeFor(def, body, opts);
    this.checkNamespaceMatches(scope, obj);
    if (def.namespaced) obj.metadata.namespace = scope.namespace;
    else delete obj.metadata.namespace;
    if ((obj.metadata.name ?? '') === '' && (obj.metadata.generateName ?? '') !== '') {
      obj.metadata.name = `${obj.metadata.generateName}${this.randomSuffix()}`;
    }
    return this.createObject(def, obj, (created) =>
      managedFieldsAfterUpdate(undefined, created, managerOf(def, opts, 'Update'), this.clock.now()),
    );
  }

  /** Create of an already-decoded object (also the upsert path of server-side apply). */
  private async createObject(
    def: ResourceDef,
    input: KubeObject,
    fields?: (obj: KubeObject) => ManagedFieldsEntry[] | undefined,
  ): Promise<KubeObject> {
    let obj = input;
    const m = obj.metadata;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    m.uid = randomUUID();
    m.creationTimestamp = formatTime(this.clock.now());
    obj = guard(() => defaultObject(obj));
    if (def.resource === 'pods') {
      const priorityOf = await this.priorityClassOf(obj as Pod);
      obj = admitPod(obj as Pod, { ...this.podAdmission, ...priorityOf }) as KubeObject;
    }
    obj = prepareForCreate(obj);
    const invalid = invalidStatusFor(
      obj,
      guard(() => validateObject(obj)),
    );
    if (invalid) throw new ApiStatusError(invalid);
    const managed = fields?.(obj);
    if (managed) obj.metadata.managedFields = managed;
    else delete obj.metadata.managedFields;
    if (def.namespaced) await this.admitNamespace(def, obj.metadata.namespace ?? '', obj.metadata.name ?? '');
    if (def.resource === 'services') await this.allocateClusterIp(obj);
    const created = await this.store.create(
      this.key({ def, namespace: obj.metadata.namespace }, obj.metadata.name ?? ''),
      obj,
      def,
    );
    return withTypeMeta(def, created);
  }

  /** Priority admission: a pod naming a PriorityClass gets its value; an unknown class is 403 Forbidden. */
  private async priorityClassOf(pod: Pod): Promise<{ priorityOf?: (name: string) => number | undefined }> {
    const className = pod.spec?.priorityClassName;
    if (className === undefined || className === '') return {};
    const classes = resourceFor('scheduling.k8s.io', 'v1', 'priorityclasses');
    const pc = classes ? await this.store.get(storageKey(classes, undefined, className)) : undefined;
    if (!pc) {
      const pods = resourceFor('', 'v1', 'pods') as ResourceDef;
      throw new ApiStatusError(
        forbiddenStatus(pods, pod.metadata.name ?? '', `no PriorityClass with name ${className} was found`),
      );
    }
    const value = (pc as { value?: unknown }).value;
    return { priorityOf: () => (typeof value === 'number' ? value : 0) };
  }

  async update(scope: Scope, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const name = requireName(scope);
    const { def } = scope;
    if (scope.subresource === 'scale') return this.updateScale(scope, body, opts);
    if (scope.subresource !== undefined && scope.subresource !== 'status' && scope.subresource !== 'finalize') {
      throw new ApiStatusError(methodNotSupportedStatus(def, 'update'));
    }
    const obj = this.decodeFor(def, body, opts);
    this.checkNamespaceMatches(scope, obj);
    if ((obj.metadata.name ?? '') !== name) {
      throw new ApiStatusError(
        badRequestStatus(
          `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
        ),
      );
    }
    if (def.namespaced) obj.metadata.namespace = scope.namespace;
    const precondition = obj.metadata.resourceVersion;
    const ref = managerOf(def, opts, 'Update', scope.subresource);
    return this.writeWithRetry(
      scope,
      precondition !== undefined && precondition !== '',
      (current) => {
        if (precondition !== undefined && precondition !== '' && precondition !== current.metadata.resourceVersion) {
          throw new ApiStatusError(conflictStatus(def, name));
        }
        return obj;
      },
      { fields: (current, next) => managedFieldsAfterUpdate(current, next, ref, this.clock.now()) },
    );
  }

  async patch(scope: Scope, type: PatchType | undefined, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const name = requireName(scope);
    const { def } = scope;
    if (type === undefined) throw new ApiStatusError(unsupportedMediaTypeStatus());
    if (type === 'apply' && scope.subresource === undefined) return this.serverSideApply(scope, body, opts);
    if (scope.subresource === 'scale') {
      return this.patchScale(scope, type, body, opts);
    }
    if (scope.subresource !== undefined && scope.subresource !== 'status') {
      throw new ApiStatusError(methodNotSupportedStatus(def, 'patch'));
    }
    const ref = managerOf(def, opts, 'Update', scope.subresource);
    return this.writeWithRetry(
      scope,
      false,
      (current) => {
        const patched = applyPatch(type, withTypeMeta(def, current), body) as KubeObject;
        if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
          throw new ApiStatusError(badRequestStatus('the patch did not produce an object'));
        }
        patched.metadata ??= {};
        const rv = patched.metadata.resourceVersion;
        if (rv !== undefined && rv !== current.metadata.resourceVersion) {
          throw new ApiStatusError(conflictStatus(def, name));
        }
        checkUnknown(patched, opts);
        return patched;
      },
      { fields: (current, next) => managedFieldsAfterUpdate(current, next, ref, this.clock.now()) },
    );
  }

  async delete(scope: Scope, params: DeleteParams = {}): Promise<DeleteResult> {
    const name = requireName(scope);
    const { def } = scope;
    const key = this.key(scope, name);
    if (def.resource === 'namespaces' && IMMORTAL_NAMESPACES.has(name)) {
      throw new ApiStatusError(forbiddenStatus(def, name, 'this namespace may not be deleted'));
    }
    for (let attempt = 0; ; attempt++) {
      const current = await this.store.mustGet(key, def, name);
      const m = current.metadata;
      const pre = params.preconditions;
      if (pre?.uid !== undefined && pre.uid !== m.uid) {
        throw new ApiStatusError(
          conflictStatus(
            def,
            name,
            `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${m.uid ?? ''}`,
          ),
        );
      }
      if (pre?.resourceVersion !== undefined && pre.resourceVersion !== m.resourceVersion) {
        throw new ApiStatusError(
          conflictStatus(
            def,
            name,
            `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${m.resourceVersion ?? ''}`,
          ),
        );
      }
      const rv = Number(m.resourceVersion);
      const next = structuredClone(current);
      const nm = next.metadata;
      const grace = this.gracePeriod(def, current, params);
      const policy = params.propagationPolicy ?? (params.orphanDependents === true ? 'Orphan' : undefined);
      const finalizers = new Set(nm.finalizers ?? []);
      if (policy === 'Foreground') finalizers.add('foregroundDeletion');
      if (policy === 'Orphan') finalizers.add('orphan');
      const namespacePending =
        def.resource === 'namespaces' &&
        ((next as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? []).length > 0;
      const alreadyDeleting = m.deletionTimestamp !== undefined;
      if (finalizers.size === 0 && !namespacePending && grace === 0) {
        try {
          await this.store.delete(key, rv, def, name);
        } catch (err) {
          if (isConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
          throw err;
        }
        return { kind: 'deleted', status: successStatus(def, name, m.uid) };
      }
      if (alreadyDeleting) {
        // Only a shorter grace period changes a pending deletion.
        const currentGrace = m.deletionGracePeriodSeconds ?? 0;
        if (grace >= currentGrace && finalizers.size === (m.finalizers ?? []).length) {
          return { kind: 'pending', object: withTypeMeta(def, current) };
        }
      }
      nm.deletionTimestamp = formatTime(this.clock.now() + grace * 1000);
      nm.deletionGracePeriodSeconds = grace;
      if (finalizers.size > 0) nm.finalizers = [...finalizers];
      if (def.resource === 'namespaces') {
        (next as { status?: { phase?: string } }).status = {
          ...((next as { status?: object }).status ?? {}),
          phase: 'Terminating',
        };
      }
      try {
        const updated = await this.store.update(key, next, rv, def);
        return { kind: 'pending', object: withTypeMeta(def, updated) };
      } catch (err) {
        if (isConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  // ---- subresources -------------------------------------------------------------------------------

  private async bind(scope: Scope, body: unknown): Promise<KubeObject> {
    const b = body as { metadata?: { name?: string }; target?: { kind?: string; name?: string } } | null;
    const podName = scope.subresource === 'binding' ? requireName(scope) : (b?.metadata?.name ?? '');
    const pods = mustResource('', 'v1', 'pods');
    const target = b?.target?.name ?? '';
    if (target === '') {
      throw new ApiStatusError(badRequestStatus('binding target must name a node (target.name is required)'));
    }
    const podScope: Scope = {
      def: pods,
      name: podName,
      ...(scope.namespace !== undefined ? { namespace: scope.namespace } : {}),
    };
    await this.writeWithRetry(
      podScope,
      false,
      (current) => {
        const pod = structuredClone(current) as Pod;
        if (pod.metadata.deletionTimestamp !== undefined) {
          throw new ApiStatusError(conflictStatus(pods, podName, 'pod is being deleted, cannot be assigned to a host'));
        }
        if ((pod.spec.nodeName ?? '') !== '') {
          throw new ApiStatusError(
            conflictStatus(pods, podName, `pod ${podName} is already assigned to node "${pod.spec.nodeName}"`),
          );
        }
        pod.spec.nodeName = target;
        const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
        conditions.push({
          type: 'PodScheduled',
          status: 'True',
          lastTransitionTime: formatTime(this.clock.now()),
        } as never);
        pod.status = { ...(pod.status ?? {}), conditions };
        return pod;
      },
      { bypassStrategy: true },
    );
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
  }

  /** pods/eviction (kubectl drain): a delete with the eviction's options; kemu has no PodDisruptionBudgets. */
  private async evict(scope: Scope, body: unknown): Promise<KubeObject> {
    const name = requireName(scope);
    const e = body as { metadata?: { name?: string }; deleteOptions?: DeleteParams } | null | undefined;
    if (e?.metadata?.name !== undefined && e.metadata.name !== name) {
      throw new ApiStatusError(badRequestStatus(`name in URL does not match name in Eviction object`));
    }
    await this.delete({ ...scope, subresource: undefined }, e?.deleteOptions ?? {});
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
  }

  private async updateScale(scope: Scope, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    const name = requireName(scope);
    const scale = body as Scale | null;
    if (typeof scale !== 'object' || scale === null || typeof scale.spec !== 'object') {
      throw new ApiStatusError(badRequestStatus('the body must be an autoscaling/v1 Scale'));
    }
    const precondition = scale.metadata?.resourceVersion;
    const updated = await this.writeWithRetry(
      { ...scope, subresource: undefined },
      !!precondition,
      (current) => {
        if (precondition && precondition !== current.metadata.resourceVersion) {
          throw new ApiStatusError(conflictStatus(scope.def, name));
        }
        return applyScale(current, scale);
      },
      {
        fields: (current, next) =>
          managedFieldsAfterUpdate(current, next, managerOf(scope.def, opts, 'Update', 'scale'), this.clock.now()),
      },
    );
    return scaleOf(updated) as KubeObject;
  }

  private async patchScale(scope: Scope, type: PatchType, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    const updated = await this.writeWithRetry(
      { ...scope, subresource: undefined },
      false,
      (current) => {
        const patched = applyPatch(type === 'strategic' ? 'merge' : type, scaleOf(current), body) as Scale;
        return applyScale(current, patched);
      },
      {
        fields: (current, next) =>
          managedFieldsAfterUpdate(current, next, managerOf(scope.def, opts, 'Update', 'scale'), this.clock.now()),
      },
    );
    return scaleOf(updated) as KubeObject;
  }

  /**
   * Server-side apply, pragmatic: creates the object when absent, otherwise merges the applied
   * manifest into it (strategic merge for built-ins). Field ownership is not tracked.
   */
  private async serverSideApply(scope: Scope, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    const name = requireName(scope);
    const obj = this.decodeFor(scope.def, body, opts);
    this.checkNamespaceMatches(scope, obj);
    if ((obj.metadata.name ?? '') !== name) {
      throw new ApiStatusError(
        badRequestStatus(
          `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
        ),
      );
    }
    if (scope.def.namespaced) obj.metadata.namespace = scope.namespace;
    const ref = managerOf(scope.def, opts, 'Apply');
    const existing = await this.store.get(this.key(scope, name));
    if (!existing) {
      try {
        const applied = structuredClone(obj);
        const created = await this.createObject(scope.def, obj, () =>
          managedFieldsForApplyCreate(applied, ref, this.clock.now()),
        );
        return Object.assign(created, { [CREATED]: true });
      } catch (err) {
        if (!(err instanceof ApiStatusError && err.status.reason === 'AlreadyExists')) throw err;
      }
    }
    let managed: ManagedFieldsEntry[] | undefined;
    return this.writeWithRetry(
      scope,
      false,
      (current) => {
        const result = guardApply(() =>
          serverSideApply(withTypeMeta(scope.def, current), obj, ref, {
            force: opts.force === true,
            now: this.clock.now(),
          }),
        );
        managed = result.managedFields;
        return result.object;
      },
      { fields: () => managed },
    );
  }

  // ---- machinery ----------------------------------------------------------------------------------

  /**
   * Read-modify-write with compare-and-swap: `mutate` gets the stored object and returns the new one;
   * on a conflict the whole thing is retried unless the caller pinned a resourceVersion.
   */
  private async writeWithRetry(
    scope: Scope,
    pinned: boolean,
    mutate: (current: KubeObject) => KubeObject,
    opts: {
      bypassStrategy?: boolean;
      /** The new managedFields, from the stored object and the prepared new one; absent: left as they are. */
      fields?: (current: KubeObject, next: KubeObject) => ManagedFieldsEntry[] | undefined;
    } = {},
  ): Promise<KubeObject> {
    const name = requireName(scope);
    const { def } = scope;
    const key = this.key(scope, name);
    for (let attempt = 0; ; attempt++) {
      const current = await this.store.mustGet(key, def, name);
      let next = mutate(structuredClone(current));
      next = this.prepareUpdate(def, next, current, scope.subresource, opts.bypassStrategy === true);
      if (opts.fields) {
        const managed = opts.fields(current, next);
        if (managed) next.metadata.managedFields = managed;
        else delete next.metadata.managedFields;
      } else if (current.metadata.managedFields) {
        next.metadata.managedFields = current.metadata.managedFields;
      }
      const rv = Number(current.metadata.resourceVersion);
      try {
        if (this.readyToRemove(def, next)) {
          await this.store.delete(key, rv, def, name);
          return withTypeMeta(def, next);
        }
        const updated = await this.store.update(key, next, rv, def);
        return withTypeMeta(def, updated);
      } catch (err) {
        if (!pinned && isConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  private prepareUpdate(
    def: ResourceDef,
    input: KubeObject,
    current: KubeObject,
    subresource: string | undefined,
    bypassStrategy: boolean,
  ): KubeObject {
    let next = withTypeMeta(def, input);
    next.metadata.name = current.metadata.name;
    if (def.namespaced) next.metadata.namespace = current.metadata.namespace;
    if (bypassStrategy) return next;
    checkShape(next);
    next = guard(() => defaultObject(next));
    if (subresource === 'finalize') {
      const fin = (next as { spec?: { finalizers?: string[] } }).spec?.finalizers;
      next = structuredClone(current);
      (next as { spec?: { finalizers?: string[] } }).spec = { finalizers: fin ?? [] };
    } else {
      next = prepareForUpdate(next, current, { subresource: subresource === 'status' ? 'status' : '' });
    }
    // Finalizers may be removed but a deletion in progress is never undone by an update.
    if (current.metadata.deletionTimestamp !== undefined) {
      next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
      if (current.metadata.deletionGracePeriodSeconds !== undefined) {
        next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
      }
    }
    const invalid = invalidStatusFor(
      next,
      guard(() => validateObjectUpdate(next, current)),
    );
    if (invalid) throw new ApiStatusError(invalid);
    return next;
  }

  /** An object being deleted whose last finalizer is gone is removed by the write that empties it. */
  private readyToRemove(def: ResourceDef, obj: KubeObject): boolean {
    if (obj.metadata.deletionTimestamp === undefined) return false;
    if ((obj.metadata.finalizers ?? []).length > 0) return false;
    if (def.resource === 'namespaces') {
      return ((obj as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? []).length === 0;
    }
    if (def.resource === 'pods') return (obj.metadata.deletionGracePeriodSeconds ?? 0) === 0;
    return true;
  }

  private gracePeriod(def: ResourceDef, obj: KubeObject, params: DeleteParams): number {
    if (def.resource !== 'pods') return 0;
    const pod = obj as Pod;
    if ((pod.spec?.nodeName ?? '') === '') return 0;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    const g = params.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, Math.floor(g));
  }

  private decodeFor(def: ResourceDef, body: unknown, opts: WriteOptions): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiStatusError(
        badRequestStatus(
          `Object '${body === null ? 'null' : typeof body}' is not a valid ${def.kind}: expected a JSON object`,
        ),
      );
    }
    const obj = structuredClone(body) as KubeObject;
    const expected = apiVersionOf(def);
    if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
      throw new ApiStatusError(
        badRequestStatus(
          `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`,
        ),
      );
    }
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw new ApiStatusError(
        badRequestStatus(`the kind in the data (${obj.kind}) does not match the expected kind (${def.kind})`),
      );
    }
    obj.apiVersion = expected;
    obj.kind = def.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    checkShape(obj);
    checkUnknown(obj, opts);
    return obj;
  }

  private checkNamespaceMatches(scope: Scope, obj: KubeObject): void {
    const ns = obj.metadata.namespace;
    if (scope.def.namespaced && ns !== undefined && ns !== '' && ns !== scope.namespace) {
      throw new ApiStatusError(
        badRequestStatus('the namespace of the provided object does not match the namespace sent on the request'),
      );
    }
  }

  /** NamespaceLifecycle admission: the namespace must exist and not be terminating. */
  private async admitNamespace(def: ResourceDef, namespace: string, name: string): Promise<void> {
    const nsDef = mustResource('', 'v1', 'namespaces');
    const key = storageKey(nsDef, undefined, namespace);
    const ns = this.caches.get('namespaces')?.getCached(key) ?? (await this.store.get(key));
    if (!ns) throw new ApiStatusError(notFoundStatus(nsDef, namespace));
    if (
      ns.metadata.deletionTimestamp !== undefined ||
      (ns as { status?: { phase?: string } }).status?.phase === 'Terminating'
    ) {
      throw new ApiStatusError(
        forbiddenStatus(
          def,
          name,
          `unable to create new content in namespace ${namespace} because it is being terminated`,
        ),
      );
    }
  }

  /** Picks a free ClusterIP for a Service that asks for one; checks one it asks for by address. */
  private async allocateClusterIp(obj: KubeObject): Promise<void> {
    const spec = (obj as { spec?: { type?: string; clusterIP?: string; clusterIPs?: string[] } }).spec;
    if (!spec || spec.type === 'ExternalName' || spec.clusterIP === 'None') return;
    const cache = this.caches.get('services');
    const services = cache?.list('/registry/services/', () => true).items ?? [];
    const inUse = new Set<string>();
    for (const s of services) {
      const ip = (s as { spec?: { clusterIP?: string } }).spec?.clusterIP;
      if (ip) inUse.add(ip);
    }
    const name = obj.metadata.name ?? '';
    const refuse = (ip: string, why: string) =>
      new ApiStatusError(
        invalidStatus({ group: '', kind: 'Service' }, name, [
          fieldErr.invalid('spec.clusterIPs', { go: `[]string{"${ip}"}` }, `failed to allocate IP ${ip}: ${why}`),
        ]),
      );
    this.allocateNodePorts(obj, services);
    const wanted = spec.clusterIP;
    if (wanted !== undefined && wanted !== '') {
      if (!this.serviceIps.contains(wanted)) {
        throw refuse(
          wanted,
          `the provided IP (${wanted}) is not in the valid range. The range of valid IPs is ${this.serviceIps.cidr}`,
        );
      }
      if (inUse.has(wanted)) throw refuse(wanted, 'provided IP is already allocated');
      return;
    }
    // Random picks also avoid what this process handed out recently (maybe not in the cache yet).
    const ip = this.serviceIps.pick(new Set([...inUse, ...this.allocatedIps]), this.random);
    if (ip === undefined) {
      throw new ApiStatusError(internalErrorStatus(`range ${this.serviceIps.cidr} is full`));
    }
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
    this.allocatedIps.add(ip);
  }

  /** NodePort/LoadBalancer ports without a nodePort get a free one from 30000-32767, as upstream. */
  private allocateNodePorts(obj: KubeObject, services: readonly KubeObject[]): void {
    const spec = (obj as { spec?: { type?: string; ports?: { nodePort?: number }[] } }).spec;
    if (!spec || (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer')) return;
    const used = new Set<number>(this.allocatedNodePorts);
    for (const s of services) {
      for (const p of (s as { spec?: { ports?: { nodePort?: number }[] } }).spec?.ports ?? []) {
        if (p.nodePort) used.add(p.nodePort);
      }
    }
    for (const p of spec.ports ?? []) if (p.nodePort) used.add(p.nodePort);
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      for (let i = 0; i < 10000; i++) {
        const port = NODE_PORT_MIN + Math.floor(this.random.next() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
        if (!used.has(port)) {
          p.nodePort = port;
          used.add(port);
          this.allocatedNodePorts.add(port);
          break;
        }
      }
    }
  }

  private matcher(def: ResourceDef, params: ListParams): (o: KubeObject) => boolean {
    let labels: ReturnType<typeof parseLabelSelector> | undefined;
    let fields: ReturnType<typeof compileFieldSelector> | undefined;
    try {
      if (params.labelSelector) labels = parseLabelSelector(params.labelSelector);
      if (params.fieldSelector) fields = compileFieldSelector(def.resource, params.fieldSelector);
    } catch (err) {
      throw new ApiStatusError(badRequestStatus(err instanceof Error ? err.message : String(err)));
    }
    return (o) => (labels ? labels.matches(o.metadata.labels) : true) && (fields ? fields.matches(o) : true);
  }

  /** Waits for the watch cache's first list; an etcd that stays away gives 503, not a hung request. */
  private async synced(def: ResourceDef, cache: WatchCache): Promise<void> {
    if (cache.synced) return;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(false), CACHE_SYNC_TIMEOUT_MS);
    });
    const ok = await Promise.race([cache.whenSynced().then(() => true), timedOut]);
    timer?.cancel();
    if (!ok) {
      throw new ApiStatusError(
        serviceUnavailableStatus(`the watch cache for ${def.resource} is not ready: etcd has not answered yet`),
      );
    }
  }

  private cache(def: ResourceDef): WatchCache {
    const c = this.caches.get(def.resource);
    if (!c) throw new ApiStatusError(methodNotSupportedStatus(def, 'watch'));
    return c;
  }

  private key(scope: { def: ResourceDef; namespace?: string | undefined }, name: string): string {
    if (scope.def.namespaced && (scope.namespace === undefined || scope.namespace === '')) {
      throw new ApiStatusError(
        badRequestStatus('the server could not find the requested resource: a namespace is required'),
      );
    }
    return storageKey(scope.def, scope.namespace, name);
  }

  private randomSuffix(): string {
    let s = '';
    for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(this.random.next() * NAME_CHARS.length)];
    return s;
  }
}

/** Marks a server-side-apply result that created its object (HTTP answers 201). */
export const CREATED = Symbol('created');

export function wasCreated(obj: KubeObject): boolean {
  return (obj as { [CREATED]?: boolean })[CREATED] === true;
}

function applyPatch(type: PatchType, target: unknown, body: unknown): unknown {
  try {
    switch (type) {
      case 'json':
        return applyJsonPatch(target, body);
      case 'merge':
        return applyMergePatch(target, body);
      case 'strategic':
      case 'apply':
        return applyStrategicMergePatch(target, body);
    }
  } catch (err) {
    if (err instanceof ApiStatusError) throw err;
    throw new ApiStatusError(badRequestStatus(err instanceof Error ? err.message : String(err)));
  }
}

/** `Strict`: unknown fields are a 400; `Warn`: they become warnings; otherwise ignored. */
function checkUnknown(obj: KubeObject, opts: WriteOptions): void {
  if (opts.fieldValidation !== 'Strict' && opts.fieldValidation !== 'Warn') return;
  const unknown = unknownFields(obj).map((f) => `unknown field "${f}"`);
  if (unknown.length === 0) return;
  if (opts.fieldValidation === 'Warn') {
    opts.warnings?.push(...unknown);
    return;
  }
  throw new ApiStatusError(badRequestStatus(`strict decoding error: ${unknown.join(', ')}`));
}

function checkShape(obj: KubeObject): void {
  guard(() => checkObjectShape(obj));
}

/** Runs api-package code that throws typed input errors; they become 400 BadRequest. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApiStatusError) throw err;
    if (err instanceof Error && 'code' in err) throw new ApiStatusError(badRequestStatus(err.message));
    throw err;
  }
}

function isConflict(err: unknown): boolean {
  return err instanceof ApiStatusError && err.status.reason === 'Conflict';
}

function requireName(scope: Scope): string {
  if (scope.name === undefined || scope.name === '') {
    throw new ApiStatusError(badRequestStatus('resource name may not be empty'));
  }
  return scope.name;
}

function parseRv(rv: string): number {
  const n = Number(rv);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ApiStatusError(badRequestStatus(`invalid resource version: ${rv}`));
  }
  return n;
}

function mustResource(group: string, version: string, plural: string): ResourceDef {
  const def = resourceFor(group, version, plural);
  if (!def) throw new Error(`registry has no ${plural}`);
  return def;
}

export function withTypeMeta(def: ResourceDef, obj: KubeObject): KubeObject {
  return { apiVersion: apiVersionOf(def), kind: def.kind, ...obj };
}

/** Who a write is by, for managedFields: the request's fieldManager or its User-Agent's first word. */
function managerOf(
  def: ResourceDef,
  opts: WriteOptions,
  operation: 'Apply' | 'Update',
  subresource?: string,
): ManagerRef {
  return {
    manager: defaultFieldManager(opts.fieldManager, opts.userAgent),
    operation,
    apiVersion: apiVersionOf(def),
    ...(subresource === 'status' || subresource === 'scale' ? { subresource } : {}),
  };
}

/** Apply conflicts are a 409 Conflict whose causes name each field and its manager. */
function guardApply<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApplyConflictError) {
      throw new ApiStatusError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: 'Conflict',
        details: { causes: err.causes },
        code: 409,
      } as never);
    }
    throw err;
  }
}
