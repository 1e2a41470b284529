import type { WireCaller } from '@kemu/client';
import type { Logger, Random, Runtime } from '@kemu/runtime';
import { type FaultTable, WireClient } from '@kemu/wire';
import type { Registry } from 'prom-client';

/**
 * The process's link to one or more apiservers (`--apiserver ws://a,ws://b`). Every endpoint gets its
 * own reconnecting WireClient; a call goes to the endpoint last seen working, else the first one that
 * is connected, so a dead apiserver costs one failed call (the caller retries, as informers and
 * reconciles do) and not a stall. With no endpoint connected the call fails at once
 * (ServiceUnavailable), which informers answer with their backoff.
 */
export class ApiserverConnection implements WireCaller {
  private readonly clients: WireClient[];
  private preferred = 0;

  constructor(opts: {
    urls: string[];
    identity: string;
    log: Logger;
    runtime: Runtime;
    random: Random;
    faults: FaultTable;
    metrics: Registry;
  }) {
    this.clients = opts.urls.map(
      (url) =>
        new WireClient({
          url: wireEndpoint(url),
          identity: opts.identity,
          log: opts.log.child({ apiserver: url }),
          runtime: opts.runtime,
          random: opts.random.fork(),
          faults: opts.faults,
          metrics: opts.metrics,
        }),
    );
  }

  start(): this {
    for (const c of this.clients) c.start();
    return this;
  }

  get connected(): boolean {
    return this.clients.some((c) => c.isConnected);
  }

  private pick(): WireClient {
    const current = this.clients[this.preferred];
    if (current?.isConnected) return current;
    const i = this.clients.findIndex((c) => c.isConnected);
    if (i >= 0) this.preferred = i;
    return this.clients[this.preferred] ?? (this.clients[0] as WireClient);
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

/** `ws://host:port` → `ws://host:port/wire` (the apiserver's wire path); an explicit path is kept. */
export function wireEndpoint(url: string): string {
  const u = new URL(url);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/wire';
  return u.toString();
}
