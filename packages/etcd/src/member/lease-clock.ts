import type { Runtime } from '@kemu/runtime';

/**
 * The leader's view of lease deadlines. Expiry is decided only by the leader's monotonic clock;
 * revocation then goes through Raft like any write, so every member deletes the keys at the same
 * revision. A new leader starts every lease afresh from its full TTL (etcd's Promote), so a lease
 * never expires early because of a leader change.
 */
export class LeaseClock {
  private readonly deadlines = new Map<number, number>();
  private readonly revoking = new Set<number>();
  private primary = false;

  constructor(private readonly runtime: Runtime) {}

  promote(leases: readonly { id: number; ttl: number; remainingTtl: number }[]): void {
    this.primary = true;
    this.deadlines.clear();
    this.revoking.clear();
    const now = this.runtime.monotonic();
    for (const l of leases) this.deadlines.set(l.id, now + (l.remainingTtl > 0 ? l.remainingTtl : l.ttl) * 1000);
  }

  demote(): void {
    this.primary = false;
    this.deadlines.clear();
    this.revoking.clear();
  }

  renew(id: number, ttlSeconds: number): void {
    if (!this.primary) return;
    this.deadlines.set(id, this.runtime.monotonic() + ttlSeconds * 1000);
  }

  forget(id: number): void {
    this.deadlines.delete(id);
    this.revoking.delete(id);
  }

  remainingSeconds(id: number, ttlSeconds: number): number {
    const d = this.deadlines.get(id);
    if (d === undefined) return ttlSeconds;
    return Math.max(0, Math.ceil((d - this.runtime.monotonic()) / 1000));
  }

  expired(): number[] {
    if (!this.primary) return [];
    const now = this.runtime.monotonic();
    const out: number[] = [];
    for (const [id, d] of this.deadlines) if (d <= now && !this.revoking.has(id)) out.push(id);
    return out;
  }

  markRevoking(id: number): void {
    this.revoking.add(id);
  }

  unmarkRevoking(id: number): void {
    this.revoking.delete(id);
  }
}
