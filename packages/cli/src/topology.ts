import fs from 'node:fs';
import path from 'node:path';
import { TIMING_PROFILES } from '@kemu/api/profile';
import { KemuError } from '@kemu/runtime';
import YAML from 'yaml';
import { type ClusterAddresses, clusterAddresses, MAX_NODES_PER_CLUSTER } from './addresses.js';
import {
  builtPrograms,
  COMPONENT_MAINS,
  type ComponentProgram,
  PACKAGES_DIR,
  programKnowsFlag,
} from './component-mains.js';

export { COMPONENT_MAINS, PACKAGES_DIR } from './component-mains.js';

/** A cluster description that cannot be turned into a plan (bad flag value, bad YAML). */
export class TopologyError extends KemuError {
  constructor(message: string) {
    super('KEMU_BAD_TOPOLOGY', message);
  }
}

export type ContainerRuntimeKind = 'process' | 'sim';
export type TimeProfile = 'fast' | 'real';

/** What the user asked for, from flags or a cluster YAML file. */
export interface ClusterSpec {
  stateDir: string;
  etcd: 1 | 3 | 5;
  portBase: number;
  apiservers: number;
  nodes: number;
  runtime: ContainerRuntimeKind;
  profile: TimeProfile;
}

export const DEFAULT_SPEC: Omit<ClusterSpec, 'stateDir'> = {
  etcd: 3,
  portBase: 2379,
  apiservers: 1,
  nodes: 3,
  runtime: 'process',
  profile: 'fast',
};

/**
 * Every port of a cluster lies in one block of PORT_BLOCK ports from `portBase`, so two clusters side
 * by side only need bases PORT_BLOCK apart. Offsets (README "Ports" has the table):
 *   +0…+4 etcd member i (clients and peers), +5…+9 its admin;
 *   +10…+19 apiserver i HTTP, +20…+29 its wire port, +30…+39 its admin;
 *   +40 scheduler admin, +41 controller-manager admin, +42 DNS admin, +43 DNS (UDP and TCP);
 *   +50+3i kubelet of node i (0 = control-plane) `--port`, +51+3i its admin, +52+3i its kube-proxy's admin.
 */
export const PORT_BLOCK = 200;
export const MAX_APISERVERS = 10;
const NODE_PORTS_AT = 50;
/** Nodes with a process of their own (control plane included) that fit in the block. */
export const MAX_PROCESS_NODES = Math.floor((PORT_BLOCK - NODE_PORTS_AT) / 3);

export interface PortLayout {
  etcdClient(i: number): number;
  etcdAdmin(i: number): number;
  apiserverHttp(i: number): number;
  apiserverWire(i: number): number;
  apiserverAdmin(i: number): number;
  schedulerAdmin: number;
  controllerManagerAdmin: number;
  dnsAdmin: number;
  dns: number;
  kubelet(node: number): number;
  kubeletAdmin(node: number): number;
  proxyAdmin(node: number): number;
}

export function portLayout(base: number): PortLayout {
  return {
    etcdClient: (i) => base + i,
    etcdAdmin: (i) => base + 5 + i,
    apiserverHttp: (i) => base + 10 + i,
    apiserverWire: (i) => base + 20 + i,
    apiserverAdmin: (i) => base + 30 + i,
    schedulerAdmin: base + 40,
    controllerManagerAdmin: base + 41,
    dnsAdmin: base + 42,
    dns: base + 43,
    kubelet: (n) => base + NODE_PORTS_AT + 3 * n,
    kubeletAdmin: (n) => base + NODE_PORTS_AT + 3 * n + 1,
    proxyAdmin: (n) => base + NODE_PORTS_AT + 3 * n + 2,
  };
}

export type ComponentKind =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-scheduler'
  | 'kube-controller-manager'
  | 'kubelet'
  | 'kube-proxy'
  | 'cluster-dns';

/** What the control-plane kubelet mirrors as a pod: the static manifest's identity. */
export interface StaticPodInfo {
  /** The node whose `--static-pod-dir` holds the manifest (the mirror pod is `<podName>-<node>`). */
  node: string;
  podName: string;
  namespace: string;
  labels: Record<string, string>;
  image: string;
}

export interface ComponentPlan {
  /** Unique within the cluster, and what the chaos commands take: `etcd-0`, `kube-apiserver`, `kubelet-worker-1`, … */
  name: string;
  kind: ComponentKind;
  /** False when this build has no program for the component; `reason` says so. */
  available: boolean;
  reason?: string;
  /** `argv[0]` is the executable (node), the rest its arguments. Empty when not available. */
  argv: string[];
  /** Always has `admin` (its /healthz, /readyz, /metrics, /faults); etcd `client`, apiserver `http`/`wire`, … */
  ports: Record<string, number>;
  /** Its identity on the wire (`component/name`): what partitions match. */
  identity: string;
  /** For etcd: the member's client endpoint; for the apiserver: its HTTP URL. */
  endpoint?: string;
  dataDir?: string;
  /** Set for components that appear as (mirror) pods. */
  staticPod?: StaticPodInfo;
}

export interface NodePlan {
  name: string;
  /** 0 = control-plane, then the workers. */
  index: number;
  role: 'control-plane' | 'worker';
  ip: string;
  podCidr: string;
  /** The component that runs its kubelet (`kubelet-<node>`, or `kubelet-sim` for simulated workers). */
  kubelet: string;
  kubeletPort: number;
  kubeletAdminPort: number;
  /** True when the node is one of a `--sim-nodes` kubelet's (its admin routes take `?node=`). */
  simulated: boolean;
  /** Where its static pod manifests go (absent for simulated nodes). */
  staticPodDir?: string;
}

export interface ClusterPlan {
  spec: ClusterSpec;
  components: ComponentPlan[];
  nodes: NodePlan[];
  addresses: { serviceCidr: string; dnsServiceIp: string; dns: string };
  etcdEndpoints: string[];
  /** Every apiserver's wire URL: what components get as `--apiserver`. */
  apiserverWireUrls: string[];
  /** The first apiserver's HTTP URL (the kubeconfig's server), if one is available. */
  apiserverUrl?: string;
}

function int(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new TopologyError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new TopologyError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Raw options as they come from commander or a YAML file (strings or numbers, all optional). */
export interface RawSpec {
  stateDir?: unknown;
  etcd?: unknown;
  portBase?: unknown;
  apiservers?: unknown;
  nodes?: unknown;
  runtime?: unknown;
  profile?: unknown;
}

const YAML_KEYS = new Set(['stateDir', 'etcd', 'portBase', 'apiservers', 'nodes', 'runtime', 'profile']);

/** Reads a cluster YAML file (keys as in RawSpec, camelCase). Unknown keys are an error, not ignored. */
export function readClusterFile(file: string): RawSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TopologyError(`cannot read cluster file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new TopologyError(`cluster file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new TopologyError(`cluster file ${file} must be a mapping`);
  for (const k of Object.keys(doc)) {
    if (!YAML_KEYS.has(k)) {
      throw new TopologyError(`cluster file ${file}: unknown key '${k}' (known: ${[...YAML_KEYS].join(', ')})`);
    }
  }
  return doc as RawSpec;
}

/** Validates raw options; `fileSpec` (from --config) fills what flags leave unset. */
export function resolveSpec(flags: RawSpec, fileSpec: RawSpec = {}, cwd = process.cwd()): ClusterSpec {
  const pick = (k: keyof RawSpec): unknown => flags[k] ?? fileSpec[k];
  const etcd = int('--etcd', pick('etcd') ?? DEFAULT_SPEC.etcd, 1, 5);
  if (etcd % 2 === 0) throw new TopologyError(`--etcd must be 1, 3 or 5, got ${etcd}`);
  const stateDir = pick('stateDir') ?? '.kemu';
  if (typeof stateDir !== 'string' || stateDir === '') throw new TopologyError('--state-dir must be a path');
  const runtime = oneOf('--runtime', pick('runtime') ?? DEFAULT_SPEC.runtime, ['process', 'sim'] as const);
  // Each process-runtime node has ports of its own in the block; simulated workers share one kubelet.
  const maxNodes = runtime === 'process' ? MAX_PROCESS_NODES - 1 : MAX_NODES_PER_CLUSTER - 1;
  return {
    stateDir: path.resolve(cwd, stateDir),
    etcd: etcd as 1 | 3 | 5,
    portBase: int('--port-base', pick('portBase') ?? DEFAULT_SPEC.portBase, 1024, 65535 - PORT_BLOCK),
    apiservers: int('--apiservers', pick('apiservers') ?? DEFAULT_SPEC.apiservers, 0, MAX_APISERVERS),
    nodes: int(
      runtime === 'process' ? '--nodes (with --runtime process)' : '--nodes',
      pick('nodes') ?? DEFAULT_SPEC.nodes,
      0,
      maxNodes,
    ),
    runtime,
    profile: oneOf('--profile', pick('profile') ?? DEFAULT_SPEC.profile, ['fast', 'real'] as const),
  };
}

export interface PlanOptions {
  /** Which component programs exist; defaults to checking the built entry points. */
  programs?: Partial<Record<ComponentProgram, boolean>>;
  /** Whether the apiserver build has the toleration flags; defaults to asking its build. */
  apiserverTolerationFlags?: boolean;
  /** Whether the DNS build has `--cluster-ip` (it then keeps the kube-dns Service); defaults to asking its build. */
  dnsClusterIpFlag?: boolean;
  node?: string;
}

const NOT_BUILT = 'not available in this build';
export const CONTROL_PLANE_NODE = 'control-plane';
export const SIM_KUBELET = 'kubelet-sim';
const K8S_VERSION = 'v1.32.0';

/** `kube-apiserver` for the usual single apiserver, `kube-apiserver-<i>` when there are several. */
export function apiserverName(i: number, count: number): string {
  return count === 1 ? 'kube-apiserver' : `kube-apiserver-${i}`;
}

export function workerName(i: number): string {
  return `worker-${i}`;
}

function controlPlanePod(node: string, podName: string, component: string, image: string): StaticPodInfo {
  return {
    node,
    podName,
    namespace: 'kube-system',
    labels: { component, tier: 'control-plane' },
    image,
  };
}

/** Every component of the cluster with its ports and command line. Pure apart from the build checks. */
export function planCluster(spec: ClusterSpec, opts: PlanOptions = {}): ClusterPlan {
  const nodeExe = opts.node ?? process.execPath;
  const built = { ...builtPrograms(), ...opts.programs };
  const ports = portLayout(spec.portBase);
  const addr: ClusterAddresses = clusterAddresses(spec.portBase);
  const components: ComponentPlan[] = [];
  const missing = (program: ComponentProgram): string =>
    `${NOT_BUILT} (no ${path.relative(PACKAGES_DIR, COMPONENT_MAINS[program])})`;
  const availability = (program: ComponentProgram): { available: boolean; reason?: string } =>
    built[program] ? { available: true } : { available: false, reason: missing(program) };
  const main = (program: ComponentProgram, args: string[]): string[] =>
    built[program] ? [nodeExe, COMPONENT_MAINS[program], ...args] : [];

  const cp = CONTROL_PLANE_NODE;
  const etcdNames = Array.from({ length: spec.etcd }, (_, i) => `etcd-${i}`);
  const etcdEndpoints = etcdNames.map((_, i) => `ws://127.0.0.1:${ports.etcdClient(i)}`);
  const peers = etcdNames.map((n, i) => `${n}=${etcdEndpoints[i]}`).join(',');
  // Both profiles keep etcd's own defaults (100 ms heartbeat, 1 s election): they are already the
  // real values and fast enough. The profile matters for node/eviction timers (kubelet, controllers).
  etcdNames.forEach((name, i) => {
    const dataDir = path.join(spec.stateDir, 'etcd', name);
    const client = ports.etcdClient(i);
    const admin = ports.etcdAdmin(i);
    components.push({
      name,
      kind: 'etcd',
      ...availability('etcd'),
      argv: main('etcd', [
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--listen',
        `127.0.0.1:${client}`,
        '--peers',
        peers,
        '--admin-port',
        String(admin),
      ]),
      ports: { client, admin },
      identity: `etcd/${name}`,
      endpoint: etcdEndpoints[i]!,
      dataDir,
      staticPod: controlPlanePod(cp, name, 'etcd', 'registry.k8s.io/etcd:3.5.16-0'),
    });
  });

  const tolerationFlags =
    opts.apiserverTolerationFlags ?? programKnowsFlag('apiserver', 'default-not-ready-toleration-seconds');
  const toleration = String(TIMING_PROFILES[spec.profile].defaultTolerationSeconds);
  let apiserverUrl: string | undefined;
  const apiserverWireUrls: string[] = [];
  for (let i = 0; i < spec.apiservers; i++) {
    const http = ports.apiserverHttp(i);
    const wire = ports.apiserverWire(i);
    const admin = ports.apiserverAdmin(i);
    const url = `http://127.0.0.1:${http}`;
    const id = `apiserver-${i}`;
    const name = apiserverName(i, spec.apiservers);
    if (built.apiserver) {
      apiserverUrl ??= url;
      apiserverWireUrls.push(`ws://127.0.0.1:${wire}`);
    }
    components.push({
      name,
      kind: 'kube-apiserver',
      ...availability('apiserver'),
      argv: main('apiserver', [
        '--etcd-servers',
        etcdEndpoints.join(','),
        '--bind',
        '127.0.0.1',
        '--port',
        String(http),
        '--wire-port',
        String(wire),
        '--admin-port',
        String(admin),
        '--name',
        id,
        '--service-cluster-ip-range',
        addr.serviceCidr,
        ...(tolerationFlags
          ? [
              '--default-not-ready-toleration-seconds',
              toleration,
              '--default-unreachable-toleration-seconds',
              toleration,
            ]
          : []),
      ]),
      ports: { http, wire, admin },
      identity: `kube-apiserver/${id}`,
      endpoint: url,
      staticPod: controlPlanePod(cp, name, 'kube-apiserver', `registry.k8s.io/kube-apiserver:${K8S_VERSION}`),
    });
  }
  const apiserverFlag = apiserverWireUrls.join(',');
  const profile = ['--profile', spec.profile];

  components.push({
    name: 'kube-scheduler',
    kind: 'kube-scheduler',
    ...availability('scheduler'),
    argv: main('scheduler', [
      '--apiserver',
      apiserverFlag,
      '--name',
      'kube-scheduler-0',
      '--admin-port',
      String(ports.schedulerAdmin),
      ...profile,
      '--leader-elect',
      'true',
    ]),
    ports: { admin: ports.schedulerAdmin },
    identity: 'kube-scheduler/kube-scheduler-0',
    staticPod: controlPlanePod(cp, 'kube-scheduler', 'kube-scheduler', `registry.k8s.io/kube-scheduler:${K8S_VERSION}`),
  });
  components.push({
    name: 'kube-controller-manager',
    kind: 'kube-controller-manager',
    ...availability('controllerManager'),
    argv: main('controllerManager', [
      '--apiserver',
      apiserverFlag,
      '--name',
      'kube-controller-manager-0',
      '--admin-port',
      String(ports.controllerManagerAdmin),
      ...profile,
      '--leader-elect',
      'true',
      '--controllers',
      '*',
    ]),
    ports: { admin: ports.controllerManagerAdmin },
    identity: 'kube-controller-manager/kube-controller-manager-0',
    staticPod: controlPlanePod(
      cp,
      'kube-controller-manager',
      'kube-controller-manager',
      `registry.k8s.io/kube-controller-manager:${K8S_VERSION}`,
    ),
  });
  const dnsListen = `127.0.0.1:${ports.dns}`;
  const dnsClusterIpFlag = opts.dnsClusterIpFlag ?? programKnowsFlag('dns', 'cluster-ip');
  components.push({
    name: 'cluster-dns',
    kind: 'cluster-dns',
    ...availability('dns'),
    argv: main('dns', [
      '--apiserver',
      apiserverFlag,
      '--listen',
      dnsListen,
      '--admin-port',
      String(ports.dnsAdmin),
      '--domain',
      'cluster.local',
      // With it the DNS process keeps the kube-dns Service (and its EndpointSlice) itself.
      ...(dnsClusterIpFlag ? ['--cluster-ip', addr.dnsServiceIp] : []),
    ]),
    ports: { admin: ports.dnsAdmin, dns: ports.dns },
    identity: 'cluster-dns/cluster-dns',
    staticPod: {
      node: cp,
      podName: 'coredns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns' },
      image: 'registry.k8s.io/coredns/coredns:v1.11.3',
    },
  });

  const nodes: NodePlan[] = [];
  const nodeDir = (n: string): string => path.join(spec.stateDir, 'nodes', n);
  const addNode = (
    name: string,
    index: number,
    simulated: boolean,
    kubelet: string,
    kubeletIndex: number,
  ): NodePlan => {
    const node: NodePlan = {
      name,
      index,
      role: index === 0 ? 'control-plane' : 'worker',
      ip: addr.nodeIp(index),
      podCidr: addr.podCidr(index),
      kubelet,
      kubeletPort: ports.kubelet(kubeletIndex),
      kubeletAdminPort: ports.kubeletAdmin(kubeletIndex),
      simulated,
      ...(simulated ? {} : { staticPodDir: path.join(nodeDir(name), 'manifests') }),
    };
    nodes.push(node);
    return node;
  };
  const kubeletArgs = (node: NodePlan, extra: string[]): string[] => [
    '--apiserver',
    apiserverFlag,
    '--node-name',
    node.name,
    '--runtime',
    spec.runtime,
    '--root-dir',
    path.join(nodeDir(node.name), 'kubelet'),
    '--node-ip',
    node.ip,
    '--port',
    String(node.kubeletPort),
    '--admin-port',
    String(node.kubeletAdminPort),
    '--pod-cidr',
    node.podCidr,
    ...(node.staticPodDir ? ['--static-pod-dir', node.staticPodDir] : []),
    ...profile,
    ...extra,
  ];
  const addProxy = (node: NodePlan, proxyIndex: number): void => {
    const admin = ports.proxyAdmin(proxyIndex);
    components.push({
      name: `kube-proxy-${node.name}`,
      kind: 'kube-proxy',
      ...availability('proxy'),
      argv: main('proxy', [
        '--apiserver',
        apiserverFlag,
        '--node-name',
        node.name,
        '--node-ip',
        node.ip,
        '--admin-port',
        String(admin),
        ...profile,
      ]),
      ports: { admin },
      identity: `kube-proxy/${node.name}`,
      staticPod: {
        node: node.name,
        podName: 'kube-proxy',
        namespace: 'kube-system',
        labels: { 'k8s-app': 'kube-proxy' },
        image: `registry.k8s.io/kube-proxy:${K8S_VERSION}`,
      },
    });
  };
  const addKubelet = (name: string, node: NodePlan, args: string[]): void => {
    components.push({
      name,
      kind: 'kubelet',
      ...availability('kubelet'),
      argv: main('kubelet', args),
      ports: { admin: node.kubeletAdminPort, kubelet: node.kubeletPort },
      // A --sim-nodes kubelet's --node-name names only the process (kubelet/kubelet-sim).
      identity: `kubelet/${name === SIM_KUBELET ? SIM_KUBELET : node.name}`,
    });
  };

  const cpNode = addNode(cp, 0, false, `kubelet-${cp}`, 0);
  addKubelet(
    `kubelet-${cp}`,
    cpNode,
    kubeletArgs(cpNode, [
      '--register-with-taints',
      'node-role.kubernetes.io/control-plane=:NoSchedule',
      '--node-labels',
      'node-role.kubernetes.io/control-plane=',
    ]),
  );
  addProxy(cpNode, 0);
  if (spec.runtime === 'process') {
    for (let i = 1; i <= spec.nodes; i++) {
      const node = addNode(workerName(i), i, false, `kubelet-${workerName(i)}`, i);
      addKubelet(node.kubelet, node, kubeletArgs(node, []));
      addProxy(node, i);
    }
  } else if (spec.nodes > 0) {
    // One process simulates every worker (like KWOK): no real pods, so no kube-proxy for them.
    const first = addNode(workerName(1), 1, true, SIM_KUBELET, 1);
    for (let i = 2; i <= spec.nodes; i++) addNode(workerName(i), i, true, SIM_KUBELET, 1);
    addKubelet(
      SIM_KUBELET,
      first,
      kubeletArgs({ ...first, name: SIM_KUBELET }, ['--sim-nodes', String(spec.nodes), '--sim-node-prefix', 'worker-']),
    );
  }
  return {
    spec,
    components,
    nodes,
    addresses: { serviceCidr: addr.serviceCidr, dnsServiceIp: addr.dnsServiceIp, dns: dnsListen },
    etcdEndpoints,
    apiserverWireUrls,
    ...(apiserverUrl ? { apiserverUrl } : {}),
  };
}

/** The pid file of a component (what the supervisor writes and a static manifest's annotation names). */
export function pidFileOf(stateDir: string, component: string): string {
  return path.join(stateDir, 'run', `${component}.pid`);
}
