// The HTTP API kubectl talks to: discovery, OpenAPI, CRUD with Table printing, watch streams and
// Status errors, over plain HTTP (kubeconfig `server: http://…`). Contract: kubectl-contract.md.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedCoreDiscovery,
  aggregatedGroupsDiscovery,
  apiVersionOf,
  badRequestStatus,
  buildTable,
  type IncludeObject,
  type KubeObject,
  legacyCoreVersions,
  legacyGroup,
  legacyGroupList,
  legacyResourceList,
  methodNotSupportedStatus,
  notFoundStatus,
  openApiV3Document,
  openApiV3Index,
  type ResourceDef,
  requestEntityTooLargeStatus,
  type Status,
  serviceUnavailableStatus,
  tooOldResourceVersionStatus,
  versionInfo,
} from '@kemu/api';
import type { Clock, Logger } from '@kemu/runtime';
import { ApiStatusError, toStatusError } from '../errors.js';
import { type DeleteParams, type RestHandlers, type Scope, wasCreated } from '../rest.js';
import type { WatchHandle, WatchOutput } from '../storage/watch-cache.js';
import { decodeBody, patchType } from './body.js';
import { type KubeletProxy, writeStatus } from './kubelet-proxy.js';
import { parseResourcePath, type ResourcePath } from './paths.js';

export interface HttpApiOptions {
  rest: RestHandlers;
  /** The same handlers over a store that never writes, for `dryRun=All`. */
  dryRun?: RestHandlers;
  log: Logger;
  clock: Clock;
  /** Body size limit (default 3 MiB, like kube-apiserver's --max-request-bytes). */
  maxRequestBytes?: number;
  /** Readiness: etcd reachable and watch caches synced. */
  ready: () => boolean | string;
  /** pods/log and the exec/attach/portforward upgrades go to the pod's kubelet; without it: a clear 503. */
  kubeletProxy?: KubeletProxy;
}

const TABLE_RE = /as=Table/i;
const JSON_TYPE = 'application/json';

/** Why the request failed before any handler: turned into a Status by the caller. */
function fail(status: Status): never {
  throw new ApiStatusError(status);
}

export class HttpApi {
  readonly server: http.Server;
  private readonly rest: RestHandlers;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly maxRequestBytes: number;
  private readonly opts: HttpApiOptions;
  private readonly watches = new Set<() => void>();

  constructor(opts: HttpApiOptions) {
    this.opts = opts;
    this.rest = opts.rest;
    this.log = opts.log;
    this.clock = opts.clock;
    this.maxRequestBytes = opts.maxRequestBytes ?? 3 * 1024 * 1024;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65000;
    const proxy = opts.kubeletProxy;
    if (proxy !== undefined) {
      this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        const pathname = new URL(req.url ?? '/', 'http://apiserver').pathname.replace(/\/+$/, '');
        const parsed = parseResourcePath(pathname);
        const sub = parsed.kind === 'resource' ? parsed.path.subresource : undefined;
        if (parsed.kind === 'resource' && parsed.path.def?.resource === 'pods' && isUpgradeSubresource(sub)) {
          void proxy.serveUpgrade(req, socket, head, parsed.path);
          return;
        }
        writeStatus(socket, badRequestStatus(`${pathname} cannot be upgraded`));
      });
    }
  }

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const stop of [...this.watches]) stop();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Parsed relative to a fixed origin: a path starting with `//` must not become a host name.
    let url: URL;
    try {
      url = new URL(`http://apiserver${(req.url ?? '/').startsWith('/') ? req.url : `/${req.url}`}`);
    } catch {
      url = new URL('http://apiserver/');
    }
    const started = this.clock.monotonic();
    try {
      await this.route(req, res, url);
    } catch (err) {
      const e = toStatusError(err);
      if (e.httpCode >= 500) this.log.warn({ err, method: req.method, path: url.pathname }, 'request failed');
      if (!res.headersSent) this.sendJson(res, e.httpCode, e.status);
      else res.end();
      req.resume();
    } finally {
      this.log.debug(
        { method: req.method, path: url.pathname, status: res.statusCode, ms: this.clock.monotonic() - started },
        'request',
      );
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const accept = req.headers.accept ?? '';
    if (method === 'GET') {
      switch (p) {
        case '/version':
          return this.sendJson(res, 200, versionInfo());
        case '/healthz':
        case '/livez':
          return this.sendText(res, 200, 'ok');
        case '/readyz': {
          const r = this.opts.ready();
          return r === true
            ? this.sendText(res, 200, 'ok')
            : this.sendText(res, 503, typeof r === 'string' ? r : 'not ready');
        }
        case '/api':
          if (accept.includes('as=APIGroupDiscoveryList')) {
            return this.sendJson(res, 200, aggregatedCoreDiscovery(), AGGREGATED_DISCOVERY_CONTENT_TYPE);
          }
          return this.sendJson(res, 200, legacyCoreVersions(req.headers.host ?? '127.0.0.1'));
        case '/apis':
          if (accept.includes('as=APIGroupDiscoveryList')) {
            return this.sendJson(res, 200, aggregatedGroupsDiscovery(), AGGREGATED_DISCOVERY_CONTENT_TYPE);
          }
          return this.sendJson(res, 200, legacyGroupList());
        case '/openapi/v3':
          return this.sendJson(res, 200, openApiV3Index());
      }
      if (p.startsWith('/openapi/v3/')) {
        const gv = p.slice('/openapi/v3/'.length).split('/');
        const doc = gv[0] === 'api' ? openApiV3Document('', gv[1] ?? '') : openApiV3Document(gv[1] ?? '', gv[2] ?? '');
        if (doc) return this.sendJson(res, 200, doc, JSON_TYPE, { 'cache-control': 'public, immutable' });
      }
    }
    const parsed = parseResourcePath(p);
    if (parsed.kind === 'groupVersion' && method === 'GET') {
      const list = legacyResourceList(parsed.group, parsed.version);
      if (list) return this.sendJson(res, 200, list);
    }
    if (parsed.kind === 'group' && method === 'GET') {
      const g = legacyGroup(parsed.group);
      if (g) return this.sendJson(res, 200, g);
    }
    if (parsed.kind !== 'resource' || parsed.path.def === undefined) return this.notFound(res);
    return this.resource(req, res, url, parsed.path, parsed.path.def);
  }

  private async resource(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    path: ResourcePath,
    def: ResourceDef,
  ): Promise<void> {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const scope: Scope = { def };
    if (path.namespace !== undefined) scope.namespace = path.namespace;
    if (path.name !== undefined) scope.name = path.name;
    if (path.subresource !== undefined) {
      scope.subresource = path.subresource;
      if (!def.subresources.some((s) => s.name === path.subresource)) return this.notFound(res);
    }
    if (def.namespaced && path.namespace === undefined && (path.name !== undefined || method !== 'GET')) {
      return this.notFound(res);
    }
    if (!def.namespaced && path.namespace !== undefined) return this.notFound(res);
    const sub = path.subresource;
    if (sub === 'log' || isUpgradeSubresource(sub)) {
      const proxy = this.opts.kubeletProxy;
      if (proxy !== undefined && sub === 'log' && method === 'GET') return proxy.serveLog(req, res, path, q);
      req.resume();
      if (proxy !== undefined) {
        await this.rest.get({ ...scope, subresource: undefined });
        fail(badRequestStatus('Upgrade request required'));
      }
      await this.rest.get({ ...scope, subresource: undefined });
      fail(
        serviceUnavailableStatus(
          `pods/${sub} needs a connection to the pod's kubelet, which this apiserver does not have yet`,
        ),
      );
    }
    const wantsTable = TABLE_RE.test(req.headers.accept ?? '');
    const rest = q.getAll('dryRun').includes('All') && this.opts.dryRun ? this.opts.dryRun : this.rest;
    const warnings: string[] = [];
    const write = {
      fieldValidation: q.get('fieldValidation') ?? undefined,
      fieldManager: q.get('fieldManager') ?? undefined,
      userAgent: req.headers['user-agent'],
      force: q.get('force') === 'true',
      warnings,
    };
    // RFC 7234 warn-code 299, as kube-apiserver sends them; kubectl prints `Warning: <text>`.
    const warn = (): Record<string, string[]> =>
      warnings.length === 0 ? {} : { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) };
    // Verbs that need a name (update, patch) or must not have one (create of a main resource).
    const action = { PUT: 'update', PATCH: 'patch' }[method];
    if (
      (action !== undefined && path.name === undefined) ||
      (method === 'POST' && path.name !== undefined && sub === undefined)
    ) {
      req.resume();
      fail(methodNotSupportedStatus(def, action ?? 'create'));
    }
    switch (method) {
      case 'GET': {
        if (path.name === undefined) {
          if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(req, res, scope, q, wantsTable);
          return this.list(res, scope, q, wantsTable);
        }
        req.resume();
        const obj = await this.rest.get(scope);
        if (wantsTable && sub === undefined) {
          return this.sendJson(
            res,
            200,
            buildTable(def.resource, [obj], {
              now: this.clock.now(),
              includeObject: includeObject(q),
              ...(obj.metadata.resourceVersion !== undefined ? { resourceVersion: obj.metadata.resourceVersion } : {}),
            }),
          );
        }
        return this.sendJson(res, 200, obj);
      }
      case 'POST': {
        const body = await this.readBody(req);
        const created = await rest.create(scope, body, clean(write));
        return this.sendJson(res, 201, created, JSON_TYPE, warn());
      }
      case 'PUT': {
        const body = await this.readBody(req);
        const updated = await rest.update(scope, body, clean(write));
        return this.sendJson(res, 200, updated, JSON_TYPE, warn());
      }
      case 'PATCH': {
        const type = patchType(req.headers['content-type']);
        const body = await this.readBody(req);
        const out = await rest.patch(scope, type, body, clean(write));
        return this.sendJson(res, wasCreated(out) ? 201 : 200, out, JSON_TYPE, warn());
      }
      case 'DELETE': {
        const body = (await this.readBody(req)) as DeleteParams | undefined;
        const params: DeleteParams = { ...(typeof body === 'object' && body !== null ? body : {}) };
        const gp = q.get('gracePeriodSeconds');
        if (gp !== null) params.gracePeriodSeconds = Number(gp);
        const pp = q.get('propagationPolicy');
        if (pp === 'Orphan' || pp === 'Background' || pp === 'Foreground') params.propagationPolicy = pp;
        if (path.name === undefined) return this.deleteCollection(res, scope, q, params);
        // kubectl puts dryRun in the DeleteOptions body rather than the query.
        const bodyDry = Array.isArray((params as { dryRun?: unknown }).dryRun)
          ? ((params as { dryRun: unknown[] }).dryRun.includes('All') && this.opts.dryRun) || undefined
          : undefined;
        const out = await (bodyDry ?? rest).delete(scope, params);
        return this.sendJson(res, 200, out.kind === 'deleted' ? out.status : out.object);
      }
      default:
        req.resume();
        fail(methodNotSupportedStatus(def, method.toLowerCase()));
    }
  }

  private async list(res: http.ServerResponse, scope: Scope, q: URLSearchParams, table: boolean): Promise<void> {
    const { def } = scope;
    const limit = q.get('limit');
    const page = await this.rest.list(scope, {
      ...opt('labelSelector', q.get('labelSelector')),
      ...opt('fieldSelector', q.get('fieldSelector')),
      ...opt('continue', q.get('continue')),
      ...opt('resourceVersion', q.get('resourceVersion')),
      ...(limit !== null && limit !== '' ? { limit: Number(limit) } : {}),
    });
    const rv = String(page.revision);
    if (table) {
      return this.sendJson(
        res,
        200,
        buildTable(def.resource, page.items, {
          now: this.clock.now(),
          includeObject: includeObject(q),
          resourceVersion: rv,
          ...(page.continue !== undefined ? { continue: page.continue } : {}),
          ...(page.remainingItemCount !== undefined ? { remainingItemCount: page.remainingItemCount } : {}),
        }),
      );
    }
    const metadata: Record<string, unknown> = { resourceVersion: rv };
    if (page.continue !== undefined) metadata.continue = page.continue;
    if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
    return this.sendJson(res, 200, { kind: def.listKind, apiVersion: apiVersionOf(def), metadata, items: page.items });
  }

  private async deleteCollection(
    res: http.ServerResponse,
    scope: Scope,
    q: URLSearchParams,
    params: DeleteParams,
  ): Promise<void> {
    const page = await this.rest.list(scope, {
      ...opt('labelSelector', q.get('labelSelector')),
      ...opt('fieldSelector', q.get('fieldSelector')),
    });
    const items: KubeObject[] = [];
    for (const o of page.items) {
      try {
        const r = await this.rest.delete(
          { ...scope, namespace: o.metadata.namespace ?? scope.namespace, name: o.metadata.name ?? '' } as Scope,
          params,
        );
        items.push(r.kind === 'pending' ? r.object : o);
      } catch (err) {
        if (!(err instanceof ApiStatusError && err.status.reason === 'NotFound')) throw err;
      }
    }
    const { def } = scope;
    return this.sendJson(res, 200, {
      kind: def.listKind,
      apiVersion: apiVersionOf(def),
      metadata: { resourceVersion: String(page.revision) },
      items,
    });
  }

  private async watch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    scope: Scope,
    q: URLSearchParams,
    table: boolean,
  ): Promise<void> {
    req.resume();
    const { def } = scope;
    const include = includeObject(q);
    let first = true;
    let ended = false;
    let handle: WatchHandle | undefined;
    let timer: NodeJS.Timeout | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      handle?.stop();
      if (timer) clearTimeout(timer);
      this.watches.delete(end);
      res.end();
    };
    const write = (event: unknown) => writeLine(`${JSON.stringify(event)}\n`);
    const writeLine = (line: string) => {
      if (ended) return;
      res.write(line);
      // A consumer this far behind is dropped, like upstream's slow-watcher termination.
      if (res.writableLength > 64 * 1024 * 1024) end();
    };
    const emit = (out: WatchOutput) => {
      if (out.type === 'EXPIRED') {
        write({ type: 'ERROR', object: tooOldResourceVersionStatus(out.requested, out.oldest) });
        end();
        return;
      }
      if (out.type === 'BOOKMARK') {
        write({
          type: 'BOOKMARK',
          object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(out.rv) } },
        });
        return;
      }
      if (!table) {
        writeLine(encodedEvent(out.type, out.object));
        return;
      }
      const t = buildTable(def.resource, [out.object], {
        now: this.clock.now(),
        includeObject: include,
        omitColumns: !first,
        ...(out.object.metadata.resourceVersion !== undefined
          ? { resourceVersion: out.object.metadata.resourceVersion }
          : {}),
      });
      first = false;
      write({ type: out.type, object: t });
    };
    const limit = q.get('timeoutSeconds');
    handle = await this.rest.watch(
      scope,
      {
        ...opt('labelSelector', q.get('labelSelector')),
        ...opt('fieldSelector', q.get('fieldSelector')),
        ...opt('resourceVersion', q.get('resourceVersion')),
        allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
      },
      (out) => {
        if (!res.headersSent) startStream(res);
        emit(out);
      },
    );
    if (ended || req.socket.destroyed) {
      handle.stop();
      if (!ended) end();
      return;
    }
    if (!res.headersSent) startStream(res);
    this.watches.add(end);
    req.socket.once('close', end);
    res.once('close', end);
    if (limit !== null && Number(limit) > 0) timer = setTimeout(end, Number(limit) * 1000);
  }

  private async readBody(req: http.IncomingMessage): Promise<unknown> {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > this.maxRequestBytes) {
      req.resume();
      fail(requestEntityTooLargeStatus(`limit is ${this.maxRequestBytes}`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.maxRequestBytes) {
        req.resume();
        fail(requestEntityTooLargeStatus(`limit is ${this.maxRequestBytes}`));
      }
      chunks.push(chunk as Buffer);
    }
    if (size === 0) return undefined;
    return decodeBody(req.headers['content-type'], Buffer.concat(chunks));
  }

  private notFound(res: http.ServerResponse): void {
    this.sendJson(res, 404, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      details: {},
      code: 404,
    });
  }

  private sendJson(
    res: http.ServerResponse,
    code: number,
    body: unknown,
    contentType = JSON_TYPE,
    extra: Record<string, string | string[]> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  }

  private sendText(res: http.ServerResponse, code: number, text: string): void {
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(text);
  }
}

/**
 * One event goes to every watcher of a resource as the same object: serialise it once, not once per
 * watcher (a hundred `kubectl get -w`/informers cost one JSON.stringify per change).
 */
const encodedEvents = new WeakMap<KubeObject, Map<string, string>>();

function encodedEvent(type: string, object: KubeObject): string {
  let byType = encodedEvents.get(object);
  if (!byType) {
    byType = new Map();
    encodedEvents.set(object, byType);
  }
  let line = byType.get(type);
  if (line === undefined) {
    line = `${JSON.stringify({ type, object })}\n`;
    byType.set(type, line);
  }
  return line;
}

function startStream(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': JSON_TYPE, 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

function isUpgradeSubresource(sub: string | undefined): boolean {
  return sub === 'exec' || sub === 'attach' || sub === 'portforward';
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function opt<K extends string>(key: K, v: string | null): { [P in K]?: string } {
  return (v !== null && v !== '' ? { [key]: v } : {}) as { [P in K]?: string };
}

function clean<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

export { badRequestStatus, notFoundStatus };
