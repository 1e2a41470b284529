// How the kubelet reads ConfigMaps, Secrets, PVCs and PVs (a GET when a container is configured,
// as upstream's `Get` change-detection strategy) and Services (one shared informer, for the
// Service link environment variables).
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service } from '@kemu/api';
import { type ApiClient, isNotFound, type SharedIndexInformer } from '@kemu/client';
import type { EnvSources } from './env.js';
import type { VolumeSources } from './volumes.js';

async function getOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export class ApiObjectSources implements EnvSources, VolumeSources {
  constructor(
    private readonly api: ApiClient,
    private readonly services_: SharedIndexInformer<Service>,
  ) {}

  configMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    return getOrUndefined(this.api.resource<ConfigMap>('configmaps').get(name, { namespace }));
  }

  secret(namespace: string, name: string): Promise<Secret | undefined> {
    return getOrUndefined(this.api.resource<Secret>('secrets').get(name, { namespace }));
  }

  pvc(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined> {
    return getOrUndefined(this.api.resource<PersistentVolumeClaim>('persistentvolumeclaims').get(name, { namespace }));
  }

  pv(name: string): Promise<PersistentVolume | undefined> {
    return getOrUndefined(this.api.resource<PersistentVolume>('persistentvolumes').get(name));
  }

  services(namespace: string): Service[] {
    const out = this.services_.list({ namespace });
    if (namespace !== 'default') {
      const master = this.services_.get('default', 'kubernetes');
      if (master) out.push(master);
    }
    return out;
  }
}
