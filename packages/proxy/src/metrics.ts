import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConnectionResult, ListenerObserver, ListenerState } from './listener.js';

/** kube-proxy's metrics: upstream's sync metrics by their upstream names, plus kemu's socket view. */
export class ProxyMetrics implements ListenerObserver {
  readonly syncDuration: Histogram;
  readonly lastSync: Gauge;
  readonly activeConnections: Gauge<'protocol'>;
  readonly connections: Counter<'protocol' | 'result'>;
  readonly listeners: Gauge<'state'>;

  constructor(registry: Registry, listenerStates: () => Record<ListenerState, number>) {
    this.syncDuration = new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'How long one sync of Services and EndpointSlices into listeners took',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    });
    this.lastSync = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'When the last sync finished (seconds since the epoch)',
      registers: [registry],
    });
    this.activeConnections = new Gauge({
      name: 'kemu_proxy_active_connections',
      help: 'Proxied TCP connections and UDP sessions open now',
      labelNames: ['protocol'],
      registers: [registry],
    });
    this.connections = new Counter({
      name: 'kemu_proxy_connections_total',
      help: 'Accepted connections (UDP: sessions) by outcome: proxied, no-endpoint, all-refused',
      labelNames: ['protocol', 'result'],
      registers: [registry],
    });
    this.listeners = new Gauge({
      name: 'kemu_proxy_listeners',
      help: 'Service sockets this proxy wants, by state (holding: bound here; standby: held elsewhere or not bindable yet)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        for (const [state, n] of Object.entries(listenerStates())) this.set({ state }, n);
      },
    });
  }

  connection(result: ConnectionResult, protocol: 'TCP' | 'UDP'): void {
    this.connections.inc({ protocol, result });
  }

  active(delta: number, protocol: 'TCP' | 'UDP'): void {
    this.activeConnections.inc({ protocol }, delta);
  }
}
