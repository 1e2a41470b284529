// Services and their EndpointSlices as kube-proxy and the cluster DNS see them: two informers, and
// slices indexed by the Service they belong to (label kubernetes.io/service-name).
import type { EndpointSlice, Service } from '@kemu/api';
import type { SharedIndexInformer, SharedInformerFactory } from '@kemu/client';
import { SERVICE_NAME_LABEL } from './service-rules.js';

/** The read side both consumers need; the DNS unit tests implement it over plain arrays. */
export interface ServiceView {
  services(): Service[];
  service(namespace: string, name: string): Service | undefined;
  slicesFor(namespace: string, name: string): EndpointSlice[];
}

const BY_SERVICE = 'byService';

export class ServiceCatalog implements ServiceView {
  readonly serviceInformer: SharedIndexInformer<Service>;
  readonly sliceInformer: SharedIndexInformer<EndpointSlice>;

  constructor(factory: SharedInformerFactory) {
    this.serviceInformer = factory.forResource<Service>('services');
    this.sliceInformer = factory.forResource<EndpointSlice>('endpointslices.discovery.k8s.io', {
      indexers: {
        [BY_SERVICE]: (s) => {
          const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
          return svc ? [`${s.metadata.namespace ?? ''}/${svc}`] : [];
        },
      },
    });
  }

  /** Calls `fn` after any change to a Service or an EndpointSlice. */
  onChange(fn: () => void): void {
    const handler = { onAdd: fn, onUpdate: fn, onDelete: fn };
    this.serviceInformer.addEventHandler(handler);
    this.sliceInformer.addEventHandler(handler);
  }

  hasSynced(): boolean {
    return this.serviceInformer.hasSynced() && this.sliceInformer.hasSynced();
  }

  services(): Service[] {
    return this.serviceInformer.store.list();
  }

  service(namespace: string, name: string): Service | undefined {
    return this.serviceInformer.store.get(namespace, name);
  }

  slicesFor(namespace: string, name: string): EndpointSlice[] {
    return this.sliceInformer.store.byIndex(BY_SERVICE, `${namespace}/${name}`);
  }
}
