import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The member's Prometheus metrics (names follow etcd's `etcd_server_*` / `etcd_disk_*` where one exists). */
export class MemberMetrics {
  readonly leaderChanges: Counter;
  readonly proposalsCommitted: Counter;
  readonly proposalsFailed: Counter;
  readonly proposalsPending: Gauge;
  readonly walFsync: Histogram;
  readonly applyDuration: Histogram;

  constructor(
    registry: Registry,
    sample: { term: () => number; hasLeader: () => boolean; watchers: () => number; isLeader: () => boolean },
  ) {
    const registers = [registry];
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total',
      help: 'Leader changes seen by this member.',
      registers,
    });
    this.proposalsCommitted = new Counter({
      name: 'etcd_server_proposals_committed_total',
      help: 'Proposals from this member applied.',
      registers,
    });
    this.proposalsFailed = new Counter({
      name: 'etcd_server_proposals_failed_total',
      help: 'Proposals from this member that failed (no leader, timeout, dropped).',
      registers,
    });
    this.proposalsPending = new Gauge({
      name: 'etcd_server_proposals_pending',
      help: 'Proposals from this member waiting to be applied.',
      registers,
    });
    this.walFsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'Latency of WAL saves (write + fsync, group committed).',
      buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024],
      registers,
    });
    this.applyDuration = new Histogram({
      name: 'etcd_server_apply_duration_seconds',
      help: 'Time to apply one batch of committed entries to the store.',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    });
    new Gauge({
      name: 'etcd_server_term',
      help: 'Current Raft term.',
      registers,
      collect() {
        this.set(sample.term());
      },
    });
    new Gauge({
      name: 'etcd_server_has_leader',
      help: '1 when this member knows a leader.',
      registers,
      collect() {
        this.set(sample.hasLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'etcd_server_is_leader',
      help: '1 when this member is the leader.',
      registers,
      collect() {
        this.set(sample.isLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'etcd_debugging_mvcc_watcher_total',
      help: 'Open watches on this member.',
      registers,
      collect() {
        this.set(sample.watchers());
      },
    });
  }
}
