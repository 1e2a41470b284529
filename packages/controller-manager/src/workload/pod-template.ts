import type { KubeObject, OwnerReference, Pod, PodTemplateSpec } from '@kemu/api';

/**
 * controller.GetPodFromTemplate: a pod built from a workload's template, owned by it. Labels,
 * annotations and finalizers come from the template; the name from `generateName` unless given.
 */
export function podFromTemplate(
  template: PodTemplateSpec,
  owner: KubeObject,
  ownerRef: OwnerReference,
  opts: { generateName?: string; name?: string; extraLabels?: Record<string, string> } = {},
): Pod {
  const meta = template.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: owner.metadata.namespace ?? 'default',
      labels: { ...(meta.labels ?? {}), ...(opts.extraLabels ?? {}) },
      ownerReferences: [ownerRef],
    },
    spec: structuredClone(template.spec),
  };
  if (opts.name !== undefined) pod.metadata.name = opts.name;
  else pod.metadata.generateName = opts.generateName ?? `${owner.metadata.name ?? 'pod'}-`;
  if (meta.annotations && Object.keys(meta.annotations).length > 0) pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers && meta.finalizers.length > 0) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}
