/**
 * Lease expiry bookkeeping for the leader, after etcd's lessor. The store only records which
 * leases exist and their TTLs; whether a lease has expired is a matter of the leader's clock,
 * so only the leader tracks deadlines, and it expires a lease by proposing a `leaseRevoke`
 * through Raft like any other write. This keeps the replicated state free of time.
 *
 * Host contract: call `granted`/`revoked` after applying those requests (on every member),
 * `promote` when this member becomes leader and `demote` when it stops being one, then poll
 * `expired()` (etcd: every 500 ms) and propose a revoke for each id returned.
 */
import type { Clock } from '@kemu/runtime';
import { LeaseNotFoundError, LeaseNotPrimaryError } from './errors.js';
import type { LeaseInfo } from './types.js';

export interface LeaseExpiryOptions {
  /** An expired lease is offered again if not revoked within this time (etcd: 3 s). */
  retryMs?: number;
}

interface Tracked {
  ttl: number;
  /** Monotonic ms; Infinity while not primary. */
  expiresAt: number;
  /** Monotonic ms before which `expired()` does not offer this lease again. */
  retryAt: number;
}

export class LeaseExpiry {
  private readonly leases = new Map<number, Tracked>();
  private primary = false;
  private readonly retryMs: number;

  constructor(
    private readonly clock: Clock,
    options: LeaseExpiryOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 3000;
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  /**
   * This member became leader. Like etcd's Promote, every lease restarts its TTL (or its last
   * checkpointed remaining TTL) plus `extendMs` (the election timeout), so clients get to renew
   * with the new leader before anything expires.
   */
  promote(leases: readonly LeaseInfo[], extendMs: number): void {
    this.primary = true;
    this.leases.clear();
    const now = this.clock.monotonic();
    for (const l of leases) {
      const ttl = l.remainingTtl > 0 ? l.remainingTtl : l.ttl;
      this.leases.set(l.id, { ttl: l.ttl, expiresAt: now + ttl * 1000 + extendMs, retryAt: 0 });
    }
  }

  /** This member is no longer leader: nothing expires here. */
  demote(): void {
    this.primary = false;
    for (const t of this.leases.values()) t.expiresAt = Number.POSITIVE_INFINITY;
  }

  /** A grant was applied (on any member; on the leader the deadline starts now). */
  granted(id: number, ttl: number): void {
    const expiresAt = this.primary ? this.clock.monotonic() + ttl * 1000 : Number.POSITIVE_INFINITY;
    this.leases.set(id, { ttl, expiresAt, retryAt: 0 });
  }

  /** A revoke was applied. */
  revoked(id: number): void {
    this.leases.delete(id);
  }

  /** A keep-alive reached the leader: the lease lives another full TTL. Returns the TTL (s). */
  renew(id: number): number {
    if (!this.primary) throw new LeaseNotPrimaryError();
    const t = this.leases.get(id);
    if (!t) throw new LeaseNotFoundError(id);
    t.expiresAt = this.clock.monotonic() + t.ttl * 1000;
    t.retryAt = 0;
    return t.ttl;
  }

  /**
   * Seconds left, rounded up (etcd's TimeToLive "TTL"); -1 once expired. Only the leader knows,
   * as in etcd, where followers forward this request.
   */
  remainingTtl(id: number): number {
    if (!this.primary) throw new LeaseNotPrimaryError();
    const t = this.leases.get(id);
    if (!t) throw new LeaseNotFoundError(id);
    const ms = t.expiresAt - this.clock.monotonic();
    return ms <= 0 ? -1 : Math.ceil(ms / 1000);
  }

  /**
   * Leases past their deadline that the leader should now propose to revoke, earliest deadline
   * first, at most `limit` (etcd rate-limits revokes so a mass expiry does not flood Raft). Each
   * is offered once per `retryMs` until its revoke is applied; ones over the limit wait.
   */
  expired(limit = Number.POSITIVE_INFINITY): number[] {
    if (!this.primary) return [];
    const now = this.clock.monotonic();
    const due: [number, number][] = [];
    for (const [id, t] of this.leases) if (t.expiresAt <= now && t.retryAt <= now) due.push([t.expiresAt, id]);
    const chosen = due.sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, limit);
    for (const [, id] of chosen) this.leases.get(id)!.retryAt = now + this.retryMs;
    return chosen.map(([, id]) => id);
  }

  /** Remaining TTLs to persist through a `leaseCheckpoint` request (leader only), in id order. */
  checkpoints(): { id: number; remainingTtl: number }[] {
    if (!this.primary) return [];
    const now = this.clock.monotonic();
    return [...this.leases]
      .filter(([, t]) => t.expiresAt > now)
      .map(([id, t]) => ({ id, remainingTtl: Math.ceil((t.expiresAt - now) / 1000) }))
      .sort((a, b) => a.id - b.id);
  }

  /** Re-aligns with the store after a snapshot restore: drops vanished leases, adds new ones. */
  reconcile(leases: readonly LeaseInfo[]): void {
    const ids = new Set(leases.map((l) => l.id));
    for (const id of [...this.leases.keys()]) if (!ids.has(id)) this.leases.delete(id);
    for (const l of leases) if (!this.leases.has(l.id)) this.granted(l.id, l.ttl);
  }
}
