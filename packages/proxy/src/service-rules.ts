// The pure half of kube-proxy: from Services and EndpointSlices to the set of listeners this node's
// proxy wants (one per ClusterIP:port, NodePort and external IP) and the endpoints each may use.
// Follows pkg/proxy's ServicePort / Endpoint / CategorizeEndpoints; no sockets here.
import type { EndpointSlice, Service } from '@kemu/api';

export type L4Protocol = 'TCP' | 'UDP';

/** One endpoint of one service port: where a connection may go. */
export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  hostname?: string;
  /** `namespace/name` of the pod behind it, if the slice says. */
  pod?: string;
}

export type ListenerKind = 'clusterIP' | 'nodePort' | 'externalIP';

/** A socket this proxy wants to hold, and where its traffic goes. */
export interface DesiredListener {
  /** `TCP/127.96.0.12:80`: unique per socket on this host. */
  key: string;
  kind: ListenerKind;
  protocol: L4Protocol;
  ip: string;
  port: number;
  /** `namespace/name:portName` (portName empty for an unnamed port), as kube-proxy logs it. */
  servicePort: string;
  /** Endpoints traffic may go to, already filtered by readiness and traffic policy, as `ip:port`. */
  endpoints: string[];
  /** ClientIP affinity timeout, or null without affinity. */
  affinityTimeoutMs: number | null;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function listenerKey(protocol: L4Protocol, ip: string, port: number): string {
  return `${protocol}/${ip}:${port}`;
}

/** True for Services that get no ClusterIP socket: headless and ExternalName. */
export function isHeadless(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return svc.spec?.type === 'ExternalName' || ip === undefined || ip === '' || ip === 'None';
}

function protocolOf(p: string | undefined): L4Protocol | undefined {
  if (p === undefined || p === 'TCP') return 'TCP';
  if (p === 'UDP') return 'UDP';
  return undefined; // SCTP: not carried (no SCTP in node:net)
}

/**
 * All endpoints of a service port found in its slices: slice ports matched by name and protocol,
 * duplicates across slices (during a controller's rewrite) counted once.
 */
export function endpointsForPort(
  slices: readonly EndpointSlice[],
  portName: string,
  protocol: L4Protocol,
): EndpointInfo[] {
  const out = new Map<string, EndpointInfo>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    for (const sp of slice.ports ?? []) {
      if ((sp.name ?? '') !== portName || (protocolOf(sp.protocol) ?? 'none') !== protocol) continue;
      if (sp.port === undefined) continue;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (ip === undefined) continue;
        const key = `${ip}:${sp.port}`;
        if (out.has(key)) continue;
        // Unset conditions mean ready/serving (the API's documented default), terminating means not.
        const ready = ep.conditions?.ready ?? true;
        const info: EndpointInfo = {
          ip,
          port: sp.port,
          ready,
          serving: ep.conditions?.serving ?? ready,
          terminating: ep.conditions?.terminating ?? false,
        };
        if (ep.nodeName !== undefined) info.nodeName = ep.nodeName;
        if (ep.hostname !== undefined) info.hostname = ep.hostname;
        if (ep.targetRef?.kind === 'Pod' && ep.targetRef.name)
          info.pod = `${ep.targetRef.namespace ?? slice.metadata.namespace ?? ''}/${ep.targetRef.name}`;
        out.set(key, info);
      }
    }
  }
  return [...out.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

/**
 * pkg/proxy/topology.go CategorizeEndpoints, reduced to one policy at a time: ready endpoints; if
 * there are none, serving-and-terminating ones (so a rollout does not drop traffic); with policy
 * Local only those on this node (and none at all if this node has none: traffic is dropped).
 */
export function usableEndpoints(all: readonly EndpointInfo[], local: boolean, nodeName: string): string[] {
  const pool = local ? all.filter((e) => e.nodeName === nodeName) : all;
  let chosen = pool.filter((e) => e.ready);
  if (chosen.length === 0) chosen = pool.filter((e) => e.serving && e.terminating);
  return chosen.map((e) => `${e.ip}:${e.port}`);
}

export interface RuleContext {
  nodeName: string;
  /** Addresses NodePorts are opened on (the node's --node-ip). */
  nodeIps: readonly string[];
}

/** The listeners this node's proxy wants for one Service, given the slices labelled with its name. */
export function listenersForService(
  svc: Service,
  slices: readonly EndpointSlice[],
  ctx: RuleContext,
): DesiredListener[] {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return [];
  const ns = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name ?? '';
  const affinityTimeoutMs =
    spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) * 1000 : null;
  const headless = isHeadless(svc);
  const out: DesiredListener[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = protocolOf(p.protocol);
    if (protocol === undefined) continue;
    const portName = p.name ?? '';
    const servicePort = `${ns}/${name}:${portName}`;
    const all = endpointsForPort(slices, portName, protocol);
    const internal = usableEndpoints(all, spec.internalTrafficPolicy === 'Local', ctx.nodeName);
    const external = usableEndpoints(all, spec.externalTrafficPolicy === 'Local', ctx.nodeName);
    const add = (kind: ListenerKind, ip: string, port: number, endpoints: string[]) =>
      out.push({
        key: listenerKey(protocol, ip, port),
        kind,
        protocol,
        ip,
        port,
        servicePort,
        endpoints,
        affinityTimeoutMs,
      });
    if (!headless) {
      for (const ip of new Set([spec.clusterIP as string, ...(spec.clusterIPs ?? [])])) {
        if (ip.includes(':')) continue; // IPv6 family: not carried
        add('clusterIP', ip, p.port, internal);
      }
      for (const ip of spec.externalIPs ?? []) add('externalIP', ip, p.port, external);
    }
    if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort) {
      for (const ip of ctx.nodeIps) add('nodePort', ip, p.nodePort, external);
    }
  }
  return out;
}

/**
 * Every listener wanted for a set of Services. Two Services claiming the same socket (possible only
 * with hand-written external IPs) resolve to the older one, so the choice is stable.
 */
export function desiredListeners(
  services: readonly Service[],
  slicesFor: (namespace: string, name: string) => readonly EndpointSlice[],
  ctx: RuleContext,
): Map<string, DesiredListener> {
  const ordered = [...services].sort((a, b) => {
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    return ta === tb ? 0 : ta < tb ? -1 : 1;
  });
  const out = new Map<string, DesiredListener>();
  for (const svc of ordered) {
    const slices = slicesFor(svc.metadata.namespace ?? 'default', svc.metadata.name ?? '');
    for (const l of listenersForService(svc, slices, ctx)) if (!out.has(l.key)) out.set(l.key, l);
  }
  return out;
}
