// The autoscaling/v1 Scale view of Deployments, ReplicaSets and StatefulSets (contract §7):
// GET …/scale builds it from the object, PUT/PATCH …/scale writes spec.replicas back.
import { labelSelectorAsSelector } from './labels.js';
import type { KubeObject, LabelSelector } from './types/meta.js';
import type { Scale } from './types/misc.js';

interface Scalable extends KubeObject {
  spec?: { replicas?: number; selector?: LabelSelector };
  status?: { replicas?: number };
}

/** The Scale for a scalable object; `status.selector` is the selector in string form (`app=d1`). */
export function scaleOf(obj: Scalable): Scale {
  const m = obj.metadata;
  const metadata: Scale['metadata'] = {};
  if (m.name !== undefined) metadata.name = m.name;
  if (m.namespace !== undefined) metadata.namespace = m.namespace;
  if (m.uid !== undefined) metadata.uid = m.uid;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  if (m.creationTimestamp !== undefined) metadata.creationTimestamp = m.creationTimestamp;
  let selector = '';
  try {
    selector = labelSelectorAsSelector(obj.spec?.selector).toString();
  } catch {
    selector = '';
  }
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata,
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector },
  };
}

/**
 * A copy of `obj` with the Scale's `spec.replicas` applied. Bumping `metadata.generation` is the
 * apiserver's job (it does so for every spec change).
 */
export function applyScale<T extends Scalable>(obj: T, scale: Scale): T {
  const out = structuredClone(obj);
  out.spec = { ...(out.spec ?? {}), replicas: scale.spec?.replicas ?? 0 };
  return out;
}
