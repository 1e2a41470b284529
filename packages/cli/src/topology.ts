import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KemuError } from '@kemu/runtime';
import YAML from 'yaml';

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
 * Port layout inside one block starting at `portBase`, so two clusters side by side only need
 * different bases (blocks of PORT_BLOCK ports): etcd members at +0…+4 (one listener serves peers
 * and clients), their admin endpoints at +10…+14, apiserver HTTP at +20…, wire at +30…, admin at +40….
 */
export const PORT_BLOCK = 50;
const MAX_APISERVERS = 10;

export type ComponentKind =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-scheduler'
  | 'kube-controller-manager'
  | 'kubelet'
  | 'kube-proxy'
  | 'cluster-dns';

export interface ComponentPlan {
  /** Unique within the cluster: `etcd-0`, `apiserver-0`, `kubelet-worker-1`, … */
  name: string;
  kind: ComponentKind;
  /** False when this build has no program for the component; `reason` says so. */
  available: boolean;
  reason?: string;
  /** `argv[0]` is the executable (node), the rest its arguments. Empty when not available. */
  argv: string[];
  ports: Record<string, number>;
  /** For etcd: the member's client endpoint; for the apiserver: its HTTP URL. */
  endpoint?: string;
  dataDir?: string;
}

export interface ClusterPlan {
  spec: ClusterSpec;
  components: ComponentPlan[];
  etcdEndpoints: string[];
  /** The first apiserver's HTTP URL (the kubeconfig's server), if one is available. */
  apiserverUrl?: string;
}

/** Where the built entry points live, relative to this file (packages/cli/dist/src/topology.js). */
export const PACKAGES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ETCD_MAIN = path.join(PACKAGES_DIR, 'etcd', 'dist', 'src', 'member', 'main.js');
export const APISERVER_MAIN = path.join(PACKAGES_DIR, 'apiserver', 'dist', 'src', 'main.js');

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
  return {
    stateDir: path.resolve(cwd, stateDir),
    etcd: etcd as 1 | 3 | 5,
    portBase: int('--port-base', pick('portBase') ?? DEFAULT_SPEC.portBase, 1024, 65535 - PORT_BLOCK),
    apiservers: int('--apiservers', pick('apiservers') ?? DEFAULT_SPEC.apiservers, 0, MAX_APISERVERS),
    nodes: int('--nodes', pick('nodes') ?? DEFAULT_SPEC.nodes, 0, 1000),
    runtime: oneOf('--runtime', pick('runtime') ?? DEFAULT_SPEC.runtime, ['process', 'sim'] as const),
    profile: oneOf('--profile', pick('profile') ?? DEFAULT_SPEC.profile, ['fast', 'real'] as const),
  };
}

export interface PlanOptions {
  /** Whether a program exists for the apiserver; defaults to checking its built entry point. */
  apiserverAvailable?: boolean;
  node?: string;
}

const NOT_BUILT = 'not available in this build';

/** Every component of the cluster with its ports and command line. Pure apart from the default check. */
export function planCluster(spec: ClusterSpec, opts: PlanOptions = {}): ClusterPlan {
  const node = opts.node ?? process.execPath;
  const base = spec.portBase;
  const components: ComponentPlan[] = [];
  const etcdNames = Array.from({ length: spec.etcd }, (_, i) => `etcd-${i}`);
  const etcdEndpoints = etcdNames.map((_, i) => `ws://127.0.0.1:${base + i}`);
  const peers = etcdNames.map((n, i) => `${n}=${etcdEndpoints[i]}`).join(',');
  // Both profiles keep etcd's own defaults (100 ms heartbeat, 1 s election): they are already the
  // real values and fast enough. The profile matters for node/eviction timers (kubelet, controllers).
  etcdNames.forEach((name, i) => {
    const dataDir = path.join(spec.stateDir, 'etcd', name);
    const client = base + i;
    const admin = base + 10 + i;
    components.push({
      name,
      kind: 'etcd',
      available: true,
      argv: [
        node,
        ETCD_MAIN,
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
      ],
      ports: { client, admin },
      endpoint: etcdEndpoints[i]!,
      dataDir,
    });
  });

  const apiserverAvailable = opts.apiserverAvailable ?? fs.existsSync(APISERVER_MAIN);
  let apiserverUrl: string | undefined;
  for (let i = 0; i < spec.apiservers; i++) {
    const http = base + 20 + i;
    const wire = base + 30 + i;
    const admin = base + 40 + i;
    const url = `http://127.0.0.1:${http}`;
    if (apiserverAvailable && apiserverUrl === undefined) apiserverUrl = url;
    components.push({
      name: `apiserver-${i}`,
      kind: 'kube-apiserver',
      available: apiserverAvailable,
      ...(apiserverAvailable ? {} : { reason: `${NOT_BUILT} (no ${path.relative(PACKAGES_DIR, APISERVER_MAIN)})` }),
      argv: apiserverAvailable
        ? [
            node,
            APISERVER_MAIN,
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
            `apiserver-${i}`,
          ]
        : [],
      ports: { http, wire, admin },
      endpoint: url,
    });
  }

  const missing = (name: string, kind: ComponentKind): ComponentPlan => ({
    name,
    kind,
    available: false,
    reason: NOT_BUILT,
    argv: [],
    ports: {},
  });
  components.push(missing('scheduler', 'kube-scheduler'));
  components.push(missing('controller-manager', 'kube-controller-manager'));
  components.push(missing('cluster-dns', 'cluster-dns'));
  const nodeNames = ['control-plane', ...Array.from({ length: spec.nodes }, (_, i) => `worker-${i + 1}`)];
  for (const n of nodeNames) {
    components.push(missing(`kubelet-${n}`, 'kubelet'));
    components.push(missing(`kube-proxy-${n}`, 'kube-proxy'));
  }
  return { spec, components, etcdEndpoints, ...(apiserverUrl ? { apiserverUrl } : {}) };
}
