// TEST-ONLY stand-in for kubelets while the real (sim) kubelet is not on main: it registers Nodes
// through the real apiserver and plays the kubelet's part of the pod lifecycle over the API — a pod
// bound to one of its nodes becomes Running and Ready; a pod of a Job (restartPolicy Never or
// OnFailure) then Succeeds; a terminating pod is removed (what a kubelet does after the grace
// period). It is NOT a kubelet: no containers, no probes, no leases. Nothing outside test/ uses it.
import { formatTime, type Node, type Pod } from '@kemu/api';
import { SharedIndexInformer, WireApiClient } from '@kemu/client';
import { SeededRandom, silentLogger, systemRuntime } from '@kemu/runtime';
import { WireClient } from '@kemu/wire';

export interface PretendNode {
  name: string;
  labels?: Record<string, string>;
  taints?: NonNullable<Node['spec']>['taints'];
}

export class PretendKubelet {
  private readonly wire: WireClient;
  private readonly api: WireApiClient;
  private readonly pods: SharedIndexInformer<Pod>;
  private readonly busy = new Set<string>();
  /** Pods that changed while a step for them was running: stepped again with the latest state. */
  private readonly again = new Set<string>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private ipSeq = 10;

  constructor(
    wireUrl: string,
    private readonly nodes: PretendNode[],
    private readonly opts: { jobRunMs?: number } = {},
  ) {
    this.wire = new WireClient({
      url: `${wireUrl}/wire`,
      identity: 'kubelet/pretend',
      log: silentLogger(),
    });
    this.api = new WireApiClient({ wire: this.wire });
    this.pods = new SharedIndexInformer<Pod>({
      listWatcher: this.api.resource<Pod>('pods'),
      runtime: systemRuntime,
      random: new SeededRandom(1),
    });
    const mine = (p: Pod) => p.spec.nodeName !== undefined && this.nodes.some((n) => n.name === p.spec.nodeName);
    const handle = (p: Pod) => {
      if (mine(p)) void this.step(p);
    };
    this.pods.addEventHandler({ onAdd: handle, onUpdate: (_o, p) => handle(p) });
  }

  async start(): Promise<void> {
    this.wire.start();
    await this.wire.whenConnected(10_000);
    const nodesApi = this.api.resource<Node>('nodes');
    for (const n of this.nodes) {
      const node: Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: n.name,
          labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...(n.labels ?? {}) },
        },
        spec: n.taints ? { taints: n.taints } : {},
      };
      const created = await nodesApi.create(node);
      created.status = this.nodeStatus();
      await nodesApi.updateStatus(created);
    }
    // Keep the Ready heartbeat fresh so a node lifecycle controller would not mark the nodes unknown.
    this.heartbeat = setInterval(() => void this.renew(), 1000);
    this.heartbeat.unref();
    this.pods.start();
    await this.pods.whenSynced();
  }

  private nodeStatus(): NonNullable<Node['status']> {
    const now = formatTime(Date.now());
    return {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'pretend kubelet',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
      nodeInfo: { kubeletVersion: 'v1.32.0', operatingSystem: 'linux', architecture: 'amd64' },
    };
  }

  private async renew(): Promise<void> {
    const nodesApi = this.api.resource<Node>('nodes');
    for (const n of this.nodes) {
      try {
        const cur = await nodesApi.get(n.name);
        cur.status = { ...(cur.status ?? {}), ...this.nodeStatus() };
        await nodesApi.updateStatus(cur);
      } catch {
        // next beat
      }
    }
  }

  private async step(p: Pod): Promise<void> {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (this.busy.has(key)) {
      this.again.add(key);
      return;
    }
    this.busy.add(key);
    try {
      const pods = this.api.resource<Pod>('pods', { namespace: p.metadata.namespace ?? 'default' });
      if (p.metadata.deletionTimestamp) {
        if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && isJobPod(p)) {
          await pods.updateStatus({
            ...p,
            status: { ...(p.status ?? {}), phase: 'Failed', conditions: conditions(false) },
          });
        }
        await pods.delete(p.metadata.name ?? '', { gracePeriodSeconds: 0 }).catch(() => undefined);
        return;
      }
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return;
      if (phase !== 'Running') {
        const now = formatTime(Date.now());
        await pods.updateStatus({
          ...p,
          status: {
            ...(p.status ?? {}),
            phase: 'Running',
            hostIP: '127.0.0.1',
            podIP: `10.244.0.${this.ipSeq++ % 250}`,
            startTime: now,
            conditions: conditions(true),
            containerStatuses: p.spec.containers.map((c) => ({
              name: c.name,
              image: c.image ?? '',
              imageID: '',
              ready: true,
              restartCount: 0,
              started: true,
              state: { running: { startedAt: now } },
            })),
          },
        });
        return;
      }
      if (isJobPod(p)) {
        await new Promise((r) => setTimeout(r, this.opts.jobRunMs ?? 300));
        const cur = await pods.get(p.metadata.name ?? '');
        const now = formatTime(Date.now());
        await pods.updateStatus({
          ...cur,
          status: {
            ...(cur.status ?? {}),
            phase: 'Succeeded',
            conditions: conditions(false),
            containerStatuses: cur.spec.containers.map((c) => ({
              name: c.name,
              image: c.image ?? '',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: now } },
            })),
          },
        });
      }
    } catch {
      // a conflict or a vanished pod: the next event retries
    } finally {
      this.busy.delete(key);
      if (this.again.delete(key)) {
        const latest = this.pods.get(p.metadata.namespace ?? '', p.metadata.name ?? '');
        if (latest) void this.step(latest);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.pods.stop();
    await this.wire.close();
  }
}

function isJobPod(p: Pod): boolean {
  return (p.metadata.ownerReferences ?? []).some((r) => r.kind === 'Job');
}

function conditions(ready: boolean): NonNullable<Pod['status']>['conditions'] {
  const now = formatTime(Date.now());
  const s = ready ? 'True' : 'False';
  return [
    { type: 'Initialized', status: 'True', lastTransitionTime: now },
    { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    { type: 'ContainersReady', status: s, lastTransitionTime: now },
    { type: 'Ready', status: s, lastTransitionTime: now },
  ];
}
