import type { EtcdClient } from '@kemu/etcd';
import type { Logger, Runtime, TimerHandle } from '@kemu/runtime';

/**
 * etcd history compaction, the apiserver's job as upstream (`--etcd-compaction-interval`, 5 min):
 * each tick compacts to the revision seen at the previous tick, so watches resuming from any
 * resourceVersion younger than one interval still replay from etcd. Several apiservers may do it;
 * compacting to an already-compacted revision is refused by etcd and ignored here.
 */
export class Compactor {
  private timer: TimerHandle | undefined;
  private previous = 0;

  constructor(
    private readonly etcd: EtcdClient,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly runtime: Runtime,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = this.runtime.setInterval(() => void this.tick(), this.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
  }

  async tick(): Promise<void> {
    try {
      const now = (await this.etcd.range('/registry/', { prefix: true, countOnly: true })).header.revision;
      const target = this.previous;
      this.previous = now;
      if (target <= 0) return;
      await this.etcd.compact(target);
      this.log.info({ revision: target }, 'compacted etcd history');
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ETCD_COMPACTED' || code === 'ETCD_FUTURE_REV') return;
      this.log.warn({ err }, 'etcd compaction failed; retrying next interval');
    }
  }
}
