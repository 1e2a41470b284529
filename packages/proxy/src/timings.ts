import { type TimingProfileName, timingProfile } from '@kemu/api';
import { ProxyFlagError } from './errors.js';

/**
 * Intervals of kube-proxy and the DNS per --profile. Kept here rather than in @kemu/api's
 * TIMING_PROFILES because no other component reads them.
 */
export interface ProxyTimings {
  /** How often a standby listener tries to bind a socket another proxy holds. */
  bindRetryMs: number;
  /** --iptables-min-sync-period: at most one sync per this long. */
  minSyncPeriodMs: number;
  /** --iptables-sync-period: a full sync at least this often. */
  syncPeriodMs: number;
  connectTimeoutMs: number;
  udpIdleTimeoutMs: number;
}

export const PROXY_TIMINGS: Readonly<Record<TimingProfileName, ProxyTimings>> = Object.freeze({
  real: {
    bindRetryMs: 2000,
    minSyncPeriodMs: 1000,
    syncPeriodMs: 30_000,
    connectTimeoutMs: 5000,
    udpIdleTimeoutMs: 30_000,
  },
  fast: {
    bindRetryMs: 500,
    minSyncPeriodMs: 50,
    syncPeriodMs: 10_000,
    connectTimeoutMs: 2000,
    udpIdleTimeoutMs: 10_000,
  },
});

export function proxyTimings(profile: string): ProxyTimings {
  try {
    return PROXY_TIMINGS[timingProfile(profile).name];
  } catch (err) {
    throw new ProxyFlagError((err as Error).message);
  }
}
