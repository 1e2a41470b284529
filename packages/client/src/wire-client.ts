// The ResourceClient over @kemu/wire: one request per call, one stream per watch, following the
// apiserver's wire API (methods `api.get|list|create|update|patch|delete|watch`; README "Wire
// contract"). Deliberately thin: argument shaping, result shaping and error mapping only.
import {
  type Binding,
  findResource,
  type KubeObject,
  type PatchType,
  qualifiedResource,
  type ResourceDef,
  type Status,
} from '@kemu/api';
import { ApiError, failureStatus, toApiError } from './errors.js';
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
  WatchEvent,
  WatchOptions,
  WatchStream,
  WriteOptions,
} from './interfaces.js';

/** The part of a WireClient (or WireConnection) this client needs. */
export interface WireCaller {
  request<T = unknown>(method: string, data?: unknown, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<T>;
  stream<T = unknown>(
    method: string,
    data?: unknown,
    opts?: { window?: number; signal?: AbortSignal },
  ): AsyncIterable<T> & { cancel(): void; readonly closed: boolean };
}

export interface WireApiClientOptions {
  wire: WireCaller;
  /** Per-request deadline (default: the wire's own, 30 s). */
  timeoutMs?: number;
  /** Watch stream flow-control window (default 256 events). */
  watchWindow?: number;
}

/** The watch items the apiserver sends. */
type WireWatchItem =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject }
  | { type: 'BOOKMARK'; resourceVersion: string };

export class WireApiClient implements ApiClient {
  constructor(private readonly opts: WireApiClientOptions) {}

  resource<T extends KubeObject = KubeObject>(resource: string, opts: { namespace?: string } = {}): ResourceClient<T> {
    return new WireResourceClient<T>(this.opts, resource, opts.namespace);
  }
}

export class WireResourceClient<T extends KubeObject = KubeObject> implements ResourceClient<T> {
  readonly resource: string;
  readonly namespace: string | undefined;
  private readonly def: ResourceDef;
  private readonly wire: WireCaller;

  constructor(
    private readonly opts: WireApiClientOptions,
    resource: string,
    namespace?: string,
  ) {
    const def = findResource(resource);
    if (!def)
      throw new ApiError(failureStatus(400, 'BadRequest', `the server doesn't have a resource type "${resource}"`));
    this.def = def;
    this.resource = qualifiedResource(def);
    this.namespace = def.namespaced ? namespace : undefined;
    this.wire = opts.wire;
  }

  private target(namespace: string | undefined, name?: string, subresource?: string): Record<string, unknown> {
    const t: Record<string, unknown> = {
      resource: this.def.resource,
      group: this.def.group,
      version: this.def.version,
    };
    const ns = this.def.namespaced ? (namespace ?? this.namespace) : undefined;
    if (ns !== undefined && ns !== '') t.namespace = ns;
    if (name !== undefined) t.name = name;
    if (subresource !== undefined) t.subresource = subresource;
    return t;
  }

  private async call<R>(method: string, data: Record<string, unknown>): Promise<R> {
    try {
      return await this.wire.request<R>(
        method,
        data,
        this.opts.timeoutMs === undefined ? undefined : { timeoutMs: this.opts.timeoutMs },
      );
    } catch (err) {
      throw toApiError(err);
    }
  }

  async list(opts: ListOptions = {}): Promise<ListResult<T>> {
    const req = this.target(opts.namespace);
    for (const k of ['labelSelector', 'fieldSelector', 'continue', 'resourceVersion', 'limit'] as const) {
      if (opts[k] !== undefined) req[k] = opts[k];
    }
    return this.call<ListResult<T>>('api.list', req);
  }

  watch(opts: WatchOptions = {}): WatchStream<T> {
    const req = this.target(opts.namespace);
    for (const k of ['labelSelector', 'fieldSelector', 'resourceVersion'] as const) {
      if (opts[k] !== undefined) req[k] = opts[k];
    }
    if (opts.allowBookmarks) req.allowWatchBookmarks = true;
    return new WireWatch<T>(() =>
      this.wire.stream<WireWatchItem>('api.watch', req, { window: this.opts.watchWindow ?? 256 }),
    );
  }

  get(name: string, opts: GetOptions = {}): Promise<T> {
    return this.call<T>('api.get', this.target(opts.namespace, name));
  }

  create(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.call<T>('api.create', { ...this.target(obj.metadata.namespace), object: obj, ...writeOpts(opts) });
  }

  update(obj: T, opts: UpdateOptions = {}): Promise<T> {
    const { subresource, ...rest } = opts;
    return this.call<T>('api.update', {
      ...this.target(obj.metadata.namespace, obj.metadata.name, subresource),
      object: obj,
      ...writeOpts(rest),
    });
  }

  updateStatus(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.call<T>('api.update', {
      ...this.target(obj.metadata.namespace, obj.metadata.name, 'status'),
      object: obj,
      ...writeOpts(opts),
    });
  }

  patch(name: string, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<T> {
    const req: Record<string, unknown> = {
      ...this.target(opts.namespace, name, opts.subresource),
      patchType: type,
      patch,
      ...writeOpts(opts),
    };
    if (opts.force) req.force = true;
    return this.call<T>('api.patch', req);
  }

  async delete(name: string, opts: DeleteOptions = {}): Promise<DeleteResult<T>> {
    const { namespace, ...options } = opts;
    const out = await this.call<{ deleted: boolean; status?: Status; object?: T }>('api.delete', {
      ...this.target(namespace, name),
      options,
    });
    if (out.deleted) return out.status === undefined ? { deleted: true } : { deleted: true, status: out.status };
    return { deleted: false, object: out.object as T };
  }

  async bind(binding: Binding, opts: WriteOptions = {}): Promise<void> {
    if (this.def.resource !== 'pods' || this.def.group !== '') {
      throw new ApiError(failureStatus(400, 'BadRequest', `binding is only supported on pods, not ${this.resource}`));
    }
    await this.call('api.create', {
      ...this.target(binding.metadata.namespace, binding.metadata.name, 'binding'),
      object: { apiVersion: 'v1', kind: 'Binding', ...binding },
      ...writeOpts(opts),
    });
  }
}

function writeOpts(o: WriteOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.fieldManager !== undefined) out.fieldManager = o.fieldManager;
  if (o.fieldValidation !== undefined) out.fieldValidation = o.fieldValidation;
  return out;
}

/**
 * Adapts the wire stream to WatchStream: BOOKMARKs become objects carrying only a resourceVersion;
 * a stream the apiserver fails with a Status (410 Expired, ...) becomes one ERROR event; a broken
 * connection throws ApiError ServiceUnavailable. Opening the stream is deferred to the first
 * iteration so that `watch()` itself never throws.
 */
class WireWatch<T> implements WatchStream<T> {
  private stream: (AsyncIterable<WireWatchItem> & { cancel(): void; readonly closed: boolean }) | undefined;
  private cancelled = false;

  constructor(
    private readonly open: () => AsyncIterable<WireWatchItem> & { cancel(): void; readonly closed: boolean },
  ) {}

  get closed(): boolean {
    return this.cancelled || (this.stream?.closed ?? false);
  }

  cancel(): void {
    this.cancelled = true;
    this.stream?.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    if (this.cancelled) return;
    let stream: AsyncIterable<WireWatchItem> & { cancel(): void };
    try {
      stream = this.open();
    } catch (err) {
      throw toApiError(err);
    }
    this.stream = stream as AsyncIterable<WireWatchItem> & { cancel(): void; readonly closed: boolean };
    try {
      for await (const item of stream) {
        if (item.type === 'BOOKMARK')
          yield { type: 'BOOKMARK', object: { metadata: { resourceVersion: item.resourceVersion } } };
        else yield { type: item.type, object: item.object as T };
      }
    } catch (err) {
      if (this.cancelled) return;
      const mapped = toApiError(err);
      // A Status from the server ends the watch with an ERROR event, like the HTTP watch does.
      if (mapped instanceof ApiError && !isTransport(mapped)) {
        yield { type: 'ERROR', object: mapped.status };
        return;
      }
      throw mapped;
    } finally {
      stream.cancel();
    }
  }
}

/** True when the ApiError stands for a broken transport rather than a Status the server sent. */
function isTransport(err: ApiError): boolean {
  const cause = err.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' && cause.code.startsWith('WIRE_');
}
