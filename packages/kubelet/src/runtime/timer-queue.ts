import type { Runtime, TimerHandle } from '@kemu/runtime';

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Many deadlines on one runtime timer: a binary min-heap ordered by (deadline, arming order), with
 * only the earliest deadline armed on the injected Runtime. Cancelling marks the entry; it is
 * dropped when it reaches the top. This is what lets the sim runtime host 10,000 containers
 * without 10,000 timers.
 */
export class TimerQueue {
  private readonly rt: Runtime;
  private readonly heap: Entry[] = [];
  private seq = 0;
  private armed: { at: number; handle: TimerHandle } | null = null;
  private live = 0;

  constructor(rt: Runtime) {
    this.rt = rt;
  }

  /** Runs `fn` once `delayMs` have passed on the runtime's monotonic clock. */
  schedule(delayMs: number, fn: () => void): TimerHandle {
    const e: Entry = { at: this.rt.monotonic() + Math.max(0, delayMs), seq: ++this.seq, fn, cancelled: false };
    this.push(e);
    this.live++;
    this.arm();
    return {
      cancel: () => {
        if (e.cancelled) return;
        e.cancelled = true;
        this.live--;
      },
    };
  }

  /** Deadlines not yet fired or cancelled. */
  size(): number {
    return this.live;
  }

  clear(): void {
    for (const e of this.heap) e.cancelled = true;
    this.heap.length = 0;
    this.live = 0;
    this.armed?.handle.cancel();
    this.armed = null;
  }

  private arm(): void {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top) {
      this.armed?.handle.cancel();
      this.armed = null;
      return;
    }
    if (this.armed && this.armed.at <= top.at) return;
    this.armed?.handle.cancel();
    const at = top.at;
    this.armed = { at, handle: this.rt.setTimeout(() => this.fire(), Math.max(0, at - this.rt.monotonic())) };
  }

  private fire(): void {
    this.armed = null;
    const now = this.rt.monotonic();
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.at > now) break;
      this.pop();
      top.cancelled = true;
      this.live--;
      top.fn();
    }
    this.arm();
  }

  private dropCancelled(): void {
    while (this.heap[0]?.cancelled) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
