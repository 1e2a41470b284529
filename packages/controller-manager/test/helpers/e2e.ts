// Shared set-up of the cross-process tests: a real etcd + apiserver (TestCluster), the real
// scheduler and controller-manager processes, and sim kubelets for nodes.
import path from 'node:path';
import { type ChildProc, COMPONENT_MAINS, type TestCluster, waitFor } from '@kemu/testkit';

/** The workload controllers, by --controllers name (the infrastructure ones run in their own tests). */
export const WORKLOAD_CONTROLLERS = 'replicaset,deployment,statefulset,daemonset,job,ttl-after-finished,cronjob';

export function startScheduler(c: TestCluster): ChildProc {
  return c.startComponent('kube-scheduler', COMPONENT_MAINS.scheduler, [
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

/**
 * Real sim kubelets: one process hosting `workers` nodes `<prefix>1…`, and, when asked, a second one
 * for a control-plane node tainted `node-role.kubernetes.io/control-plane:NoSchedule`. Resolves when
 * every node is Ready.
 */
export async function startSimNodes(
  c: TestCluster,
  opts: { workers: number; prefix?: string; controlPlane?: boolean },
): Promise<string[]> {
  const prefix = opts.prefix ?? 'worker-';
  // inside the cluster directory, so destroy() removes it
  const root = path.join(c.dir, 'kubelets');
  const common = ['--apiserver', c.wireUrl, '--runtime', 'sim', '--profile', 'fast', '--port', '0'];
  c.startComponent('kubelet-workers', COMPONENT_MAINS.kubelet, [
    ...common,
    '--sim-nodes',
    String(opts.workers),
    '--sim-node-prefix',
    prefix,
    '--root-dir',
    path.join(root, 'workers'),
  ]);
  const names = Array.from({ length: opts.workers }, (_, i) => `${prefix}${i + 1}`);
  if (opts.controlPlane) {
    c.startComponent('kubelet-control-plane', COMPONENT_MAINS.kubelet, [
      ...common,
      '--node-name',
      'control-plane',
      '--register-with-taints',
      'node-role.kubernetes.io/control-plane:NoSchedule',
      '--node-labels',
      'node-role.kubernetes.io/control-plane=',
      '--root-dir',
      path.join(root, 'control-plane'),
    ]);
    names.push('control-plane');
  }
  await waitFor(
    `nodes ${names.join(', ')} Ready`,
    async () => {
      const list = await c.getJson<{ items: import('@kemu/api').Node[] }>(['nodes']);
      const ready = list.items.filter((n) =>
        (n.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
      );
      return names.every((n) => ready.some((r) => r.metadata.name === n));
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  return names;
}
