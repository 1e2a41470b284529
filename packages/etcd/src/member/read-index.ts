import type { Runtime, TimerHandle } from '@kemu/runtime';

interface Batch {
  ctx: string;
  waiters: { resolve: (index: number) => void; reject: (err: Error) => void }[];
  sentAt: number;
  retry: TimerHandle | undefined;
}

/**
 * Batches linearizable reads into ReadIndex rounds (like etcd's linearizableReadLoop): every read
 * that arrives while a round is in flight joins the next round, so N concurrent reads cost one
 * heartbeat round trip, not N. A round that gets no answer (leader changed, message lost) is
 * re-sent with a new context after `retryMs`.
 */
export class ReadIndexBatcher {
  private inFlight: Batch | undefined;
  private next: Batch['waiters'] = [];
  private seq = 0;

  constructor(
    private readonly runtime: Runtime,
    private readonly prefix: string,
    /** Asks Raft for a read index; the answer comes back through `onReadState`. */
    private readonly requestReadIndex: (ctx: string) => void,
    private readonly retryMs: number,
  ) {}

  /** Resolves with an index the caller must wait to have applied before reading. */
  read(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.next.push({ resolve, reject });
      if (!this.inFlight) this.startRound();
    });
  }

  onReadState(ctx: string, index: number): void {
    const b = this.inFlight;
    if (!b || b.ctx !== ctx) return;
    b.retry?.cancel();
    this.inFlight = undefined;
    for (const w of b.waiters) w.resolve(index);
    if (this.next.length > 0) this.startRound();
  }

  /** Fails every waiting read (member stopping, or this member can no longer reach a leader). */
  failAll(err: Error): void {
    const b = this.inFlight;
    this.inFlight = undefined;
    b?.retry?.cancel();
    for (const w of [...(b?.waiters ?? []), ...this.next]) w.reject(err);
    this.next = [];
  }

  private startRound(): void {
    const waiters = this.next;
    this.next = [];
    const ctx = `${this.prefix}:${++this.seq}`;
    const batch: Batch = { ctx, waiters, sentAt: this.runtime.monotonic(), retry: undefined };
    this.inFlight = batch;
    batch.retry = this.runtime.setTimeout(() => this.resend(batch), this.retryMs);
    this.requestReadIndex(ctx);
  }

  private resend(batch: Batch): void {
    if (this.inFlight !== batch) return;
    // Fold the readers that queued meanwhile into the retried round.
    this.next = [...batch.waiters, ...this.next];
    this.inFlight = undefined;
    this.startRound();
  }
}
