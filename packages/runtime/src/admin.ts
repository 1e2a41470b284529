import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { KemuError } from './errors.js';

export type HealthCheck = () => boolean | string;

export interface AdminRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when the request had none). */
  body: unknown;
}

export interface AdminResponse {
  status?: number;
  body: unknown;
}

export type AdminHandler = (req: AdminRequest) => Promise<AdminResponse> | AdminResponse;

export class AdminRequestError extends KemuError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('ADMIN_BAD_REQUEST', message);
  }
}

const MAX_ADMIN_BODY = 1 << 20;

/**
 * The per-process admin endpoint: `/healthz`, `/readyz`, `/metrics` (Prometheus text), plus routes
 * other modules add (the wire's fault table, a kubelet's runtime switch). Chaos tooling talks only to
 * this surface, so it works the same on one host and in compose.
 */
export class AdminServer {
  readonly metrics: Registry;
  private readonly server: http.Server;
  private readonly routes = new Map<string, AdminHandler>();
  private readonly readiness: HealthCheck[] = [];
  private readonly liveness: HealthCheck[] = [];

  constructor(
    private readonly log: Logger,
    opts: { defaultMetrics?: boolean } = {},
  ) {
    this.metrics = new Registry();
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.metrics });
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  /** Adds a route such as `POST /faults`. */
  route(method: string, path: string, handler: AdminHandler): void {
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
  }

  addReadinessCheck(check: HealthCheck): void {
    this.readiness.push(check);
  }

  addLivenessCheck(check: HealthCheck): void {
    this.liveness.push(check);
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
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      if (req.method === 'GET' && url.pathname === '/healthz') return this.health(res, this.liveness);
      if (req.method === 'GET' && url.pathname === '/readyz') return this.health(res, this.readiness);
      if (req.method === 'GET' && url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': this.metrics.contentType });
        res.end(await this.metrics.metrics());
        return;
      }
      const handler = this.routes.get(`${req.method} ${url.pathname}`);
      if (!handler) throw new AdminRequestError(404, `no admin route ${req.method} ${url.pathname}`);
      const body = await readJsonBody(req);
      const out = await handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body });
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out.body));
    } catch (err) {
      const status = err instanceof AdminRequestError ? err.status : 500;
      if (status === 500) this.log.error({ err, path: url.pathname }, 'admin handler failed');
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
    }
  }

  private health(res: http.ServerResponse, checks: HealthCheck[]): void {
    const failures: string[] = [];
    for (const check of checks) {
      const r = check();
      if (r !== true) failures.push(typeof r === 'string' ? r : 'check failed');
    }
    res.writeHead(failures.length === 0 ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(failures.length === 0 ? 'ok\n' : `${failures.join('\n')}\n`);
  }
}

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_ADMIN_BODY) throw new AdminRequestError(413, 'admin request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AdminRequestError(400, 'admin request body is not valid JSON');
  }
}
