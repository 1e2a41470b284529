// The small interfaces everything in this package is written against. Both the wire-backed client
// and the in-memory FakeApi implement them, so informers, controllers and leader election never
// know which one they talk to.
import type { Binding, KubeObject, PatchType, Status } from '@kemu/api';

export interface ListOptions {
  /** Overrides the client's namespace; absent on a cluster-wide client = all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /** Absent: a consistent (quorum) read; `'0'`: any cached state will do. */
  resourceVersion?: string;
}

export interface WatchOptions extends Omit<ListOptions, 'limit' | 'continue'> {
  /** Events strictly after this resourceVersion are delivered. */
  resourceVersion?: string;
  allowBookmarks?: boolean;
}

export interface ListResult<T> {
  items: T[];
  /** The collection's resourceVersion: a watch from it misses nothing and repeats nothing. */
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** A BOOKMARK carries only `metadata.resourceVersion`; an ERROR carries the Status that ended the watch. */
export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; object: KubeObject }
  | { type: 'ERROR'; object: Status };

/**
 * A cancellable stream of watch events. Iteration ends when the server closes the watch normally
 * (the caller resumes from its last resourceVersion) or after an ERROR event; a broken transport
 * makes the iterator throw an ApiError (ServiceUnavailable).
 */
export interface WatchStream<T> extends AsyncIterable<WatchEvent<T>> {
  cancel(): void;
  readonly closed: boolean;
}

export interface ListWatcher<T> {
  list(opts?: ListOptions): Promise<ListResult<T>>;
  watch(opts?: WatchOptions): WatchStream<T>;
}

export interface GetOptions {
  namespace?: string;
}

export interface WriteOptions {
  fieldManager?: string;
  /** `Strict` rejects unknown fields. */
  fieldValidation?: string;
}

export interface UpdateOptions extends WriteOptions {
  /** A subresource written with PUT other than `status` (use updateStatus): `finalize` on namespaces. */
  subresource?: 'finalize';
}

export interface PatchOptions extends WriteOptions {
  namespace?: string;
  subresource?: string;
  /** Server-side apply only. */
  force?: boolean;
}

export interface DeleteOptions {
  namespace?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** A delete either removed the object or marked it (finalizers, graceful pod deletion). */
export type DeleteResult<T> = { deleted: true; status?: Status } | { deleted: false; object: T };

/** Everything one component can do to one resource (namespaced or not), like a client-go typed client. */
export interface ResourceClient<T extends KubeObject = KubeObject> extends ListWatcher<T> {
  /** Plural resource, e.g. `pods`, `deployments.apps`, `leases.coordination.k8s.io`. */
  readonly resource: string;
  /** The namespace calls default to (undefined: cluster-scoped resource or all namespaces). */
  readonly namespace: string | undefined;
  get(name: string, opts?: GetOptions): Promise<T>;
  /** The namespace is the object's, else the client's. */
  create(obj: T, opts?: WriteOptions): Promise<T>;
  /** Compare-and-swap on `metadata.resourceVersion` when it is set (Conflict if stale). */
  update(obj: T, opts?: UpdateOptions): Promise<T>;
  /** Writes only `.status` (the status subresource). */
  updateStatus(obj: T, opts?: WriteOptions): Promise<T>;
  patch(name: string, type: PatchType, patch: unknown, opts?: PatchOptions): Promise<T>;
  delete(name: string, opts?: DeleteOptions): Promise<DeleteResult<T>>;
  /** pods/binding: assigns a pod to `binding.target.name`. */
  bind(binding: Binding, opts?: WriteOptions): Promise<void>;
}

/** Hands out ResourceClients; implemented by `WireApiClient` and `FakeApi`. */
export interface ApiClient {
  resource<T extends KubeObject = KubeObject>(resource: string, opts?: { namespace?: string }): ResourceClient<T>;
}

/** The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  const name = obj.metadata.name ?? '';
  return ns === undefined || ns === '' ? name : `${ns}/${name}`;
}

/** Splits a cache key back into namespace and name. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
