// The node heartbeat: a Lease `kube-node-lease/<node>` renewed every `renewIntervalMs` (upstream's
// nodelease controller). The node-lifecycle controller reads renewTime to decide whether the node
// is alive, so a frozen kubelet (drill) simply stops renewing.
import type { Lease } from '@kemu/api';
import { formatMicroTime } from '@kemu/api';
import { isAlreadyExists, isConflict, isNotFound, type ResourceClient } from '@kemu/client';
import type { Logger, Random, Runtime, TimerHandle } from '@kemu/runtime';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeLeaseOptions {
  leases: ResourceClient<Lease>;
  nodeName: string;
  /** The Node's uid once known, for the Lease's ownerReference (so deleting the Node deletes it). */
  nodeUid: () => string | undefined;
  durationSeconds: number;
  renewIntervalMs: number;
  runtime: Runtime;
  random: Random;
  log: Logger;
  /** Spread the first renewal over one interval (many nodes in one process). */
  jitterStart?: boolean;
}

export class NodeLease {
  private lease: Lease | undefined;
  private timer: TimerHandle | undefined;
  private running = false;
  private frozen = false;
  private failures = 0;
  /** Renewals that reached the apiserver (tests, metrics). */
  renewals = 0;

  constructor(private readonly o: NodeLeaseOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const first = this.o.jitterStart ? this.o.random.int(0, this.o.renewIntervalMs) : 0;
    this.schedule(first);
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Drill: stop renewing (the kubelet looks dead to the control plane) until `resume()`. */
  freeze(): void {
    this.frozen = true;
  }

  resume(): void {
    this.frozen = false;
    if (this.running) this.schedule(0);
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    this.timer = this.o.runtime.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (!this.running) return;
    if (!this.frozen) {
      try {
        await this.renew();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.o.log.warn({ err: (err as Error).message }, 'failed to renew node lease');
      }
    }
    if (!this.running) return;
    // After a failure retry sooner (upstream: 200 ms doubling up to the interval).
    const next =
      this.failures > 0 ? Math.min(this.o.renewIntervalMs, 200 * 2 ** (this.failures - 1)) : this.o.renewIntervalMs;
    // ±4% jitter (upstream's JitterUntil factor) so a thousand sim nodes do not renew in lockstep.
    const jitter = Math.floor(next * 0.04 * this.o.random.next());
    this.schedule(next + jitter);
  }

  private desired(base: Lease | undefined): Lease {
    const now = formatMicroTime(this.o.runtime.now());
    const uid = this.o.nodeUid();
    const lease: Lease = base
      ? structuredClone(base)
      : {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.nodeName, namespace: NODE_LEASE_NAMESPACE },
        };
    lease.spec = {
      ...(lease.spec ?? {}),
      holderIdentity: this.o.nodeName,
      leaseDurationSeconds: this.o.durationSeconds,
      renewTime: now,
    };
    if (uid !== undefined && !(lease.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) {
      lease.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid }];
    }
    return lease;
  }

  /** One renewal: update the cached lease (CAS), falling back to get/create. */
  async renew(): Promise<void> {
    const leases = this.o.leases;
    if (this.lease) {
      try {
        this.lease = await leases.update(this.desired(this.lease));
        this.renewals++;
        return;
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err)) throw err;
        this.lease = undefined;
      }
    }
    let current: Lease | undefined;
    try {
      current = await leases.get(this.o.nodeName, { namespace: NODE_LEASE_NAMESPACE });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (current) {
      this.lease = await leases.update(this.desired(current));
    } else {
      try {
        this.lease = await leases.create(this.desired(undefined));
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        return; // someone created it meanwhile; the next tick updates it
      }
    }
    this.renewals++;
  }
}
