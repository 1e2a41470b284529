import { ApiInputError } from './errors.js';

/**
 * The timing profiles every component reads (`--profile fast|real`). `real` is upstream's defaults
 * (v1.32); `fast` scales the intervals that make failure drills slow down to seconds, keeping their
 * ratios (a node is declared dead after several missed renewals, a leader steps down before its lease
 * runs out), so the cluster goes through the same states in the same order, only sooner.
 *
 * One table, so the kubelet's renew interval and the node-lifecycle controller's grace period can never
 * disagree about which profile is running. The README of each component refers here.
 */
export type TimingProfileName = 'fast' | 'real';

export interface TimingProfile {
  name: TimingProfileName;
  /** kubelet `--node-status-update-frequency`: how often it posts Node status. */
  nodeStatusUpdateFrequencyMs: number;
  /** kubelet: `spec.leaseDurationSeconds` of its node Lease in `kube-node-lease`. */
  nodeLeaseDurationSeconds: number;
  /** kubelet: how often it renews that Lease (upstream: a quarter of the duration). */
  nodeLeaseRenewIntervalMs: number;
  /** controller-manager `--node-monitor-period`: how often node health is checked. */
  nodeMonitorPeriodMs: number;
  /** controller-manager `--node-monitor-grace-period`: no renewal for this long → Ready=Unknown. */
  nodeMonitorGracePeriodMs: number;
  /** apiserver `--default-not-ready-toleration-seconds` / `--default-unreachable-toleration-seconds`. */
  defaultTolerationSeconds: number;
  /** Leader election of scheduler and controller-manager (`--leader-elect-*`). */
  leaderElection: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** kubelet: back-off of a crashing container (CrashLoopBackOff), first and maximum. */
  crashLoopBackOffMs: { initial: number; max: number };
  /** kubelet: back-off of a failing image pull (ImagePullBackOff), first and maximum. */
  imagePullBackOffMs: { initial: number; max: number };
  /** kubelet `--sync-frequency`: periodic resync of every pod even without events. */
  kubeletSyncFrequencyMs: number;
  /** controller-manager: pods terminated on a vanished node are force-deleted after this long. */
  podGcTerminatedThresholdMs: number;
  /** controller-manager: a Job waits this long (doubling per failure, up to max) before replacing a failed pod. */
  jobPodFailureBackOffMs: { initial: number; max: number };
}

export const TIMING_PROFILES: Readonly<Record<TimingProfileName, TimingProfile>> = Object.freeze({
  real: {
    name: 'real',
    nodeStatusUpdateFrequencyMs: 10_000,
    nodeLeaseDurationSeconds: 40,
    nodeLeaseRenewIntervalMs: 10_000,
    nodeMonitorPeriodMs: 5_000,
    nodeMonitorGracePeriodMs: 50_000,
    defaultTolerationSeconds: 300,
    leaderElection: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
    crashLoopBackOffMs: { initial: 10_000, max: 300_000 },
    imagePullBackOffMs: { initial: 10_000, max: 300_000 },
    kubeletSyncFrequencyMs: 60_000,
    podGcTerminatedThresholdMs: 40_000,
    jobPodFailureBackOffMs: { initial: 10_000, max: 360_000 },
  },
  fast: {
    name: 'fast',
    nodeStatusUpdateFrequencyMs: 1_000,
    nodeLeaseDurationSeconds: 4,
    nodeLeaseRenewIntervalMs: 1_000,
    nodeMonitorPeriodMs: 500,
    nodeMonitorGracePeriodMs: 5_000,
    defaultTolerationSeconds: 5,
    leaderElection: { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    crashLoopBackOffMs: { initial: 1_000, max: 20_000 },
    imagePullBackOffMs: { initial: 1_000, max: 20_000 },
    kubeletSyncFrequencyMs: 10_000,
    podGcTerminatedThresholdMs: 5_000,
    jobPodFailureBackOffMs: { initial: 1_000, max: 20_000 },
  },
});

/** A `--profile` value that names no profile. */
export class TimingProfileError extends ApiInputError {
  constructor(message: string) {
    super('TIMING_PROFILE_UNKNOWN', message);
  }
}

/** The profile named by a `--profile` flag. */
export function timingProfile(name: string): TimingProfile {
  if (name !== 'fast' && name !== 'real') {
    throw new TimingProfileError(`--profile must be one of fast, real, got ${JSON.stringify(name)}`);
  }
  return TIMING_PROFILES[name];
}
