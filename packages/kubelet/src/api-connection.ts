// The kubelet's link to the apiserver(s): one WireClient per `--apiserver` URL, each reconnecting
// forever with backoff. Calls go to a connected one (the first in flag order that is up), like
// client-go behind a load balancer; when none is up they fail at once with ServiceUnavailable and
// the callers (informers, heartbeats, status writes) retry on their own schedule.

import type { WireCaller } from '@kemu/client';
import type { AdminServer, Logger } from '@kemu/runtime';
import { type FaultTable, WireClient } from '@kemu/wire';

export interface ApiConnectionOptions {
  urls: string[];
  identity: string;
  log: Logger;
  faults?: FaultTable;
  metrics?: AdminServer['metrics'];
}

/** `ws://host:port` → `ws://host:port/wire` (the apiserver's wire path) unless a path is given. */
export function wireUrl(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/wire';
  return u.toString();
}

export class ApiConnection implements WireCaller {
  readonly clients: WireClient[];

  constructor(o: ApiConnectionOptions) {
    this.clients = o.urls.map(
      (url) =>
        new WireClient({
          url: wireUrl(url),
          identity: o.identity,
          log: o.log,
          ...(o.faults ? { faults: o.faults } : {}),
          ...(o.metrics ? { metrics: o.metrics } : {}),
          reconnect: { initialDelayMs: 100, maxDelayMs: 3000, multiplier: 2 },
        }),
    );
  }

  start(): this {
    for (const c of this.clients) c.start();
    return this;
  }

  get isConnected(): boolean {
    return this.clients.some((c) => c.isConnected);
  }

  /** Resolves once any apiserver is connected, or after `timeoutMs` (whichever is first); never rejects. */
  async whenAnyConnected(timeoutMs: number): Promise<boolean> {
    if (this.isConnected) return true;
    const attempts = this.clients.map((c) => c.whenConnected(timeoutMs).then(() => true));
    try {
      return await Promise.any(attempts);
    } catch {
      return false;
    }
  }

  private pick(): WireClient {
    const c = this.clients.find((x) => x.isConnected) ?? this.clients[0];
    if (!c) throw new Error('no apiserver URL configured');
    return c;
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
