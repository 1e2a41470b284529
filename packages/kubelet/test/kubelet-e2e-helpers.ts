// Shared by the kubelet's cross-process tests: a TestCluster plus kubelet process(es), and pod helpers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node, Pod } from '@kemu/api';
import { type ChildProc, COMPONENT_MAINS, type TestCluster } from '@kemu/testkit';

export async function waitUntil<T>(
  what: string,
  cond: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { timeoutMs?: number; intervalMs?: number; dump?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${String(last)}` : ''}${opts.dump ? `\n${opts.dump()}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A pod range of this test process's own, so parallel test files never share pod IPs. */
export function testPodCidr(): string {
  return `127.${100 + (process.pid % 100)}.0.0/16`;
}

export interface KubeletProc {
  adminUrl: string;
  rootDir: string;
  name: string;
}

export async function startKubelet(
  c: TestCluster,
  name: string,
  adminPort: number,
  extra: string[] = [],
  rootDir = tmpDir(`kemu-kubelet-${name}-`),
): Promise<KubeletProc & { proc: ChildProc }> {
  const proc = c.startComponent(`kubelet-${name}`, COMPONENT_MAINS.kubelet, [
    '--apiserver',
    c.wireUrl,
    '--node-name',
    name,
    '--root-dir',
    rootDir,
    '--admin-port',
    String(adminPort),
    '--profile',
    'fast',
    ...extra,
  ]);
  return { adminUrl: `http://127.0.0.1:${adminPort}`, rootDir, name, proc };
}

export function podManifest(
  name: string,
  node: string,
  spec: Partial<Pod['spec']> & Pick<Pod['spec'], 'containers'>,
  meta: Partial<Pod['metadata']> = {},
): string {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...meta },
    spec: { nodeName: node, terminationGracePeriodSeconds: 5, ...spec },
  };
  return JSON.stringify(pod);
}

export async function getPod(c: TestCluster, name: string): Promise<Pod | undefined> {
  const r = await c.kubectl(['get', 'pod', name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Pod) : undefined;
}

export async function getNode(c: TestCluster, name: string): Promise<Node | undefined> {
  const r = await c.kubectl(['get', 'node', name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Node) : undefined;
}

export function nodeReady(n: Node | undefined): string | undefined {
  return n?.status?.conditions?.find((x) => x.type === 'Ready')?.status;
}

export function podCondition(p: Pod | undefined, type: string): string | undefined {
  return p?.status?.conditions?.find((x) => x.type === type)?.status;
}

/** Pids of live processes whose environment names this pod uid (a container or one of its children). */
export function processesOfPod(uid: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const env = fs.readFileSync(`/proc/${e}/environ`, 'utf8');
      if (env.includes(`KEMU_POD_UID=${uid}\0`)) out.push(Number(e));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

/** Pids of live processes started for one container instance (KEMU_CONTAINER_ID in their environment). */
export function processesOfContainer(containerId: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/environ`, 'utf8').includes(`KEMU_CONTAINER_ID=${containerId}\0`))
        out.push(Number(e));
    } catch {
      // gone or not ours
    }
  }
  return out;
}
