// Writes pod statuses to the apiserver (upstream pkg/kubelet/status): only when the status the
// kubelet computed differs from what the API has, through the status subresource, retrying
// conflicts with a fresh read, with a bounded number of writes in flight so a thousand sim nodes
// do not flood the apiserver. The latest desired status per pod wins; stale queued ones are dropped.
import type { Pod, PodStatus } from '@kemu/api';
import { isConflict, isNotFound, type ResourceClient } from '@kemu/client';
import type { Logger, Runtime } from '@kemu/runtime';
import { statusFingerprint } from './pod-status.js';
import type { Semaphore } from './semaphore.js';

interface Pending {
  pod: Pod;
  status: PodStatus;
  fp: string;
  waiters: (() => void)[];
}

export interface StatusManagerOptions {
  pods: ResourceClient<Pod>;
  runtime: Runtime;
  log: Logger;
  /** Writes in flight at once (default 8). */
  concurrency?: number;
  /** Shared across the nodes of a process: bounds status writes in flight process-wide. */
  limiter?: Semaphore;
  /** Latest cached copy of a pod (the informer), to compare against and to update from. */
  cached: (namespace: string, name: string) => Pod | undefined;
}

export class PodStatusManager {
  private readonly pending = new Map<string, Pending>();
  private readonly queue: string[] = [];
  private readonly lastWritten = new Map<string, { fp: string; rv: number }>();
  private inFlight = 0;
  private readonly inFlightUids = new Set<string>();
  private closed = false;
  /** Writes sent (tests, metrics). */
  writes = 0;

  constructor(private readonly o: StatusManagerOptions) {}

  /**
   * Wants `pod` to have `status`. Returns a promise that settles once it was written (or found
   * unnecessary, or the pod is gone); callers need not await it.
   */
  set(pod: Pod, status: PodStatus): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const fp = statusFingerprint(status);
    const cached = this.o.cached(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '');
    const base = cached && cached.metadata.uid === uid ? cached : pod;
    const existing = this.pending.get(uid);
    if (!existing && !this.inFlightUids.has(uid) && this.upToDate(uid, base, fp)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const p = this.pending.get(uid);
      if (p) {
        p.pod = base;
        p.status = status;
        p.fp = fp;
        p.waiters.push(resolve);
        return;
      }
      this.pending.set(uid, { pod: base, status, fp, waiters: [resolve] });
      this.queue.push(uid);
      this.pump();
    });
  }

  /** Resolves once nothing is queued or in flight for `uid`. */
  async flush(uid: string): Promise<void> {
    for (let i = 0; i < 1000 && (this.pending.has(uid) || this.inFlightUids.has(uid)); i++) {
      await new Promise<void>((r) => this.o.runtime.setTimeout(r, 10));
    }
  }

  forget(uid: string): void {
    this.lastWritten.delete(uid);
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) for (const w of p.waiters) w();
    this.pending.clear();
  }

  private upToDate(uid: string, pod: Pod, fp: string): boolean {
    if (statusFingerprint(pod.status) === fp) return true;
    // The cache may not have caught up with our own last write yet.
    const last = this.lastWritten.get(uid);
    return last !== undefined && last.fp === fp && Number(pod.metadata.resourceVersion ?? 0) <= last.rv;
  }

  private pump(): void {
    const limit = this.o.concurrency ?? 8;
    while (!this.closed && this.inFlight < limit && this.queue.length > 0) {
      const uid = this.queue.shift() as string;
      if (this.inFlightUids.has(uid)) {
        // One write per pod at a time: requeue behind the one in flight.
        this.queue.push(uid);
        if (this.queue.every((u) => this.inFlightUids.has(u))) break;
        continue;
      }
      const p = this.pending.get(uid);
      if (!p) continue;
      this.pending.delete(uid);
      this.inFlight++;
      this.inFlightUids.add(uid);
      void this.write(uid, p).finally(() => {
        this.inFlight--;
        this.inFlightUids.delete(uid);
        for (const w of p.waiters) w();
        this.pump();
      });
    }
  }

  private async write(uid: string, p: Pending): Promise<void> {
    let pod = p.pod;
    for (let attempt = 0; attempt < 5 && !this.closed; attempt++) {
      if (this.upToDate(uid, pod, p.fp)) return;
      try {
        const body = { ...pod, status: p.status };
        const updated = this.o.limiter
          ? await this.o.limiter.run(() => this.o.pods.updateStatus(body))
          : await this.o.pods.updateStatus(body);
        this.writes++;
        this.lastWritten.set(uid, { fp: p.fp, rv: Number(updated.metadata.resourceVersion ?? 0) });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err)) {
          this.o.log.warn({ pod: pod.metadata.name, err: (err as Error).message }, 'failed to update pod status');
          await new Promise<void>((r) => this.o.runtime.setTimeout(r, 200 * (attempt + 1)));
        }
        try {
          const fresh = await this.o.pods.get(pod.metadata.name ?? '', {
            namespace: pod.metadata.namespace ?? 'default',
          });
          if (fresh.metadata.uid !== uid) return;
          pod = fresh;
        } catch (e) {
          if (isNotFound(e)) return;
        }
      }
    }
  }
}
