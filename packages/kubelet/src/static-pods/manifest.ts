// Static pod manifests: parsing (YAML or JSON, one or more documents, Pod or PodList), and the
// kubelet's defaulting of a file pod (upstream pkg/kubelet/config/common.go applyDefaults): name
// `<name>-<nodeName>`, UID = hash of the pod + node + file, `kubernetes.io/config.*` annotations,
// spec.nodeName, a NoExecute toleration so node problems never evict it, phase Pending.
import { createHash } from 'node:crypto';
import { defaultPod, type Pod } from '@kemu/api';
import { KemuError } from '@kemu/runtime';
import { parseAllDocuments } from 'yaml';

export const CONFIG_SOURCE_ANNOTATION = 'kubernetes.io/config.source';
export const CONFIG_HASH_ANNOTATION = 'kubernetes.io/config.hash';
export const CONFIG_SEEN_ANNOTATION = 'kubernetes.io/config.seen';
export const CONFIG_MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
/** A process the kemu supervisor runs; the kubelet only mirrors it (BRIEF: control-plane components as pods). */
export const PID_FILE_ANNOTATION = 'kemu.dev/pid-file';

/** A manifest file that cannot be turned into pods; the file is skipped and the error logged. */
export class StaticPodManifestError extends KemuError {
  declare readonly code: 'STATIC_POD_MANIFEST_INVALID';
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('STATIC_POD_MANIFEST_INVALID', `static pod manifest ${file}: ${message}`, options);
    this.file = file;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkPod(file: string, doc: unknown, where: string): Pod {
  if (!isObject(doc)) throw new StaticPodManifestError(file, `${where}: not an object`);
  if (doc.kind !== 'Pod')
    throw new StaticPodManifestError(file, `${where}: kind is ${JSON.stringify(doc.kind)}, want Pod`);
  if (doc.apiVersion !== undefined && doc.apiVersion !== 'v1') {
    throw new StaticPodManifestError(file, `${where}: apiVersion ${JSON.stringify(doc.apiVersion)}, want v1`);
  }
  const meta = doc.metadata;
  if (!isObject(meta) || typeof meta.name !== 'string' || meta.name === '') {
    throw new StaticPodManifestError(file, `${where}: metadata.name is required`);
  }
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') {
    throw new StaticPodManifestError(file, `${where}: metadata.namespace must be a string`);
  }
  const spec = doc.spec;
  if (!isObject(spec) || !Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw new StaticPodManifestError(file, `${where}: spec.containers must list at least one container`);
  }
  for (const [i, c] of spec.containers.entries()) {
    if (!isObject(c) || typeof c.name !== 'string' || c.name === '' || typeof c.image !== 'string') {
      throw new StaticPodManifestError(file, `${where}: spec.containers[${i}] needs a name and an image`);
    }
  }
  return doc as unknown as Pod;
}

/** The pods a manifest file describes (YAML or JSON; several documents; a Pod or a PodList each). */
export function parseManifest(file: string, text: string): Pod[] {
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text);
  } catch (err) {
    throw new StaticPodManifestError(file, err instanceof Error ? err.message : String(err), { cause: err });
  }
  const list = Array.isArray(docs) ? docs : [docs];
  const pods: Pod[] = [];
  for (const [i, d] of list.entries()) {
    if (d.errors.length > 0) throw new StaticPodManifestError(file, `document ${i + 1}: ${d.errors[0]?.message}`);
    const value: unknown = d.toJS();
    if (value === null || value === undefined) continue; // an empty document (`---` at the end)
    if (isObject(value) && value.kind === 'PodList') {
      const items = Array.isArray(value.items) ? value.items : [];
      for (const [j, item] of items.entries()) pods.push(checkPod(file, item, `document ${i + 1} item ${j + 1}`));
    } else {
      pods.push(checkPod(file, value, `document ${i + 1}`));
    }
  }
  return pods;
}

/** JSON with object keys sorted, so the hash depends on content, not on the order of keys in the file. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * The static pod's UID and `kubernetes.io/config.hash`: md5 over the defaulted pod, then the node
 * and the file, as upstream (which hashes Go's dump of the struct; the bytes differ, the meaning
 * does not: same content on the same node → same UID; any change → a new one).
 */
export function staticPodHash(defaulted: Pod, nodeName: string, file: string): string {
  const h = createHash('md5');
  h.update(canonical(defaulted));
  h.update(`host:${nodeName}`);
  h.update(`file:${file}`);
  return h.digest('hex');
}

/** `<name>-<nodeName>`, upstream's generatePodName. */
export function staticPodName(name: string, nodeName: string): string {
  return `${name}-${nodeName}`;
}

/**
 * A manifest pod as the kubelet runs it. `seen` is the `kubernetes.io/config.seen` value (when the
 * kubelet first saw this version of the manifest; RFC3339Nano).
 */
export function toStaticPod(manifest: Pod, opts: { nodeName: string; file: string; seen: string }): Pod {
  const pod = defaultPod(manifest);
  delete pod.status;
  const uid = manifest.metadata.uid ?? staticPodHash(pod, opts.nodeName, opts.file);
  pod.apiVersion = 'v1';
  pod.kind = 'Pod';
  pod.metadata = {
    ...pod.metadata,
    name: staticPodName(manifest.metadata.name ?? '', opts.nodeName),
    namespace: manifest.metadata.namespace || 'default',
    uid,
    annotations: {
      ...(pod.metadata.annotations ?? {}),
      [CONFIG_HASH_ANNOTATION]: uid,
      [CONFIG_SOURCE_ANNOTATION]: 'file',
      [CONFIG_SEEN_ANNOTATION]: opts.seen,
    },
  };
  pod.spec.nodeName = opts.nodeName;
  const tolerations = pod.spec.tolerations ?? [];
  if (!tolerations.some((t) => t.operator === 'Exists' && t.effect === 'NoExecute' && (t.key ?? '') === '')) {
    pod.spec.tolerations = [...tolerations, { operator: 'Exists', effect: 'NoExecute' }];
  }
  pod.status = { phase: 'Pending' };
  return pod;
}

/** True for a pod the kubelet mirrors but does not run (a process the kemu supervisor runs). */
export function isExternalStaticPod(pod: Pod): boolean {
  return (pod.metadata.annotations?.[PID_FILE_ANNOTATION] ?? '') !== '';
}

/** True for a mirror pod in the API (never run by a kubelet: its static pod is). */
export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[CONFIG_MIRROR_ANNOTATION] !== undefined;
}
