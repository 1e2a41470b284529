// endpoints-controller (upstream pkg/controller/endpoint): for every Service with a selector, an
// Endpoints object of the same name listing the selected pods: ready ones in `addresses`, the others
// in `notReadyAddresses` (all in `addresses` with publishNotReadyAddresses), grouped into subsets by
// their resolved port set (upstream RepackSubsets), labels copied from the Service (+ headless).
// kube-proxy and DNS read these, so a pod event reaches the Endpoints in one reconcile: the pods
// handler enqueues exactly the services selecting the pod (old and new labels), 4 workers.
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service } from '@kemu/api';
import { isAlreadyExists, objectKey, runController, splitKey } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../../context.js';
import { eachObject, ignoreNotFound, newQueue, same, unwrap } from '../util.js';
import {
  HEADLESS_LABEL,
  hasSelector,
  isHeadless,
  isNamespaceTerminating,
  LAST_CHANGE_TRIGGER_TIME,
  podHostname,
  podReadyForService,
  resolvePort,
  rfc3339Nano,
  selectedPods,
  servicesSelecting,
  shouldPodBeInEndpoints,
  TriggerTimes,
} from './pods.js';

/** The subsets a service's Endpoints should hold, in a canonical order. */
export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publish = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publish)) continue;
    const addr: EndpointAddress = { ip: pod.status?.podIP ?? '' };
    const hostname = podHostname(pod, svc);
    if (hostname !== undefined) addr.hostname = hostname;
    if ((pod.spec.nodeName ?? '') !== '') addr.nodeName = pod.spec.nodeName;
    addr.targetRef = {
      kind: 'Pod',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name ?? '',
      uid: pod.metadata.uid ?? '',
    };
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      const port = resolvePort(pod, sp);
      if (port === undefined) continue;
      const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
      if (sp.name !== undefined && sp.name !== '') ep.name = sp.name;
      if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
      ports.push(ep);
    }
    // A pod none of whose ports resolve is left out, unless the service has no ports (headless).
    if (ports.length === 0 && (svc.spec?.ports ?? []).length > 0) continue;
    ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port);
    const sig = JSON.stringify(ports);
    let g = groups.get(sig);
    if (g === undefined) {
      g = { ports, ready: [], notReady: [] };
      groups.set(sig, g);
    }
    (podReadyForService(pod, svc) ? g.ready : g.notReady).push(addr);
  }
  const byIp = (a: EndpointAddress, b: EndpointAddress) =>
    a.ip.localeCompare(b.ip) || (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? '');
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => {
      const s: EndpointSubset = {};
      if (g.ready.length > 0) s.addresses = g.ready.sort(byIp);
      if (g.notReady.length > 0) s.notReadyAddresses = g.notReady.sort(byIp);
      if (g.ports.length > 0) s.ports = g.ports;
      return s;
    });
}

export function endpointsLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

export const endpointsController: ControllerDescriptor = {
  name: 'endpoint',
  start(ctx: ControllerContext) {
    const services = ctx.informers.forResource<Service>('services');
    const pods = ctx.informers.forResource<Pod>('pods');
    const endpoints = ctx.informers.forResource<Endpoints>('endpoints');
    const queue = newQueue(ctx, 'endpoint');
    const triggers = new TriggerTimes();

    // Endpoints of a Service seen deleted are deleted (user-written Endpoints without a Service stay).
    const servicesGone = new Set<string>();
    services.addEventHandler(
      eachObject((svc, kind) => {
        const key = objectKey(svc);
        if (kind === 'delete') servicesGone.add(key);
        triggers.note(key, ctx.runtime.now());
        queue.add(key);
      }),
    );
    pods.addEventHandler(
      eachObject((pod) => {
        for (const svc of servicesSelecting(pod, services)) {
          const key = objectKey(svc);
          triggers.note(key, ctx.runtime.now());
          queue.add(key);
        }
      }),
    );
    // Someone else changed or deleted an Endpoints we manage: put it back.
    endpoints.addEventHandler({
      onUpdate: (_old, ep) => queue.add(objectKey(ep)),
      onDelete: (ep) => queue.add(objectKey(unwrap(ep))),
    });

    const reconcile = async (key: string) => {
      const { namespace, name } = splitKey(key);
      const ns = namespace ?? 'default';
      const client = ctx.api.resource<Endpoints>('endpoints', { namespace: ns });
      const svc = services.store.getByKey(key);
      if (svc === undefined) {
        triggers.take(key);
        if (servicesGone.delete(key)) await ignoreNotFound(client.delete(name));
        return;
      }
      servicesGone.delete(key);
      if (!hasSelector(svc)) return;
      const subsets = desiredSubsets(svc, selectedPods(svc, pods));
      const labels = endpointsLabels(svc);
      const current = endpoints.get(ns, name);
      if (
        current !== undefined &&
        same(current.subsets ?? [], subsets) &&
        same(current.metadata.labels ?? {}, labels)
      ) {
        triggers.take(key);
        return;
      }
      const trigger = triggers.take(key);
      const annotations: Record<string, string> = { ...(current?.metadata.annotations ?? {}) };
      if (trigger !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(trigger);
      else delete annotations[LAST_CHANGE_TRIGGER_TIME];
      const next: Endpoints = {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { ...(current?.metadata ?? {}), name, namespace: ns, labels, annotations },
        subsets,
      };
      try {
        if (current === undefined) await client.create(next);
        else await client.update(next);
      } catch (err) {
        if (trigger !== undefined) triggers.note(key, trigger);
        // Our cache is behind (it exists already): retry once the informer has it.
        if (isAlreadyExists(err)) {
          queue.addAfter(key, 20);
          return;
        }
        if (isNamespaceTerminating(err)) return;
        throw err;
      }
    };

    return runController({
      name: 'endpoint',
      runtime: ctx.runtime,
      informers: [services, pods, endpoints],
      queue,
      reconcile,
      workers: 4,
      log: ctx.log,
    });
  },
};
