// Pod volumes as host directories (the runtime maps container paths onto them, see
// runtime/README.md "Volumes"): emptyDir, hostPath, configMap, secret, downwardAPI, projected and
// persistentVolumeClaim (→ the bound PV's hostPath/local path). Files are written atomically
// (temp file + rename) so a running container never reads half a key.
import fs from 'node:fs';
import path from 'node:path';
import type {
  ConfigMap,
  Container,
  KeyToPath,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Secret,
  Volume,
} from '@kemu/api';
import { formatMap, type PodNetworkInfo, podFieldValue, resourceFieldValue } from './env.js';
import { ContainerConfigError } from './errors.js';
import type { Mount } from './runtime/types.js';

export interface VolumeSources {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  pvc(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  pv(name: string): Promise<PersistentVolume | undefined>;
}

/** `<podsDir>/<uid>/volumes/<plugin>/<name>`, like /var/lib/kubelet/pods. */
export function podVolumeDir(podsDir: string, uid: string, plugin: string, name: string): string {
  return path.join(podsDir, uid, 'volumes', plugin, name);
}

function writeAtomic(file: string, content: Buffer | string, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, mode === undefined ? undefined : { mode });
  fs.renameSync(tmp, file);
}

/** Writes `files` into `dir`, removing files of earlier versions that are gone. */
function syncFiles(dir: string, files: Map<string, Buffer | string>, mode?: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, content] of files) {
    if (rel.includes('..') || path.isAbsolute(rel)) throw new ContainerConfigError(`invalid volume item path "${rel}"`);
    const target = path.join(dir, rel);
    let same = false;
    try {
      same = fs.readFileSync(target).equals(Buffer.isBuffer(content) ? content : Buffer.from(content));
    } catch {
      same = false;
    }
    if (!same) writeAtomic(target, content, mode);
  }
  const keep = new Set([...files.keys()].map((r) => r.split('/')[0]));
  for (const entry of fs.readdirSync(dir))
    if (!keep.has(entry)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}

function pick(
  data: Map<string, Buffer | string>,
  items: KeyToPath[] | undefined,
  what: string,
): Map<string, Buffer | string> {
  if (!items || items.length === 0) return data;
  const out = new Map<string, Buffer | string>();
  for (const it of items) {
    const v = data.get(it.key);
    if (v === undefined) throw new ContainerConfigError(`configuration error: key "${it.key}" not found in ${what}`);
    out.set(it.path, v);
  }
  return out;
}

function configMapFiles(cm: ConfigMap): Map<string, Buffer | string> {
  const m = new Map<string, Buffer | string>(Object.entries(cm.data ?? {}));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) m.set(k, Buffer.from(v, 'base64'));
  return m;
}

function secretFiles(s: Secret): Map<string, Buffer | string> {
  const m = new Map<string, Buffer | string>();
  for (const [k, v] of Object.entries(s.data ?? {})) m.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries(s.stringData ?? {})) if (!m.has(k)) m.set(k, v);
  return m;
}

interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
}

function downwardFiles(pod: Pod, items: DownwardItem[] | undefined, net: PodNetworkInfo): Map<string, string> {
  const out = new Map<string, string>();
  for (const it of items ?? []) {
    if (it.fieldRef) {
      const fp = it.fieldRef.fieldPath;
      out.set(
        it.path,
        fp === 'metadata.labels'
          ? formatMap(pod.metadata.labels)
          : fp === 'metadata.annotations'
            ? formatMap(pod.metadata.annotations)
            : podFieldValue(pod, fp, net),
      );
    } else if (it.resourceFieldRef) {
      const r = it.resourceFieldRef;
      out.set(it.path, resourceFieldValue(pod, r.containerName ?? '', r.resource, r.divisor, net));
    }
  }
  return out;
}

/**
 * Prepares every volume of the pod and returns the host path of each by name. Safe to call on
 * every sync: content is refreshed (a ConfigMap edit reaches the files), unchanged files untouched.
 */
export async function preparePodVolumes(
  pod: Pod,
  podsDir: string,
  src: VolumeSources,
  net: PodNetworkInfo,
): Promise<Map<string, { hostPath: string; readOnly: boolean }>> {
  const ns = pod.metadata.namespace ?? 'default';
  const uid = pod.metadata.uid ?? '';
  const out = new Map<string, { hostPath: string; readOnly: boolean }>();
  for (const v of pod.spec.volumes ?? []) out.set(v.name, await prepareVolume(v));
  return out;

  async function prepareVolume(v: Volume): Promise<{ hostPath: string; readOnly: boolean }> {
    if (v.hostPath) {
      const p = v.hostPath.path;
      const type = v.hostPath.type ?? '';
      if (type === 'DirectoryOrCreate') fs.mkdirSync(p, { recursive: true });
      else if (type === 'FileOrCreate' && !fs.existsSync(p)) writeAtomic(p, '');
      else if ((type === 'Directory' || type === 'File') && !fs.existsSync(p)) {
        throw new ContainerConfigError(`hostPath type check failed: ${p} is not a ${type.toLowerCase()}`);
      }
      return { hostPath: p, readOnly: false };
    }
    if (v.configMap) {
      const name = v.configMap.name ?? '';
      const dir = podVolumeDir(podsDir, uid, 'kubernetes.io~configmap', v.name);
      const cm = await src.configMap(ns, name);
      if (!cm) {
        if (!v.configMap.optional) throw new ContainerConfigError(`configmap "${name}" not found`);
        fs.mkdirSync(dir, { recursive: true });
      } else {
        syncFiles(dir, pick(configMapFiles(cm), v.configMap.items, `ConfigMap ${ns}/${name}`), v.configMap.defaultMode);
      }
      return { hostPath: dir, readOnly: true };
    }
    if (v.secret) {
      const name = v.secret.secretName ?? '';
      const dir = podVolumeDir(podsDir, uid, 'kubernetes.io~secret', v.name);
      const s = await src.secret(ns, name);
      if (!s) {
        if (!v.secret.optional) throw new ContainerConfigError(`secret "${name}" not found`);
        fs.mkdirSync(dir, { recursive: true });
      } else {
        syncFiles(dir, pick(secretFiles(s), v.secret.items, `Secret ${ns}/${name}`), v.secret.defaultMode);
      }
      return { hostPath: dir, readOnly: true };
    }
    if (v.downwardAPI) {
      const dir = podVolumeDir(podsDir, uid, 'kubernetes.io~downward-api', v.name);
      syncFiles(dir, downwardFiles(pod, v.downwardAPI.items, net), v.downwardAPI.defaultMode);
      return { hostPath: dir, readOnly: true };
    }
    if (v.projected) {
      const dir = podVolumeDir(podsDir, uid, 'kubernetes.io~projected', v.name);
      const files = new Map<string, Buffer | string>();
      for (const source of v.projected.sources ?? []) {
        const s = source as {
          configMap?: { name?: string; items?: KeyToPath[]; optional?: boolean };
          secret?: { name?: string; items?: KeyToPath[]; optional?: boolean };
          downwardAPI?: { items?: DownwardItem[] };
          serviceAccountToken?: { path: string };
        };
        if (s.configMap) {
          const cm = await src.configMap(ns, s.configMap.name ?? '');
          if (!cm && !s.configMap.optional)
            throw new ContainerConfigError(`configmap "${s.configMap.name ?? ''}" not found`);
          if (cm)
            for (const [k, val] of pick(
              configMapFiles(cm),
              s.configMap.items,
              `ConfigMap ${ns}/${s.configMap.name ?? ''}`,
            ))
              files.set(k, val);
        }
        if (s.secret) {
          const sec = await src.secret(ns, s.secret.name ?? '');
          if (!sec && !s.secret.optional) throw new ContainerConfigError(`secret "${s.secret.name ?? ''}" not found`);
          if (sec)
            for (const [k, val] of pick(secretFiles(sec), s.secret.items, `Secret ${ns}/${s.secret.name ?? ''}`))
              files.set(k, val);
        }
        if (s.downwardAPI) for (const [k, val] of downwardFiles(pod, s.downwardAPI.items, net)) files.set(k, val);
        // kemu has no token issuer: a placeholder token names the pod, so programs that read it still start.
        if (s.serviceAccountToken)
          files.set(s.serviceAccountToken.path, `kemu-token.${ns}.${pod.spec.serviceAccountName ?? 'default'}`);
      }
      syncFiles(dir, files, v.projected.defaultMode);
      return { hostPath: dir, readOnly: true };
    }
    if (v.persistentVolumeClaim) {
      const claim = v.persistentVolumeClaim.claimName;
      const pvc = await src.pvc(ns, claim);
      if (!pvc) throw new ContainerConfigError(`persistentvolumeclaim "${claim}" not found`);
      const pvName = pvc.spec?.volumeName;
      if (!pvName || pvc.status?.phase !== 'Bound') {
        throw new ContainerConfigError(`persistentvolumeclaim "${claim}" is not bound`);
      }
      const pv = await src.pv(pvName);
      if (!pv) throw new ContainerConfigError(`persistentvolume "${pvName}" not found`);
      const p = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
      if (!p)
        throw new ContainerConfigError(`persistentvolume "${pvName}" has no hostPath or local path kemu can mount`);
      fs.mkdirSync(p, { recursive: true });
      return { hostPath: p, readOnly: v.persistentVolumeClaim.readOnly === true };
    }
    // emptyDir, and any volume type kemu does not know, is an empty per-pod directory.
    const dir = podVolumeDir(podsDir, uid, 'kubernetes.io~empty-dir', v.name);
    fs.mkdirSync(dir, { recursive: true });
    return { hostPath: dir, readOnly: false };
  }
}

/** The mounts of one container from its volumeMounts (subPath resolved, created if missing). */
export function containerMounts(
  container: Container,
  volumes: Map<string, { hostPath: string; readOnly: boolean }>,
  createSubPaths = true,
): Mount[] {
  const out: Mount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const vol = volumes.get(vm.name);
    if (!vol)
      throw new ContainerConfigError(`cannot find volume "${vm.name}" to mount into container "${container.name}"`);
    let hostPath = vol.hostPath;
    if (vm.subPath) {
      if (vm.subPath.includes('..') || path.isAbsolute(vm.subPath)) {
        throw new ContainerConfigError(`invalid subPath "${vm.subPath}": must be a relative path without '..'`);
      }
      hostPath = path.join(hostPath, vm.subPath);
      if (createSubPaths && !fs.existsSync(hostPath)) fs.mkdirSync(hostPath, { recursive: true });
    }
    out.push({ containerPath: vm.mountPath, hostPath, readOnly: vm.readOnly === true || vol.readOnly });
  }
  return out;
}
