// The internal API for components (scheduler, controllers, kubelets) over @kemu/wire: the same
// REST handlers as HTTP, addressed by resource instead of URL. See README "Wire API".
import {
  findResource,
  type KubeObject,
  type PatchType,
  type ResourceDef,
  resourceFor,
  tooOldResourceVersionStatus,
} from '@kemu/api';
import type { StreamSink, WireServer } from '@kemu/wire';
import { ApiStatusError, badRequest, toStatusError } from './errors.js';
import type { DeleteParams, ListParams, RestHandlers, Scope, WatchParams, WriteOptions } from './rest.js';
import type { WatchOutput } from './storage/watch-cache.js';

/** Which objects a call addresses. `resource` is a plural (`pods`), `deployments.apps`, a short name or a kind. */
export interface WireTarget {
  resource: string;
  group?: string;
  version?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type WireWatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject }
  | { type: 'BOOKMARK'; resourceVersion: string };

/** Items a watch stream may buffer for a consumer that does not return credit; then it is dropped. */
const MAX_WATCH_BACKLOG = 10000;

export function registerWireApi(server: WireServer, rest: RestHandlers): void {
  const call =
    <R>(fn: (req: Record<string, unknown>, caller: string) => Promise<R>) =>
    async (data: unknown, ctx: { conn: { remote: string } }): Promise<R> => {
      try {
        return await fn(asRecord(data), ctx.conn.remote);
      } catch (err) {
        throw toStatusError(err);
      }
    };
  server.handle(
    'api.get',
    call((r) => rest.get(scopeOf(r))),
  );
  server.handle(
    'api.list',
    call(async (r) => {
      const page = await rest.list(scopeOf(r), listParams(r));
      const out: { items: KubeObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number } = {
        items: page.items,
        resourceVersion: String(page.revision),
      };
      if (page.continue !== undefined) out.continue = page.continue;
      if (page.remainingItemCount !== undefined) out.remainingItemCount = page.remainingItemCount;
      return out;
    }),
  );
  server.handle(
    'api.create',
    call((r, caller) => rest.create(scopeOf(r), r.object, writeOpts(r, caller))),
  );
  server.handle(
    'api.update',
    call((r, caller) => rest.update(scopeOf(r), r.object, writeOpts(r, caller))),
  );
  server.handle(
    'api.patch',
    call((r, caller) => rest.patch(scopeOf(r), patchTypeOf(r.patchType), r.patch, writeOpts(r, caller))),
  );
  server.handle(
    'api.delete',
    call(async (r) => {
      const out = await rest.delete(scopeOf(r), (asRecord(r.options ?? {}) as DeleteParams) ?? {});
      return out.kind === 'deleted' ? { deleted: true, status: out.status } : { deleted: false, object: out.object };
    }),
  );
  server.handleStream('api.watch', async (data: unknown, sink: StreamSink<WireWatchEvent>) => {
    let handle: { stop(): void } | undefined;
    const push = (ev: WireWatchEvent) => {
      if (sink.closed) return;
      sink.send(ev).catch(() => handle?.stop());
      if (sink.waiting > MAX_WATCH_BACKLOG) {
        handle?.stop();
        sink.fail(new ApiStatusError(tooOldResourceVersionStatus('backlog', 'watcher too slow')));
      }
    };
    try {
      const r = asRecord(data);
      handle = await rest.watch(scopeOf(r), watchParams(r), (out: WatchOutput) => {
        if (out.type === 'EXPIRED') {
          handle?.stop();
          sink.fail(new ApiStatusError(tooOldResourceVersionStatus(out.requested, out.oldest)));
          return;
        }
        if (out.type === 'BOOKMARK') push({ type: 'BOOKMARK', resourceVersion: String(out.rv) });
        else push({ type: out.type, object: out.object });
      });
      sink.signal.addEventListener('abort', () => handle?.stop());
      if (sink.closed) handle.stop();
    } catch (err) {
      sink.fail(toStatusError(err));
    }
  });
}

function asRecord(data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw badRequest('request must be a map');
  return data as Record<string, unknown>;
}

function str(r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  return v;
}

function scopeOf(r: Record<string, unknown>): Scope {
  const resource = str(r, 'resource');
  if (!resource) throw badRequest('resource is required');
  const group = str(r, 'group');
  const version = str(r, 'version');
  const def: ResourceDef | undefined =
    group !== undefined ? resourceFor(group, version ?? 'v1', resource) : findResource(resource);
  if (!def) throw badRequest(`the server doesn't have a resource type "${resource}"`);
  const scope: Scope = { def };
  const ns = str(r, 'namespace');
  const name = str(r, 'name');
  const sub = str(r, 'subresource');
  if (ns !== undefined && ns !== '') scope.namespace = ns;
  if (name !== undefined) scope.name = name;
  if (sub !== undefined) scope.subresource = sub;
  return scope;
}

function listParams(r: Record<string, unknown>): ListParams {
  const p: ListParams = {};
  for (const k of ['labelSelector', 'fieldSelector', 'continue', 'resourceVersion'] as const) {
    const v = str(r, k);
    if (v !== undefined) p[k] = v;
  }
  if (typeof r.limit === 'number') p.limit = r.limit;
  return p;
}

function watchParams(r: Record<string, unknown>): WatchParams {
  return { ...listParams(r), allowWatchBookmarks: r.allowWatchBookmarks === true };
}

/** `caller` is the peer's wire identity (`kube-scheduler/kube-scheduler-0`): its first word names the manager. */
function writeOpts(r: Record<string, unknown>, caller: string): WriteOptions {
  const o: WriteOptions = { userAgent: caller };
  const fv = str(r, 'fieldValidation');
  const fm = str(r, 'fieldManager');
  if (fv !== undefined) o.fieldValidation = fv;
  if (fm !== undefined) o.fieldManager = fm;
  if (r.force === true) o.force = true;
  return o;
}

function patchTypeOf(v: unknown): PatchType | undefined {
  return v === 'json' || v === 'merge' || v === 'strategic' || v === 'apply' ? v : undefined;
}
