// What the Endpoints and EndpointSlice controllers both derive from a Service and its pods
// (upstream pkg/controller/util/endpoint): which pods belong, whether they count as ready, and the
// port each service port resolves to on each pod.
import { isPodReady, type Pod, type Service, type ServicePort, selectorFromSet } from '@kemu/api';
import { isForbidden, type SharedIndexInformer } from '@kemu/client';

export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

/** A service the endpoint controllers manage: it has a selector (and is not ExternalName). */
export function hasSelector(svc: Service): boolean {
  return svc.spec?.type !== 'ExternalName' && Object.keys(svc.spec?.selector ?? {}).length > 0;
}

/**
 * upstream ShouldPodBeInEndpoints: a pod with an IP that is not terminal; a terminating pod only when
 * `includeTerminating` (Endpoints: publishNotReadyAddresses; slices: always, marked terminating).
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if ((pod.status?.podIP ?? '') === '') return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp !== undefined) return false;
  const phase = pod.status?.phase;
  const restart = pod.spec.restartPolicy ?? 'Always';
  if (restart === 'Never') return phase !== 'Failed' && phase !== 'Succeeded';
  if (restart === 'OnFailure') return phase !== 'Succeeded';
  return true;
}

/** Counted ready: Ready condition True (not terminating), or the service publishes not-ready addresses. */
export function podReadyForService(pod: Pod, svc: Service): boolean {
  if (svc.spec?.publishNotReadyAddresses === true) return true;
  return isPodReady(pod) && pod.metadata.deletionTimestamp === undefined;
}

/**
 * upstream podutil.FindPort: a numeric targetPort as is (the service port when absent); a named one
 * resolves to the pod's container port of that name and protocol, else the port is skipped for this pod.
 */
export function resolvePort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^[0-9]+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** Pods selected by the service, in its namespace, from the shared pods cache. */
export function selectedPods(svc: Service, pods: SharedIndexInformer<Pod>): Pod[] {
  const sel = selectorFromSet(svc.spec?.selector ?? {});
  return pods.list({ namespace: svc.metadata.namespace ?? 'default', labelSelector: sel });
}

/** The hostname a headless service gives a pod (pod.spec.hostname when its subdomain is the service). */
export function podHostname(pod: Pod, svc: Service): string | undefined {
  const host = pod.spec.hostname;
  if (!isHeadless(svc) || host === undefined || host === '') return undefined;
  return pod.spec.subdomain === svc.metadata.name ? host : undefined;
}

/** Services in the pod's namespace whose selector matches the pod's labels. */
export function servicesSelecting(pod: Pod, services: SharedIndexInformer<Service>): Service[] {
  return services
    .list({ namespace: pod.metadata.namespace ?? 'default' })
    .filter((s) => hasSelector(s) && selectorFromSet(s.spec?.selector ?? {}).matches(pod.metadata.labels));
}

/**
 * The earliest change not yet written to the service's endpoints (upstream TriggerTimeTracker, kept
 * simple): handlers note the time they saw a relevant change; the reconcile that writes takes and clears it.
 */
export class TriggerTimes {
  private readonly pending = new Map<string, number>();
  note(serviceKey: string, at: number): void {
    const cur = this.pending.get(serviceKey);
    if (cur === undefined || at < cur) this.pending.set(serviceKey, at);
  }
  take(serviceKey: string): number | undefined {
    const at = this.pending.get(serviceKey);
    this.pending.delete(serviceKey);
    return at;
  }
}

/** Go's time.RFC3339Nano as the annotation carries it (trailing zeros of the fraction trimmed). */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString();
  const [head, frac = ''] = iso.slice(0, -1).split('.');
  const trimmed = frac.replace(/0+$/, '');
  return trimmed === '' ? `${head}Z` : `${head}.${trimmed}Z`;
}

/**
 * A create refused because the namespace is being deleted (upstream checks the NamespaceTerminating
 * cause): retrying cannot succeed, the namespace controller is removing everything anyway.
 */
export function isNamespaceTerminating(err: unknown): boolean {
  return isForbidden(err) && /because it is being terminated/.test((err as Error).message);
}
