// The kubelet's flags (the brief's component contract) parsed into one config object.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Taint, TaintEffect, TimingProfile } from '@kemu/api';
import { timingProfile } from '@kemu/api';
import { KubeletFlagError } from './errors.js';

export interface KubeletConfig {
  /** Wire URLs of the apiservers (`--apiserver ws://…,ws://…`). */
  apiservers: string[];
  nodeName: string;
  runtimeKind: 'process' | 'sim';
  /** Per-node state: runtime state dir, pod volume dirs. */
  rootDir: string;
  /** The node's InternalIP; hostNetwork pods get it as their pod IP. */
  nodeIP: string;
  /** `status.daemonEndpoints.kubeletEndpoint.Port`; the streaming server listens here. */
  port: number;
  /** Admin endpoint port (0 = ephemeral). */
  adminPort: number;
  /** Loopback range pod IPs come from (one per node on a shared host). */
  podCidr: string;
  registerWithTaints: Taint[];
  nodeLabels: Record<string, string>;
  staticPodDir: string | undefined;
  profile: TimingProfile;
  /** With `--runtime sim`: how many nodes this process hosts (1 = just `--node-name`). */
  simNodes: number;
  simNodePrefix: string;
}

export const USAGE = `usage: kubelet --apiserver ws://127.0.0.1:PORT[,ws://…] --node-name NAME [--runtime process|sim]
       [--root-dir DIR] [--node-ip 127.0.0.1] [--port 10250] [--admin-port N] [--pod-cidr 127.1.0.0/16]
       [--register-with-taints key=value:Effect,…] [--node-labels k=v,…] [--static-pod-dir DIR]
       [--profile fast|real] [--sim-nodes N --sim-node-prefix sim-]`;

const EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function int(name: string, v: string | undefined, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new KubeletFlagError(`--${name} must be an integer in [${min}, ${max}], got "${v}"`);
  }
  return n;
}

/** `key=value:Effect` or `key:Effect`, comma-separated, as kubelet's `--register-with-taints`. */
export function parseTaints(spec: string): Taint[] {
  const out: Taint[] = [];
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.lastIndexOf(':');
    if (colon < 0) throw new KubeletFlagError(`invalid taint spec "${item}": expected key[=value]:Effect`);
    const kv = item.slice(0, colon);
    const effect = item.slice(colon + 1) as TaintEffect;
    if (!EFFECTS.includes(effect)) {
      throw new KubeletFlagError(`invalid taint effect "${effect}" in "${item}": must be one of ${EFFECTS.join(', ')}`);
    }
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (key === '') throw new KubeletFlagError(`invalid taint spec "${item}": empty key`);
    const taint: Taint = { key, effect };
    if (eq >= 0) taint.value = kv.slice(eq + 1);
    out.push(taint);
  }
  return out;
}

/** `k=v,k2=v2` (`--node-labels`). */
export function parseLabels(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new KubeletFlagError(`invalid node label "${item}": expected key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function checkIPv4(name: string, v: string): string {
  const parts = v.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new KubeletFlagError(`--${name} must be an IPv4 address, got "${v}"`);
  }
  return v;
}

export type ParsedFlags = { help: true } | { help: false; config: KubeletConfig };

/** Parses argv (without `node main.js`); throws KubeletFlagError on bad input. */
export function parseKubeletFlags(argv: string[]): ParsedFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        apiserver: { type: 'string' },
        'node-name': { type: 'string' },
        runtime: { type: 'string' },
        'root-dir': { type: 'string' },
        'node-ip': { type: 'string' },
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        'pod-cidr': { type: 'string' },
        'register-with-taints': { type: 'string' },
        'node-labels': { type: 'string' },
        'static-pod-dir': { type: 'string' },
        profile: { type: 'string' },
        'sim-nodes': { type: 'string' },
        'sim-node-prefix': { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new KubeletFlagError((err as Error).message);
  }
  if (values.help === true) return { help: true };
  const s = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const apiserver = s('apiserver');
  if (apiserver === undefined || apiserver.trim() === '') throw new KubeletFlagError('--apiserver is required');
  const apiservers = apiserver
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const u of apiservers) {
    if (!/^wss?:\/\/[^/]+/.test(u)) throw new KubeletFlagError(`--apiserver must be ws:// URLs, got "${u}"`);
  }
  const runtimeKind = s('runtime') ?? 'process';
  if (runtimeKind !== 'process' && runtimeKind !== 'sim') {
    throw new KubeletFlagError(`--runtime must be process or sim, got "${runtimeKind}"`);
  }
  const simNodes = int('sim-nodes', s('sim-nodes'), 1, 1, 20_000);
  if (simNodes > 1 && runtimeKind !== 'sim') throw new KubeletFlagError('--sim-nodes needs --runtime sim');
  const simNodePrefix = s('sim-node-prefix') ?? 'sim-';
  const nodeName = s('node-name') ?? (simNodes > 1 ? `${simNodePrefix}1` : os.hostname().toLowerCase());
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName) || nodeName.length > 253) {
    throw new KubeletFlagError(`--node-name must be a DNS-1123 subdomain, got "${nodeName}"`);
  }
  let profile: TimingProfile;
  try {
    profile = timingProfile(s('profile') ?? 'fast');
  } catch (err) {
    throw new KubeletFlagError((err as Error).message);
  }
  const podCidr = s('pod-cidr') ?? '127.1.0.0/16';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}\/\d{1,2}$/.test(podCidr)) {
    throw new KubeletFlagError(`--pod-cidr must be a range inside 127.0.0.0/8, got "${podCidr}"`);
  }
  return {
    help: false,
    config: {
      apiservers,
      nodeName,
      runtimeKind,
      rootDir: path.resolve(s('root-dir') ?? path.join(os.tmpdir(), `kemu-kubelet-${nodeName}`)),
      nodeIP: checkIPv4('node-ip', s('node-ip') ?? '127.0.0.1'),
      port: int('port', s('port'), 10250, 0, 65535),
      adminPort: int('admin-port', s('admin-port'), 0, 0, 65535),
      podCidr,
      registerWithTaints: parseTaints(s('register-with-taints') ?? ''),
      nodeLabels: parseLabels(s('node-labels') ?? ''),
      staticPodDir: s('static-pod-dir') === undefined ? undefined : path.resolve(s('static-pod-dir') as string),
      profile,
      simNodes,
      simNodePrefix,
    },
  };
}
