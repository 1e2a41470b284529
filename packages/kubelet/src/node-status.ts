// What this kubelet says about its Node: the object it registers and the status it posts. Pure
// functions of the config, the runtime's state and the clock, so they are unit-tested directly.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Node, NodeCondition, NodeSystemInfo, ResourceList, Taint } from '@kemu/api';
import { formatTime } from '@kemu/api';
import type { ImageInfo, RuntimeStatus, RuntimeVersion } from './runtime/types.js';

/** The Kubernetes release this kubelet behaves like (nodeInfo.kubeletVersion, `kubectl get nodes`). */
export const KUBELET_VERSION = 'v1.32.0';

export interface NodeIdentity {
  nodeName: string;
  nodeIP: string;
  port: number;
  labels: Record<string, string>;
  taints: Taint[];
  capacity: ResourceList;
  runtimeVersion: RuntimeVersion;
  /** Stable per node (machineID/systemUUID/bootID). */
  machineID: string;
  bootID: string;
}

/** `x64` → `amd64`, as Go's GOARCH names it. */
export function goArch(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'ppc64':
      return 'ppc64le';
    default:
      return arch;
  }
}

let osImageCache: string | undefined;
/** PRETTY_NAME from /etc/os-release, as the real kubelet reports osImage. */
export function hostOsImage(): string {
  if (osImageCache !== undefined) return osImageCache;
  let name = 'Linux';
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (m?.[1]) name = m[1];
  } catch {
    // not Linux, or a minimal image: keep the generic name
  }
  osImageCache = name;
  return name;
}

/** The host's resources (process runtime): every CPU, all memory, the root dir's file system. */
export function hostCapacity(rootDir: string): ResourceList {
  let storageKi = 100 * 1024 * 1024;
  try {
    const st = fs.statfsSync(rootDir);
    storageKi = Math.floor((st.blocks * st.bsize) / 1024);
  } catch {
    // root dir not created yet: a nominal 100Gi
  }
  return {
    cpu: String(os.cpus().length || 1),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': `${storageKi}Ki`,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
  };
}

/** A simulated node's resources: the same for every sim node, so the scheduler spreads evenly. */
export const SIM_CAPACITY: ResourceList = Object.freeze({
  cpu: '8',
  memory: '32Gi',
  pods: '110',
  'ephemeral-storage': '100Gi',
  'hugepages-1Gi': '0',
  'hugepages-2Mi': '0',
}) as ResourceList;

export function nodeLabels(id: NodeIdentity): Record<string, string> {
  const arch = goArch();
  return {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': id.nodeName,
    'kubernetes.io/os': 'linux',
    ...id.labels,
  };
}

export function nodeInfo(id: NodeIdentity): NodeSystemInfo {
  const v = id.runtimeVersion;
  return {
    machineID: id.machineID,
    systemUUID: id.machineID,
    bootID: id.bootID,
    kernelVersion: os.release(),
    osImage: hostOsImage(),
    containerRuntimeVersion: `${v.runtimeName}://${v.runtimeVersion}`,
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: KUBELET_VERSION,
    operatingSystem: 'linux',
    architecture: goArch(),
  };
}

/** What readiness the kubelet reports, from the runtime's status. */
export interface Readiness {
  ready: boolean;
  reason: string;
  message: string;
}

export function readinessOf(rs: RuntimeStatus): Readiness {
  if (rs.ready) return { ready: true, reason: 'KubeletReady', message: 'kubelet is posting ready status' };
  const failing = rs.conditions
    .filter((c) => !c.status)
    .map((c) => `${c.type}=false reason:${c.reason} message:${c.message}`);
  const detail = failing.length > 0 ? failing.join(', ') : rs.reason;
  return {
    ready: false,
    reason: 'KubeletNotReady',
    message: `container runtime is down: container runtime not ready: ${detail}`,
  };
}

function condition(
  prev: NodeCondition[] | undefined,
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: number,
): NodeCondition {
  const old = prev?.find((c) => c.type === type);
  const stamp = formatTime(now);
  return {
    type,
    status,
    lastHeartbeatTime: stamp,
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : stamp,
    reason,
    message,
  };
}

/** The four conditions the kubelet owns, keeping transition times from `prev` when unchanged. */
export function nodeConditions(prev: NodeCondition[] | undefined, r: Readiness, now: number): NodeCondition[] {
  return [
    condition(
      prev,
      'MemoryPressure',
      'False',
      'KubeletHasSufficientMemory',
      'kubelet has sufficient memory available',
      now,
    ),
    condition(prev, 'DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', now),
    condition(prev, 'PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', now),
    condition(prev, 'Ready', r.ready ? 'True' : 'False', r.reason, r.message, now),
  ];
}

export function nodeImages(images: ImageInfo[]): { names: string[]; sizeBytes: number }[] {
  const byRef = new Map<string, Set<string>>();
  for (const i of images) {
    const names = byRef.get(i.ref) ?? new Set<string>();
    names.add(i.ref);
    byRef.set(i.ref, names);
  }
  return [...byRef.values()].map((names) => ({ names: [...names].sort(), sizeBytes: 0 }));
}

/** The full status block the kubelet posts (conditions merged with `prevConditions`). */
export function nodeStatus(
  id: NodeIdentity,
  r: Readiness,
  images: ImageInfo[],
  prevConditions: NodeCondition[] | undefined,
  now: number,
): NonNullable<Node['status']> {
  // Conditions owned by others (e.g. NetworkUnavailable) are kept as they are.
  const mine = new Set(['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
  const others = (prevConditions ?? []).filter((c) => !mine.has(c.type));
  return {
    capacity: { ...id.capacity },
    allocatable: { ...id.capacity },
    conditions: [...nodeConditions(prevConditions, r, now), ...others],
    addresses: [
      { type: 'InternalIP', address: id.nodeIP },
      { type: 'Hostname', address: id.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.port } },
    nodeInfo: nodeInfo(id),
    images: nodeImages(images),
  };
}

/** The Node object registered with the apiserver. */
export function initialNode(id: NodeIdentity, r: Readiness, images: ImageInfo[], now: number): Node {
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: id.nodeName,
      labels: nodeLabels(id),
      annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: {},
    status: nodeStatus(id, r, images, undefined, now),
  };
  if (id.taints.length > 0 && node.spec) node.spec.taints = id.taints.map((t) => ({ ...t }));
  return node;
}

/**
 * The status without the parts that change on every post (heartbeat times), to decide whether
 * anything worth posting changed.
 */
export function nodeStatusFingerprint(status: NonNullable<Node['status']>): string {
  const conditions = (status.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined }));
  return createHash('sha1')
    .update(JSON.stringify({ ...status, conditions }))
    .digest('base64');
}
