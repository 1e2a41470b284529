// Shared set-up of the cross-process tests: a real etcd + apiserver (TestCluster), the real
// scheduler and controller-manager processes, and nodes.
import fs from 'node:fs';
import { type ChildProc, COMPONENT_MAINS, type TestCluster, waitFor } from '@kemu/testkit';

/** The scheduler's entry point (`KEMU_SCHEDULER_MAIN` points at another checkout's build while it is not merged). */
export const SCHEDULER_MAIN = process.env.KEMU_SCHEDULER_MAIN ?? COMPONENT_MAINS.scheduler;
export const schedulerMissing = fs.existsSync(SCHEDULER_MAIN)
  ? false
  : `needs the kube-scheduler process (${SCHEDULER_MAIN} is not built)`;

/** The workload controllers, by --controllers name (the infrastructure ones run in their own tests). */
export const WORKLOAD_CONTROLLERS = 'replicaset,deployment,statefulset,daemonset,job,ttl-after-finished,cronjob';

export function startScheduler(c: TestCluster): ChildProc {
  return c.startComponent('kube-scheduler', SCHEDULER_MAIN, [
    '--apiserver',
    c.wireUrl,
    '--name',
    'kube-scheduler-0',
    '--profile',
    'fast',
    '--leader-elect',
    'false',
  ]);
}

export function startControllerManager(c: TestCluster, name: string, extra: string[] = []): ChildProc {
  return c.startComponent(name, COMPONENT_MAINS.controllerManager, [
    '--apiserver',
    c.wireUrl,
    '--name',
    name,
    '--profile',
    'fast',
    '--controllers',
    WORKLOAD_CONTROLLERS,
    ...extra,
  ]);
}

/** The Lease holder's `--name` (identity is `<name>_<uuid>`), once someone holds it. */
export async function leaseHolder(c: TestCluster): Promise<string | undefined> {
  const r = await c.kubectl([
    'get',
    'lease',
    '-n',
    'kube-system',
    'kube-controller-manager',
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  if (r.code !== 0 || r.stdout.trim() === '') return undefined;
  return r.stdout.trim().split('_')[0];
}

export async function waitLeader(c: TestCluster, timeoutMs = 20_000): Promise<string> {
  return waitFor('a controller-manager leader', () => leaseHolder(c), { timeoutMs, intervalMs: 200 });
}

export interface PodSummary {
  name: string;
  node: string;
  ready: boolean;
  terminating: boolean;
  phase: string;
  labels: Record<string, string>;
  image: string;
}

export async function pods(c: TestCluster, selector: string, ns = 'default'): Promise<PodSummary[]> {
  const list = await c.getJson<{ items: import('@kemu/api').Pod[] }>(['pods', '-n', ns, '-l', selector]);
  return list.items.map((p) => ({
    name: p.metadata.name ?? '',
    node: p.spec.nodeName ?? '',
    ready: (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
    terminating: p.metadata.deletionTimestamp !== undefined,
    phase: p.status?.phase ?? '',
    labels: p.metadata.labels ?? {},
    image: p.spec.containers[0]?.image ?? '',
  }));
}
