// With --cluster-ip, the DNS process publishes itself the way a kubeadm cluster's CoreDNS is
// published: a `kube-system/kube-dns` Service (no selector: the DNS is not a pod) with that
// ClusterIP, and an EndpointSlice pointing at the DNS's --listen address. kube-proxy then carries
// `<clusterIP>:53` here. Kept converged (recreated when deleted), and the slice is removed on a
// graceful stop so clients are not sent to a DNS that is gone.
import type { EndpointSlice, Service } from '@kemu/api';
import { type ApiClient, isAlreadyExists, isNotFound } from '@kemu/client';
import type { Logger, Runtime, TimerHandle } from '@kemu/runtime';
import { SERVICE_NAME_LABEL } from '../service-rules.js';

export const DNS_SERVICE = { namespace: 'kube-system', name: 'kube-dns' } as const;
/** Label values allow no '/', so the manager is named the domain way. */
export const DNS_SLICE_MANAGER = 'cluster-dns.kemu.dev';

export interface DnsRegistrationOptions {
  api: ApiClient;
  clusterIp: string;
  /** Where this DNS listens (UDP and TCP). */
  endpoint: { ip: string; port: number };
  /** Names the EndpointSlice `kube-dns-<name>`. */
  name: string;
  runtime: Runtime;
  log: Logger;
  intervalMs: number;
}

export function dnsService(clusterIp: string, targetPort: number): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: DNS_SERVICE.name,
      namespace: DNS_SERVICE.namespace,
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS', 'kubernetes.io/cluster-service': 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIp,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort },
      ],
    },
  };
}

export function dnsSlice(name: string, endpoint: { ip: string; port: number }): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `kube-dns-${name}`,
      namespace: DNS_SERVICE.namespace,
      labels: {
        [SERVICE_NAME_LABEL]: DNS_SERVICE.name,
        'endpointslice.kubernetes.io/managed-by': DNS_SLICE_MANAGER,
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [endpoint.ip], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [
      { name: 'dns', port: endpoint.port, protocol: 'UDP' },
      { name: 'dns-tcp', port: endpoint.port, protocol: 'TCP' },
    ],
  };
}

/** What matters of a slice for routing (ignores fields the apiserver may default). */
function sliceShape(s: EndpointSlice): string {
  return JSON.stringify([
    (s.endpoints ?? []).map((e) => [e.addresses, e.conditions?.ready ?? true]),
    (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? 'TCP']),
  ]);
}

export class DnsRegistration {
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private warnedIp = false;

  constructor(private readonly opts: DnsRegistrationOptions) {}

  start(): void {
    this.kick();
    this.timer = this.opts.runtime.setInterval(() => this.kick(), this.opts.intervalMs);
  }

  /** Converge now (coalesced with a run in progress). */
  kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.ensure()
      .catch((err: unknown) =>
        this.opts.log.warn({ err: (err as Error).message }, 'publishing kube-dns failed; retrying'),
      )
      .finally(() => {
        this.running = null;
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
    const slices = this.opts.api.resource<EndpointSlice>('endpointslices.discovery.k8s.io', {
      namespace: DNS_SERVICE.namespace,
    });
    try {
      await slices.delete(dnsSlice(this.opts.name, this.opts.endpoint).metadata.name as string);
    } catch (err) {
      if (!isNotFound(err))
        this.opts.log.warn({ err: (err as Error).message }, 'could not remove the kube-dns EndpointSlice');
    }
  }

  private async ensure(): Promise<void> {
    const services = this.opts.api.resource<Service>('services', { namespace: DNS_SERVICE.namespace });
    const slices = this.opts.api.resource<EndpointSlice>('endpointslices.discovery.k8s.io', {
      namespace: DNS_SERVICE.namespace,
    });
    const wantSvc = dnsService(this.opts.clusterIp, this.opts.endpoint.port);
    try {
      const svc = await services.get(DNS_SERVICE.name);
      if (svc.spec?.clusterIP !== this.opts.clusterIp && !this.warnedIp) {
        this.warnedIp = true;
        this.opts.log.warn(
          { have: svc.spec?.clusterIP, want: this.opts.clusterIp },
          'kube-system/kube-dns exists with another ClusterIP (immutable); leaving it',
        );
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await services.create(wantSvc);
        this.opts.log.info({ clusterIP: this.opts.clusterIp }, 'created Service kube-system/kube-dns');
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    const want = dnsSlice(this.opts.name, this.opts.endpoint);
    const name = want.metadata.name as string;
    try {
      const have = await slices.get(name);
      if (sliceShape(have) !== sliceShape(want)) {
        await slices.update({ ...have, endpoints: want.endpoints, ports: want.ports });
        this.opts.log.info({ slice: name }, 'updated the kube-dns EndpointSlice');
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await slices.create(want);
        this.opts.log.info({ slice: name, endpoint: this.opts.endpoint }, 'created the kube-dns EndpointSlice');
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
  }
}
