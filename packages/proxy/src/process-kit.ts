// What kube-proxy and the cluster DNS share as processes: flag checks, the apiserver connection
// (one WireClient per --apiserver URL, calls going to whichever is connected), the admin endpoint
// with the wire fault table, and the per-profile intervals.
import { type TimingProfileName, timingProfile } from '@kemu/api';
import { type SharedInformerFactory, WireApiClient, type WireCaller } from '@kemu/client';
import { AdminServer, type Logger, type Random, type Runtime } from '@kemu/runtime';
import { FaultTable, registerFaultRoutes, WireClient, type WireStream } from '@kemu/wire';
import { ProxyFlagError } from './errors.js';
import { parseIPv4 } from './ipv4.js';

/**
 * Intervals of kube-proxy and the DNS per --profile. Kept here rather than in @kemu/api's
 * TIMING_PROFILES because no other component reads them.
 */
export interface ProxyTimings {
  /** How often a standby listener tries to bind a socket another proxy holds. */
  bindRetryMs: number;
  /** --iptables-min-sync-period: at most one sync per this long. */
  minSyncPeriodMs: number;
  /** --iptables-sync-period: a full sync at least this often. */
  syncPeriodMs: number;
  connectTimeoutMs: number;
  udpIdleTimeoutMs: number;
}

export const PROXY_TIMINGS: Readonly<Record<TimingProfileName, ProxyTimings>> = Object.freeze({
  real: {
    bindRetryMs: 2000,
    minSyncPeriodMs: 1000,
    syncPeriodMs: 30_000,
    connectTimeoutMs: 5000,
    udpIdleTimeoutMs: 30_000,
  },
  fast: {
    bindRetryMs: 500,
    minSyncPeriodMs: 50,
    syncPeriodMs: 10_000,
    connectTimeoutMs: 2000,
    udpIdleTimeoutMs: 10_000,
  },
});

export function proxyTimings(profile: string): ProxyTimings {
  try {
    return PROXY_TIMINGS[timingProfile(profile).name];
  } catch (err) {
    throw new ProxyFlagError((err as Error).message);
  }
}

export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new ProxyFlagError(`--${name} is required`);
  return v;
}

export function portFlag(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new ProxyFlagError(`--${name} must be a port number 0…65535, got "${v}"`);
  return n;
}

export function ipFlag(name: string, v: string): string {
  if (parseIPv4(v) === undefined) throw new ProxyFlagError(`--${name} must be an IPv4 address, got "${v}"`);
  return v;
}

/** The path the apiserver's WireServer accepts upgrades on; added when a URL names no path. */
export const WIRE_PATH = '/wire';

/** `ws://127.0.0.1:6444[,ws://…]` → URLs, each checked, `/wire` added where no path is given. */
export function apiserverUrls(v: string): string[] {
  const urls = v
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw new ProxyFlagError('--apiserver needs at least one ws:// URL');
  return urls.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ProxyFlagError(`--apiserver entries must be ws:// or wss:// URLs, got "${u}"`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new ProxyFlagError(`--apiserver entries must be ws:// or wss:// URLs, got "${u}"`);
    }
    if (url.pathname === '' || url.pathname === '/') url.pathname = WIRE_PATH;
    return url.toString();
  });
}

/**
 * Requests and watches go to a connected apiserver, preferring the one used last; when none is
 * connected the call fails at once (the informers back off and retry, as with one apiserver).
 */
export class MultiWireCaller implements WireCaller {
  private preferred = 0;

  constructor(readonly clients: readonly WireClient[]) {}

  private pick(): WireClient {
    const n = this.clients.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.preferred + i) % n;
      const c = this.clients[idx] as WireClient;
      if (c.isConnected) {
        this.preferred = idx;
        return c;
      }
    }
    return this.clients[this.preferred] as WireClient;
  }

  request<T = unknown>(
    method: string,
    data?: unknown,
    opts?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<T> {
    return this.pick().request<T>(method, data, opts);
  }

  stream<T = unknown>(method: string, data?: unknown, opts?: { window?: number; signal?: AbortSignal }): WireStream<T> {
    return this.pick().stream<T>(method, data, opts);
  }
}

export interface ComponentKit {
  admin: AdminServer;
  faults: FaultTable;
  wire: MultiWireCaller;
  api: WireApiClient;
  /** Resolves when the first apiserver connection is up (never rejects; waits as long as it takes). */
  firstConnection: Promise<void>;
  close(): Promise<void>;
}

/** Admin endpoint (with /faults) and apiserver connection, both started. */
export async function startComponentKit(opts: {
  component: string;
  name: string;
  urls: readonly string[];
  adminPort: number;
  log: Logger;
  runtime: Runtime;
  random: Random;
}): Promise<ComponentKit> {
  const admin = new AdminServer(opts.log);
  const faults = new FaultTable({ runtime: opts.runtime, random: opts.random.fork(), log: opts.log });
  registerFaultRoutes(admin, faults);
  const clients = opts.urls.map((url) =>
    new WireClient({
      url,
      identity: `${opts.component}/${opts.name}`,
      log: opts.log,
      runtime: opts.runtime,
      random: opts.random.fork(),
      faults,
      metrics: admin.metrics,
    }).start(),
  );
  const wire = new MultiWireCaller(clients);
  const addr = await admin.listen(opts.adminPort);
  opts.log.info({ adminPort: addr.port }, 'admin endpoint listening');
  return {
    admin,
    faults,
    wire,
    api: new WireApiClient({ wire }),
    firstConnection: new Promise<void>((resolve) => {
      for (const c of clients) {
        if (c.isConnected) resolve();
        c.on('connected', () => resolve());
      }
    }),
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await admin.close();
    },
  };
}

/** Readiness: the informers have synced at least once. */
export function readyWhenSynced(admin: AdminServer, synced: () => boolean): void {
  admin.addReadinessCheck(() => synced() || 'informers not synced yet');
}

export type { SharedInformerFactory };
