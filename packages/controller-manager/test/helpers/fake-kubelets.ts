// Test-only stand-in for kubelets (and, when no scheduler runs, for the scheduler) in cross-process
// tests of the node controllers: it registers Nodes, renews their kube-node-lease Leases, binds
// pending pods to live nodes round-robin, reports bound pods Running/Ready with an IP, and finishes
// graceful deletions on live nodes. `freeze(node)` stops everything for one node, like a dead kubelet.
// It talks to the real apiserver over the wire, as a kubelet does.
import { formatMicroTime, formatTime, type Lease, type Node, type Pod } from '@kemu/api';
import { type ApiClient, isAlreadyExists, isConflict, isNotFound } from '@kemu/client';

export class FakeKubelets {
  private readonly frozen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private next = 0;
  private ipSeq = 10;

  constructor(
    private readonly api: ApiClient,
    readonly nodes: readonly string[],
    private readonly opts: { bindPods: boolean; namespace: string; periodMs?: number },
  ) {}

  async start(): Promise<void> {
    const now = formatTime(Date.now());
    for (const [i, name] of this.nodes.entries()) {
      const node: Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        spec: {},
        status: {
          capacity: { cpu: '8', memory: '16Gi', pods: '110' },
          allocatable: { cpu: '8', memory: '16Gi', pods: '110' },
          addresses: [
            { type: 'InternalIP', address: `127.0.0.${i + 2}` },
            { type: 'Hostname', address: name },
          ],
          conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({
            type,
            status: 'False' as const,
            reason: `KubeletHas${type === 'PIDPressure' ? 'SufficientPID' : type === 'DiskPressure' ? 'NoDiskPressure' : 'SufficientMemory'}`,
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          })),
        },
      };
      node.status?.conditions?.push({
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'kubelet is posting ready status',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      });
      try {
        const created = await this.api.resource<Node>('nodes').create(node);
        // Status is a subresource: the create keeps what the kubelet sends (as node registration does).
        if (created.status?.conditions === undefined) {
          await this.api.resource<Node>('nodes').updateStatus({ ...created, status: node.status ?? {} });
        }
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.periodMs ?? 300);
  }

  freeze(node: string): void {
    this.frozen.add(node);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private live(): string[] {
    return this.nodes.filter((n) => !this.frozen.has(n));
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const n of this.live()) await this.renew(n);
      await this.syncPods();
    } catch {
      // The next tick tries again (apiserver restarts, conflicts).
    } finally {
      this.busy = false;
    }
  }

  private async renew(node: string): Promise<void> {
    const leases = this.api.resource<Lease>('leases.coordination.k8s.io', { namespace: 'kube-node-lease' });
    const spec = { holderIdentity: node, leaseDurationSeconds: 4, renewTime: formatMicroTime(Date.now()) };
    try {
      const l = await leases.get(node);
      await leases.update({ ...l, spec: { ...l.spec, ...spec } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await leases.create({ metadata: { name: node, namespace: 'kube-node-lease' }, spec });
    }
  }

  private async syncPods(): Promise<void> {
    const pods = this.api.resource<Pod>('pods', { namespace: this.opts.namespace });
    const live = this.live();
    for (const pod of (await pods.list()).items) {
      const name = pod.metadata.name ?? '';
      const node = pod.spec.nodeName ?? '';
      try {
        if (node === '') {
          if (!this.opts.bindPods || live.length === 0 || pod.metadata.deletionTimestamp !== undefined) continue;
          const target = live[this.next++ % live.length] ?? '';
          await pods.bind({
            metadata: { name, namespace: this.opts.namespace },
            target: { kind: 'Node', name: target },
          });
          continue;
        }
        if (!live.includes(node)) continue;
        if (pod.metadata.deletionTimestamp !== undefined) {
          await pods.delete(name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid ?? '' } });
          continue;
        }
        if (pod.status?.phase !== 'Running') {
          const t = formatTime(Date.now());
          await pods.updateStatus({
            ...pod,
            status: {
              ...pod.status,
              phase: 'Running',
              podIP: `10.244.0.${this.ipSeq++}`,
              hostIP: '127.0.0.1',
              startTime: t,
              conditions: [
                { type: 'Initialized', status: 'True', lastTransitionTime: t },
                { type: 'Ready', status: 'True', lastTransitionTime: t },
                { type: 'ContainersReady', status: 'True', lastTransitionTime: t },
                { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
              ],
            },
          });
        }
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  }
}
