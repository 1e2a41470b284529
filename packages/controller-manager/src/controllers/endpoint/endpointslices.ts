// endpointslice-controller (upstream pkg/controller/endpointslice): for every Service with a
// selector, discovery.k8s.io/v1 EndpointSlices labelled `kubernetes.io/service-name` and
// `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, owned by the Service,
// one endpoint per selected pod (terminating ones included, with conditions ready / serving /
// terminating), grouped by resolved port set, at most 100 endpoints a slice; a Service without
// endpoints keeps one empty placeholder slice. Slices are named by generateName `<service>-`.
// Our own recent writes are remembered until the informer shows them, so a reconcile racing its
// cache never creates a duplicate slice (upstream's endpointSliceTracker plays this role).
import type { EndpointSlice, EndpointSliceEndpoint, EndpointSlicePort, Pod, Service } from '@kemu/api';
import { objectKey, runController, splitKey } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../../context.js';
import { eachObject, ignoreNotFound, newQueue, same, unwrap } from '../util.js';
import {
  HEADLESS_LABEL,
  hasSelector,
  isHeadless,
  isNamespaceTerminating,
  LAST_CHANGE_TRIGGER_TIME,
  podHostname,
  resolvePort,
  rfc3339Nano,
  selectedPods,
  servicesSelecting,
  shouldPodBeInEndpoints,
  TriggerTimes,
} from './pods.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const MAX_ENDPOINTS_PER_SLICE = 100;

interface Group {
  ports: EndpointSlicePort[];
  endpoints: EndpointSliceEndpoint[];
}

/** Desired slice contents: endpoints grouped by port set, each group sorted, in canonical order. */
export function desiredGroups(svc: Service, pods: readonly Pod[]): Group[] {
  const publish = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, Group>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports: EndpointSlicePort[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      const port = resolvePort(pod, sp);
      if (port === undefined) continue;
      const p: EndpointSlicePort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol;
      ports.push(p);
    }
    if (ports.length === 0 && (svc.spec?.ports ?? []).length > 0) continue;
    ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || (a.port ?? 0) - (b.port ?? 0));
    // upstream podToEndpoint
    const serving = publish || (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ep: EndpointSliceEndpoint = {
      addresses: [pod.status?.podIP ?? ''],
      conditions: { ready: publish || (serving && !terminating), serving, terminating },
    };
    const hostname = podHostname(pod, svc);
    if (hostname !== undefined) ep.hostname = hostname;
    if ((pod.spec.nodeName ?? '') !== '') ep.nodeName = pod.spec.nodeName;
    ep.targetRef = {
      kind: 'Pod',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name ?? '',
      uid: pod.metadata.uid ?? '',
    };
    const sig = JSON.stringify(ports);
    let g = groups.get(sig);
    if (g === undefined) {
      g = { ports, endpoints: [] };
      groups.set(sig, g);
    }
    g.endpoints.push(ep);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ports: g.ports,
      endpoints: g.endpoints.sort(
        (a, b) =>
          (a.addresses[0] ?? '').localeCompare(b.addresses[0] ?? '') ||
          (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? ''),
      ),
    }));
}

export function sliceLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  labels[SERVICE_NAME_LABEL] = svc.metadata.name ?? '';
  labels[MANAGED_BY_LABEL] = CONTROLLER_NAME;
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

const portsOf = (s: EndpointSlice) => JSON.stringify(s.ports ?? null);
const rvOf = (s: EndpointSlice) => Number(s.metadata.resourceVersion ?? '0');

export const endpointSliceController: ControllerDescriptor = {
  name: 'endpointslice',
  start(ctx: ControllerContext) {
    const services = ctx.informers.forResource<Service>('services');
    const pods = ctx.informers.forResource<Pod>('pods');
    const slices = ctx.informers.forResource<EndpointSlice>('endpointslices.discovery.k8s.io');
    const queue = newQueue(ctx, 'endpointslice');
    const triggers = new TriggerTimes();
    // ns/name → what we last wrote (until the cache is at least that new) / names we deleted.
    const written = new Map<string, EndpointSlice>();
    const deleted = new Set<string>();

    const managedServiceKey = (s: EndpointSlice): string | undefined => {
      const labels = s.metadata.labels ?? {};
      if (labels[MANAGED_BY_LABEL] !== CONTROLLER_NAME) return undefined;
      const svc = labels[SERVICE_NAME_LABEL];
      return svc === undefined ? undefined : `${s.metadata.namespace ?? 'default'}/${svc}`;
    };

    services.addEventHandler(
      eachObject((svc) => {
        triggers.note(objectKey(svc), ctx.runtime.now());
        queue.add(objectKey(svc));
      }),
    );
    pods.addEventHandler(
      eachObject((pod) => {
        for (const svc of servicesSelecting(pod, services)) {
          triggers.note(objectKey(svc), ctx.runtime.now());
          queue.add(objectKey(svc));
        }
      }),
    );
    slices.addEventHandler({
      onAdd: (s) => seen(s),
      onUpdate: (_old, s) => {
        seen(s);
        const svc = managedServiceKey(s);
        if (svc !== undefined) queue.add(svc);
      },
      onDelete: (obj) => {
        const s = unwrap(obj);
        written.delete(objectKey(s));
        deleted.delete(objectKey(s));
        const svc = managedServiceKey(s);
        if (svc !== undefined) queue.add(svc);
      },
    });
    function seen(s: EndpointSlice) {
      const w = written.get(objectKey(s));
      if (w !== undefined && rvOf(s) >= rvOf(w)) written.delete(objectKey(s));
    }

    /** The service's slices: the cache, overlaid with our newer writes, minus our deletes. */
    const currentSlices = (ns: string, svcName: string): EndpointSlice[] => {
      const out = new Map<string, EndpointSlice>();
      for (const s of slices.list({ namespace: ns })) {
        if (managedServiceKey(s) === `${ns}/${svcName}`) out.set(objectKey(s), s);
      }
      for (const [key, w] of written) {
        if (managedServiceKey(w) !== `${ns}/${svcName}`) continue;
        const c = out.get(key);
        if (c === undefined || rvOf(w) > rvOf(c)) out.set(key, w);
      }
      for (const key of deleted) out.delete(key);
      return [...out.values()].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    };

    const reconcile = async (key: string) => {
      const { namespace, name } = splitKey(key);
      const ns = namespace ?? 'default';
      const client = ctx.api.resource<EndpointSlice>('endpointslices.discovery.k8s.io', { namespace: ns });
      const svc = services.store.getByKey(key);
      const existing = currentSlices(ns, name);
      const remove = async (s: EndpointSlice) => {
        const k = objectKey(s);
        await ignoreNotFound(client.delete(s.metadata.name ?? ''));
        written.delete(k);
        if (slices.store.getByKey(k) !== undefined) deleted.add(k);
      };
      if (svc === undefined || !hasSelector(svc)) {
        triggers.take(key);
        for (const s of existing) await remove(s);
        return;
      }
      const labels = sliceLabels(svc);
      // Chunks of at most MAX_ENDPOINTS_PER_SLICE per port set; one placeholder if there is nothing.
      const wanted: { ports: EndpointSlicePort[] | undefined; endpoints: EndpointSliceEndpoint[] }[] = [];
      for (const g of desiredGroups(svc, selectedPods(svc, pods))) {
        for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
          wanted.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
        }
      }
      if (wanted.length === 0) wanted.push({ ports: undefined, endpoints: [] });

      const unused = [...existing];
      const plan: { want: (typeof wanted)[number]; slice: EndpointSlice | undefined }[] = [];
      for (const want of wanted) {
        const sig = JSON.stringify(want.ports ?? null);
        const i = unused.findIndex((s) => portsOf(s) === sig);
        plan.push({ want, slice: i >= 0 ? unused.splice(i, 1)[0] : undefined });
      }
      const changed = plan.some(
        (p) =>
          p.slice === undefined ||
          !same(p.slice.endpoints ?? [], p.want.endpoints) ||
          !same(p.slice.metadata.labels ?? {}, labels),
      );
      if (!changed && unused.length === 0) {
        triggers.take(key);
        return;
      }
      const trigger = triggers.take(key);
      const owner = {
        apiVersion: 'v1',
        kind: 'Service',
        name,
        uid: svc.metadata.uid ?? '',
        controller: true,
        blockOwnerDeletion: true,
      };
      try {
        for (const { want, slice } of plan) {
          if (
            slice !== undefined &&
            same(slice.endpoints ?? [], want.endpoints) &&
            same(slice.metadata.labels ?? {}, labels)
          ) {
            continue;
          }
          const annotations: Record<string, string> = { ...(slice?.metadata.annotations ?? {}) };
          if (trigger !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(trigger);
          const next: EndpointSlice = {
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata:
              slice === undefined
                ? { generateName: `${name}-`, namespace: ns, labels, annotations, ownerReferences: [owner] }
                : { ...slice.metadata, labels, annotations, ownerReferences: [owner] },
            addressType: 'IPv4',
            endpoints: want.endpoints,
          };
          if (want.ports !== undefined) next.ports = want.ports;
          const stored = slice === undefined ? await client.create(next) : await client.update(next);
          written.set(objectKey(stored), stored);
        }
        for (const s of unused) await remove(s);
      } catch (err) {
        if (isNamespaceTerminating(err)) return;
        if (trigger !== undefined) triggers.note(key, trigger);
        throw err;
      }
    };

    return runController({
      name: 'endpointslice',
      runtime: ctx.runtime,
      informers: [services, pods, slices],
      queue,
      reconcile,
      workers: 4,
      log: ctx.log,
    });
  },
};
