// Round-robin endpoint choice with ClientIP session affinity, as the userspace proxier's
// LoadBalancerRR: affinity is remembered per client IP until it has been idle for the timeout, and
// survives endpoint updates as long as its endpoint is still there.
import type { Clock } from '@kemu/runtime';

interface Affinity {
  endpoint: string;
  lastUsedMs: number;
}

export class EndpointPicker {
  private endpoints: string[] = [];
  private nextIndex = 0;
  private affinityTimeoutMs: number | null;
  private readonly affinity = new Map<string, Affinity>();

  constructor(
    private readonly clock: Clock,
    affinityTimeoutMs: number | null = null,
  ) {
    this.affinityTimeoutMs = affinityTimeoutMs;
  }

  get size(): number {
    return this.endpoints.length;
  }

  list(): readonly string[] {
    return this.endpoints;
  }

  /**
   * Replaces the endpoint set. The rotation continues where it was (not from the start, so frequent
   * updates do not pile traffic on the first endpoint); affinities to endpoints that left are dropped.
   */
  update(endpoints: readonly string[], affinityTimeoutMs: number | null): void {
    const same = endpoints.length === this.endpoints.length && endpoints.every((e, i) => e === this.endpoints[i]);
    if (!same) {
      const current = this.endpoints[this.nextIndex];
      this.endpoints = [...endpoints];
      const at = current === undefined ? -1 : this.endpoints.indexOf(current);
      this.nextIndex = at >= 0 ? at : this.endpoints.length === 0 ? 0 : this.nextIndex % this.endpoints.length;
      const present = new Set(this.endpoints);
      for (const [client, a] of this.affinity) if (!present.has(a.endpoint)) this.affinity.delete(client);
    }
    if (affinityTimeoutMs !== this.affinityTimeoutMs) {
      this.affinityTimeoutMs = affinityTimeoutMs;
      this.affinity.clear();
    }
  }

  /**
   * The endpoint for a new connection from `clientIp`, skipping `exclude` (endpoints that just
   * refused this connection); undefined when none is left.
   */
  pick(clientIp: string, exclude: ReadonlySet<string> = new Set()): string | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const now = this.clock.monotonic();
    if (this.affinityTimeoutMs !== null) {
      const a = this.affinity.get(clientIp);
      if (a && now - a.lastUsedMs <= this.affinityTimeoutMs && !exclude.has(a.endpoint)) {
        a.lastUsedMs = now;
        return a.endpoint;
      }
    }
    for (let i = 0; i < n; i++) {
      const idx = (this.nextIndex + i) % n;
      const ep = this.endpoints[idx] as string;
      if (exclude.has(ep)) continue;
      this.nextIndex = (idx + 1) % n;
      if (this.affinityTimeoutMs !== null) this.affinity.set(clientIp, { endpoint: ep, lastUsedMs: now });
      return ep;
    }
    return undefined;
  }

  /** Drops affinities idle longer than the timeout (called periodically so the map stays small). */
  sweep(): void {
    if (this.affinityTimeoutMs === null) return;
    const now = this.clock.monotonic();
    for (const [client, a] of this.affinity)
      if (now - a.lastUsedMs > this.affinityTimeoutMs) this.affinity.delete(client);
  }

  get affinityCount(): number {
    return this.affinity.size;
  }
}
