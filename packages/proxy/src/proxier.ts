// The sync loop of kube-proxy: whenever Services or EndpointSlices change, recompute the wanted
// listeners (service-rules.ts) and converge the sockets to them. Changes are coalesced: at most one
// sync per `minSyncPeriodMs` (upstream's --iptables-min-sync-period), plus a periodic full sync.
import type { Logger, Random, Runtime, TimerHandle } from '@kemu/runtime';
import { createListener, type ListenerDeps, type ListenerState, type ServiceListener } from './listener.js';
import type { ServiceView } from './service-catalog.js';
import { type DesiredListener, desiredListeners } from './service-rules.js';

export interface ProxierOptions {
  view: ServiceView;
  nodeName: string;
  /** Where NodePorts are opened (the node's --node-ip). */
  nodeIps: readonly string[];
  runtime: Runtime;
  random?: Random;
  log: Logger;
  bindRetryMs: number;
  connectTimeoutMs: number;
  udpIdleTimeoutMs: number;
  minSyncPeriodMs: number;
  /** Full sync even without events (upstream --iptables-sync-period). */
  syncPeriodMs: number;
  observer?: ListenerDeps['observer'];
  /** Called with the duration of each sync in ms. */
  onSync?: (ms: number) => void;
}

export interface ListenerStatus {
  key: string;
  kind: DesiredListener['kind'];
  servicePort: string;
  state: ListenerState;
  bindError?: string;
  endpoints: readonly string[];
  activeConnections: number;
  affinityTimeoutMs: number | null;
}

export class Proxier {
  private readonly listeners = new Map<string, ServiceListener>();
  private readonly deps: ListenerDeps;
  private pending: TimerHandle | null = null;
  private periodic: TimerHandle | null = null;
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  private stopped = false;
  syncCount = 0;

  constructor(private readonly opts: ProxierOptions) {
    this.deps = {
      runtime: opts.runtime,
      log: opts.log,
      bindRetryMs: opts.bindRetryMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      udpIdleTimeoutMs: opts.udpIdleTimeoutMs,
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.observer ? { observer: opts.observer } : {}),
    };
  }

  /** Starts the periodic sync; call `requestSync()` from informer handlers. */
  start(): void {
    this.periodic = this.opts.runtime.setInterval(() => {
      for (const l of this.listeners.values()) l.picker.sweep();
      this.requestSync();
    }, this.opts.syncPeriodMs);
    this.requestSync();
  }

  requestSync(): void {
    if (this.stopped || this.pending) return;
    const wait = Math.max(0, this.lastSyncAt + this.opts.minSyncPeriodMs - this.opts.runtime.monotonic());
    this.pending = this.opts.runtime.setTimeout(() => {
      this.pending = null;
      this.sync();
    }, wait);
  }

  /** Converges the sockets to the current Services and EndpointSlices. */
  sync(): void {
    if (this.stopped) return;
    const t0 = this.opts.runtime.monotonic();
    const wanted = desiredListeners(this.opts.view.services(), (ns, n) => this.opts.view.slicesFor(ns, n), {
      nodeName: this.opts.nodeName,
      nodeIps: this.opts.nodeIps,
    });
    // A service port without usable endpoints gets no socket, so a client sees "connection refused"
    // as it would from kube-proxy's REJECT rule (and a standby proxy has nothing to take over).
    for (const [key, l] of wanted) if (l.endpoints.length === 0) wanted.delete(key);
    for (const [key, listener] of this.listeners) {
      if (!wanted.has(key)) {
        listener.close();
        this.listeners.delete(key);
        this.opts.log.info({ listener: key, service: listener.spec.servicePort }, 'listener removed');
      }
    }
    for (const [key, spec] of wanted) {
      const existing = this.listeners.get(key);
      if (existing) {
        existing.update(spec);
        continue;
      }
      const listener = createListener(spec, this.deps);
      this.listeners.set(key, listener);
      listener.start();
      this.opts.log.info(
        { listener: key, service: spec.servicePort, endpoints: spec.endpoints.length },
        'listener added',
      );
    }
    const now = this.opts.runtime.monotonic();
    this.lastSyncAt = now;
    this.syncCount++;
    this.opts.onSync?.(now - t0);
  }

  status(): ListenerStatus[] {
    return [...this.listeners.values()]
      .map((l) => {
        const s: ListenerStatus = {
          key: l.spec.key,
          kind: l.spec.kind,
          servicePort: l.spec.servicePort,
          state: l.state,
          endpoints: l.picker.list(),
          activeConnections: l.activeConnections,
          affinityTimeoutMs: l.spec.affinityTimeoutMs,
        };
        if (l.lastBindError !== undefined) s.bindError = l.lastBindError;
        return s;
      })
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  stateCounts(): Record<ListenerState, number> {
    const out: Record<ListenerState, number> = { binding: 0, holding: 0, standby: 0, closed: 0 };
    for (const l of this.listeners.values()) out[l.state]++;
    return out;
  }

  /** Closes every socket and ends every proxied connection. */
  stop(): void {
    this.stopped = true;
    this.pending?.cancel();
    this.periodic?.cancel();
    for (const l of this.listeners.values()) l.destroy();
    this.listeners.clear();
  }
}
