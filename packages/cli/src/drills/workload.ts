/**
 * The drill workloads, through kubectl as a learner would type them: a Deployment of nginx pods
 * labelled for the drill, scaling, and views of where its pods run.
 */
import type { Pod } from '@kemu/api';
import type { DrillCluster } from './cluster.js';

export const DRILL_LABEL = 'kemu.dev/drill';

export interface DeploymentSpec {
  name: string;
  drill: string;
  replicas: number;
  namespace?: string;
}

/** The Deployment's manifest: nginx with a small CPU request, so resource scoring sees every pod. */
export function deploymentManifest(d: DeploymentSpec): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: d.name, namespace: d.namespace ?? 'default', labels: { [DRILL_LABEL]: d.drill } },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: { app: d.name } },
      template: {
        metadata: { labels: { app: d.name, [DRILL_LABEL]: d.drill } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [{ name: 'nginx', image: 'nginx', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
        },
      },
    },
  });
}

export async function createDeployment(c: DrillCluster, d: DeploymentSpec): Promise<void> {
  await c.k(['apply', '-f', '-'], { input: deploymentManifest(d) });
}

export async function scale(c: DrillCluster, name: string, replicas: number, namespace = 'default'): Promise<void> {
  await c.k(['scale', 'deployment', name, `--replicas=${replicas}`, '-n', namespace]);
}

export async function podsOf(c: DrillCluster, app: string, namespace = 'default'): Promise<Pod[]> {
  const list = await c.getJson<{ items: Pod[] }>(['pods', '-n', namespace, '-l', `app=${app}`]);
  return list.items;
}

export function isReady(p: Pod): boolean {
  return (
    p.status?.phase === 'Running' &&
    p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true &&
    !p.metadata.deletionTimestamp
  );
}

/** Live (not terminating) pods, and those of them ready. */
export function live(pods: Pod[]): Pod[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp);
}

/** Ready pods per node, every node of `nodes` listed (0 when it has none). */
export function spread(pods: Pod[], nodes: string[]): Map<string, number> {
  const m = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const p of pods) {
    if (!isReady(p) || !p.spec.nodeName) continue;
    m.set(p.spec.nodeName, (m.get(p.spec.nodeName) ?? 0) + 1);
  }
  return m;
}

export function formatSpread(m: Map<string, number>): string {
  return [...m].map(([n, k]) => `${n} ${k}`).join(', ');
}

/** Resolves with the pods once exactly `replicas` are ready and none other is alive. */
export async function allReady(c: DrillCluster, app: string, replicas: number): Promise<Pod[] | undefined> {
  const pods = live(await podsOf(c, app));
  return pods.length === replicas && pods.every(isReady) ? pods : undefined;
}

/**
 * The drill's Deployments first (the garbage collector takes their ReplicaSets and pods), then its
 * bare pods: deleting the pods together with the Deployment would only make the ReplicaSet replace them.
 */
export async function deleteDrillObjects(c: DrillCluster, drill: string): Promise<void> {
  await c.k(['delete', 'deployments', '-l', `${DRILL_LABEL}=${drill}`, '--wait=false'], { timeoutMs: 30_000 });
  await c.k(['delete', 'pods', '-l', `${DRILL_LABEL}=${drill},!pod-template-hash`, '--wait=false'], {
    timeoutMs: 30_000,
  });
}
