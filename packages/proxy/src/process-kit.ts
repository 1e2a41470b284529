// What kube-proxy and the cluster DNS share as processes: the apiserver connection (one WireClient
// per --apiserver URL, calls going to whichever is connected) and the admin endpoint with the wire
// fault table.
import { WireApiClient, type WireCaller } from '@kemu/client';
import { AdminServer, type Logger, type Random, type Runtime } from '@kemu/runtime';
import { FaultTable, registerFaultRoutes, WireClient, type WireStream } from '@kemu/wire';

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
