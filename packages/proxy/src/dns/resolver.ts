// The cluster DNS's answers, as CoreDNS's kubernetes plugin gives them (DNS spec for Kubernetes,
// "Kubernetes DNS-Based Service Discovery"), computed from Services and EndpointSlices only:
//   <svc>.<ns>.svc.<zone>            A: ClusterIP; headless: ready endpoint IPs; ExternalName: CNAME
//   <host>.<svc>.<ns>.svc.<zone>     A of a headless endpoint (hostname, else its dashed IP)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV (+ A additionals)
//   <a-b-c-d>.<ns>.pod.<zone>        A a.b.c.d (CoreDNS "pods insecure": not checked against pods)
// Unknown names in the zone: NXDOMAIN with the SOA; known names without that type: NOERROR, no
// answers, SOA (NODATA); names outside the zone: REFUSED (no forwarding, see README).
import type { Answer, RecordType, SoaAnswer } from 'dns-packet';
import { parseIPv4 } from '../ipv4.js';
import type { ServiceView } from '../service-catalog.js';
import { type EndpointInfo, endpointsForPort, isHeadless } from '../service-rules.js';

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'FORMERR' | 'NOTIMP' | 'SERVFAIL';

export const RCODE_VALUES: Readonly<Record<Rcode, number>> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};

export interface DnsResult {
  rcode: Rcode;
  /** Whether we are the authority for the name (every name in the zone). */
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

export interface ResolverOptions {
  view: ServiceView;
  /** The cluster domain (default `cluster.local`). */
  domain?: string;
  /** TTL of every record (default 30 s, CoreDNS's default for the kubernetes plugin). */
  ttl?: number;
  /** False until the view is complete: names in the zone then get SERVFAIL, never a false NXDOMAIN. */
  isReady?: () => boolean;
}

interface Found {
  /** The records of the asked type (possibly none: NODATA). */
  answers: Answer[];
  additionals?: Answer[];
}

export class ClusterDnsResolver {
  readonly domain: string;
  readonly ttl: number;
  private readonly view: ServiceView;
  private readonly isReady: () => boolean;

  constructor(opts: ResolverOptions) {
    this.view = opts.view;
    this.isReady = opts.isReady ?? (() => true);
    this.domain = normalize(opts.domain ?? 'cluster.local');
    this.ttl = opts.ttl ?? 30;
  }

  resolve(qname: string, qtype: RecordType | string): DnsResult {
    const name = normalize(qname);
    if (name !== this.domain && !name.endsWith(`.${this.domain}`)) {
      return { rcode: 'REFUSED', authoritative: false, answers: [], authorities: [], additionals: [] };
    }
    if (!this.isReady()) {
      return { rcode: 'SERVFAIL', authoritative: false, answers: [], authorities: [], additionals: [] };
    }
    const labels = name === this.domain ? [] : name.slice(0, -(this.domain.length + 1)).split('.');
    const found = this.lookup(labels, name, qtype);
    if (found === undefined) {
      return { rcode: 'NXDOMAIN', authoritative: true, answers: [], authorities: [this.soa()], additionals: [] };
    }
    return {
      rcode: 'NOERROR',
      authoritative: true,
      answers: found.answers,
      authorities: found.answers.length === 0 ? [this.soa()] : [],
      additionals: found.additionals ?? [],
    };
  }

  /** undefined: the name does not exist; otherwise the records of `qtype` at it (maybe none). */
  private lookup(labels: string[], name: string, qtype: string): Found | undefined {
    if (labels.length === 0) {
      if (qtype === 'SOA') return { answers: [this.soa()] };
      if (qtype === 'NS') return { answers: [{ type: 'NS', name, ttl: this.ttl, data: this.nsName() }] };
      return { answers: [] };
    }
    const kind = labels[labels.length - 1];
    if (kind === 'svc') return this.lookupService(labels.slice(0, -1), name, qtype);
    if (kind === 'pod') return this.lookupPod(labels.slice(0, -1), name, qtype);
    return undefined;
  }

  private lookupPod(labels: string[], name: string, qtype: string): Found | undefined {
    if (labels.length === 0) return { answers: [] };
    if (labels.length === 1) return this.namespaceExists(labels[0] as string) ? { answers: [] } : undefined;
    if (labels.length !== 2) return undefined;
    const ip = (labels[0] as string).replaceAll('-', '.');
    if (parseIPv4(ip) === undefined) return undefined;
    return { answers: qtype === 'A' || qtype === 'ANY' ? [this.a(name, ip)] : [] };
  }

  private lookupService(labels: string[], name: string, qtype: string): Found | undefined {
    // labels are (from the left) [endpoint | _port _proto]? svc ns
    if (labels.length === 0) return { answers: [] };
    const ns = labels[labels.length - 1] as string;
    if (labels.length === 1) return this.namespaceExists(ns) ? { answers: [] } : undefined;
    const svcName = labels[labels.length - 2] as string;
    const svc = this.view.service(ns, svcName);
    if (!svc) return undefined;
    const svcFqdn = `${svcName}.${ns}.svc.${this.domain}`;
    const rest = labels.slice(0, -2);

    if (svc.spec?.type === 'ExternalName') {
      if (rest.length !== 0) return undefined;
      const target = normalize(svc.spec.externalName ?? '');
      return { answers: target === '' ? [] : [{ type: 'CNAME', name, ttl: this.ttl, data: target }] };
    }
    const headless = isHeadless(svc);
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    const slices = this.view.slicesFor(ns, svcName);
    // Every endpoint of every port, by IP (a headless pod has one IP whatever its ports).
    const endpointsOf = (portName: string, proto: 'TCP' | 'UDP'): EndpointInfo[] =>
      endpointsForPort(slices, portName, proto).filter((e) => e.ready || publishNotReady);
    const allEndpoints = (): EndpointInfo[] => {
      const byIp = new Map<string, EndpointInfo>();
      for (const slice of slices) {
        for (const ep of slice.endpoints ?? []) {
          const ip = ep.addresses?.[0];
          const ready = ep.conditions?.ready ?? true;
          if (ip === undefined || byIp.has(ip) || !(ready || publishNotReady)) continue;
          byIp.set(ip, {
            ip,
            port: 0,
            ready,
            serving: ready,
            terminating: false,
            ...(ep.hostname !== undefined ? { hostname: ep.hostname } : {}),
          });
        }
      }
      return [...byIp.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    };
    const endpointLabel = (e: EndpointInfo): string => e.hostname ?? e.ip.replaceAll('.', '-');
    const serviceA = (owner: string): Answer[] =>
      headless ? allEndpoints().map((e) => this.a(owner, e.ip)) : [this.a(owner, svc.spec?.clusterIP as string)];

    if (rest.length === 0) {
      if (qtype === 'A' || qtype === 'ANY') return { answers: serviceA(name) };
      if (qtype === 'SRV') {
        const answers: Answer[] = [];
        const additionals: Answer[] = [];
        for (const p of svc.spec?.ports ?? []) {
          if (!p.name) continue;
          const r = this.srv(
            name,
            svcFqdn,
            headless,
            p.port,
            endpointsOf(p.name, p.protocol === 'UDP' ? 'UDP' : 'TCP'),
            endpointLabel,
          );
          answers.push(...r.answers);
          additionals.push(...(r.additionals ?? []));
        }
        return { answers, additionals };
      }
      return { answers: [] };
    }
    if (rest.length === 1) {
      // <endpoint>.<svc>.<ns>.svc: only headless services publish endpoint names.
      const label = rest[0] as string;
      if (!headless) return undefined;
      const ep = allEndpoints().find((e) => endpointLabel(e) === label);
      if (!ep) return undefined;
      return { answers: qtype === 'A' || qtype === 'ANY' ? [this.a(name, ep.ip)] : [] };
    }
    if (rest.length === 2) {
      const [portLabel, protoLabel] = rest as [string, string];
      if (!portLabel.startsWith('_') || !protoLabel.startsWith('_')) return undefined;
      const portName = portLabel.slice(1);
      const proto = protoLabel.slice(1).toUpperCase();
      const port = (svc.spec?.ports ?? []).find(
        (p) => p.name === portName && (p.protocol ?? 'TCP') === proto && (proto === 'TCP' || proto === 'UDP'),
      );
      if (!port) return undefined;
      if (qtype === 'SRV') {
        return this.srv(
          name,
          svcFqdn,
          headless,
          port.port,
          endpointsOf(portName, proto as 'TCP' | 'UDP'),
          endpointLabel,
        );
      }
      if (qtype === 'A' || qtype === 'ANY') return { answers: serviceA(name) };
      return { answers: [] };
    }
    return undefined;
  }

  /** ClusterIP: one SRV to the service name; headless: one per ready endpoint, each with its A. */
  private srv(
    owner: string,
    svcFqdn: string,
    headless: boolean,
    servicePort: number,
    endpoints: EndpointInfo[],
    label: (e: EndpointInfo) => string,
  ): Found {
    if (!headless) return { answers: [this.srvRecord(owner, svcFqdn, servicePort, 100)], additionals: [] };
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    const weight = endpoints.length === 0 ? 0 : Math.max(1, Math.floor(100 / endpoints.length));
    for (const e of endpoints) {
      const target = `${label(e)}.${svcFqdn}`;
      answers.push(this.srvRecord(owner, target, e.port, weight));
      additionals.push(this.a(target, e.ip));
    }
    return { answers, additionals };
  }

  private srvRecord(owner: string, target: string, port: number, weight: number): Answer {
    return { type: 'SRV', name: owner, ttl: this.ttl, data: { priority: 0, weight, port, target } };
  }

  private a(name: string, ip: string): Answer {
    return { type: 'A', name, ttl: this.ttl, data: ip };
  }

  private namespaceExists(ns: string): boolean {
    return this.view.services().some((s) => s.metadata.namespace === ns);
  }

  private nsName(): string {
    return `ns.dns.${this.domain}`;
  }

  soa(): SoaAnswer {
    return {
      type: 'SOA',
      name: this.domain,
      ttl: this.ttl,
      data: {
        mname: this.nsName(),
        rname: `hostmaster.${this.domain}`,
        // A fixed serial: nothing transfers this zone, and CoreDNS's own serial carries no meaning either.
        serial: 1,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }
}

/** Lower case, no trailing dot. */
export function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}
