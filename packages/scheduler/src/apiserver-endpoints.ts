// `--apiserver ws://a,ws://b`: one WireClient per apiserver, each reconnecting on its own; calls go
// to the one in use while it is connected, else to the first connected one (a client-side stand-in
// for the load balancer in front of several apiservers). With none connected a call fails at once
// with the wire's WireDisconnectedError, which the client package maps to 503: informers and the
// leader elector then back off and retry, so the process never exits because the apiserver is down.
import type { WireCaller } from '@kemu/client';
import type { Logger } from '@kemu/runtime';
import { KemuError } from '@kemu/runtime';
import type { FaultTable, WireClient, WireClientOptions } from '@kemu/wire';
import { WireClient as Client } from '@kemu/wire';

export class ApiserverUrlError extends KemuError {
  constructor(message: string) {
    super('SCHEDULER_BAD_APISERVER_URL', message);
  }
}

/** Splits and checks `ws://host:port[,…]`; the wire endpoint path `/wire` is added when absent. */
export function parseApiserverUrls(flag: string): string[] {
  const urls = flag
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw new ApiserverUrlError('--apiserver needs at least one ws:// URL');
  return urls.map((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new ApiserverUrlError(`--apiserver: not a URL: ${JSON.stringify(raw)}`);
    }
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
      throw new ApiserverUrlError(`--apiserver: expected ws:// or wss://, got ${JSON.stringify(raw)}`);
    if (u.pathname === '/' || u.pathname === '') u.pathname = '/wire';
    return u.toString();
  });
}

export class ApiserverEndpoints implements WireCaller {
  readonly clients: WireClient[];
  private current = 0;

  constructor(urls: readonly string[], options: Omit<WireClientOptions, 'url'> & { log: Logger; faults?: FaultTable }) {
    this.clients = urls.map((url) => new Client({ ...options, url }));
  }

  start(): this {
    for (const c of this.clients) c.start();
    return this;
  }

  /** Resolves once any apiserver is connected (waits as long as it takes; never rejects). */
  async whenAnyConnected(): Promise<void> {
    await Promise.any(this.clients.map((c) => c.whenConnected())).catch(() => undefined);
  }

  get isConnected(): boolean {
    return this.clients.some((c) => c.isConnected);
  }

  private pick(): WireClient {
    const cur = this.clients[this.current] as WireClient;
    if (cur.isConnected) return cur;
    const i = this.clients.findIndex((c) => c.isConnected);
    if (i >= 0) this.current = i;
    return this.clients[this.current] as WireClient;
  }

  request<T = unknown>(
    method: string,
    data?: unknown,
    opts?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<T> {
    return this.pick().request<T>(method, data, opts);
  }

  stream<T = unknown>(
    method: string,
    data?: unknown,
    opts?: { window?: number; signal?: AbortSignal },
  ): AsyncIterable<T> & { cancel(): void; readonly closed: boolean } {
    return this.pick().stream<T>(method, data, opts);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
