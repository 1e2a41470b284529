import type { Clock } from '@kemu/runtime';

/** Upstream's ExpectationsTimeout: after this long a controller stops waiting for its own writes. */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Record {
  add: number;
  del: number;
  /** UIDs of pods this controller deleted and has not yet seen disappear (UIDTrackingControllerExpectations). */
  deleting: Set<string>;
  at: number;
}

/**
 * client-go's ControllerExpectations (+ UID tracking for deletes): before a controller creates N
 * pods it expects N adds; the informer's add events count them down. Until they arrived (or the
 * TTL passed) the controller does not act on its cache again, because the cache does not yet show
 * what it just did and it would create the same pods twice. Lives in memory only: after a restart
 * there are no expectations and the first sync reads a fresh cache, which is what upstream relies on.
 */
export class ControllerExpectations {
  private readonly records = new Map<string, Record>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = EXPECTATIONS_TTL_MS,
  ) {}

  /** True when the controller may act on its cache for `key`. */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.clock.monotonic() - r.at > this.ttlMs;
  }

  /** Expect `add` creations and the deletion of `uids` (replacing what was expected before). */
  expect(key: string, add: number, uids: readonly string[]): void {
    this.set(key, add, uids);
  }

  expectCreations(key: string, n: number): void {
    this.set(key, n, []);
  }

  /** Adds to what is already expected (several writes in one sync, e.g. a Parallel StatefulSet). */
  raise(key: string, add: number, uids: readonly string[] = []): void {
    const r = this.records.get(key);
    if (!r || this.satisfied(key)) {
      this.set(key, add, uids);
      return;
    }
    r.add += add;
    for (const u of uids)
      if (!r.deleting.has(u)) {
        r.deleting.add(u);
        r.del++;
      }
    r.at = this.clock.monotonic();
  }

  expectDeletions(key: string, uids: readonly string[]): void {
    this.set(key, 0, uids);
  }

  /** One pod created by this controller was observed (or its create failed). */
  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r) r.add--;
  }

  /** A pod this controller deleted is gone (or its delete failed). */
  deletionObserved(key: string, uid: string): void {
    const r = this.records.get(key);
    if (!r) return;
    if (r.deleting.delete(uid)) r.del--;
  }

  /** Forget the key (its owner was deleted). */
  delete(key: string): void {
    this.records.delete(key);
  }

  pending(key: string): { add: number; del: number } | undefined {
    const r = this.records.get(key);
    return r ? { add: r.add, del: r.del } : undefined;
  }

  private set(key: string, add: number, uids: readonly string[]): void {
    this.records.set(key, { add, del: uids.length, deleting: new Set(uids), at: this.clock.monotonic() });
  }
}
