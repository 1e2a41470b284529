/**
 * A steady stream of writes through the apiserver (ConfigMap creates over HTTP, as kubectl would),
 * remembering exactly which ones were acknowledged (201). Drills compare that list with what the
 * cluster holds afterwards: an acknowledged write must never be lost, whatever failed in between.
 */
export interface WriteAttempt {
  name: string;
  ok: boolean;
  status: number;
  /** The Status message of a refused write, or the transport error. */
  error?: string;
}

export class AckedWriter {
  readonly attempts: WriteAttempt[] = [];
  private seq = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly apiserverUrl: string,
    private readonly namespace: string,
    private readonly prefix: string,
    private readonly labels: Record<string, string>,
  ) {}

  get acked(): string[] {
    return this.attempts.filter((a) => a.ok).map((a) => a.name);
  }

  get failed(): WriteAttempt[] {
    return this.attempts.filter((a) => !a.ok);
  }

  /** One write; resolves with its outcome (never throws). */
  async writeOne(): Promise<WriteAttempt> {
    const n = this.seq++;
    const name = `${this.prefix}-${String(n).padStart(5, '0')}`;
    let attempt: WriteAttempt;
    try {
      const res = await fetch(`${this.apiserverUrl}/api/v1/namespaces/${this.namespace}/configmaps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { name, labels: this.labels }, data: { seq: String(n) } }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json().catch(() => ({}))) as { message?: string };
      attempt = { name, ok: res.status === 201, status: res.status };
      if (res.status !== 201) attempt.error = body.message ?? `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      attempt = { name, ok: false, status: 0, error: cause ?? (err instanceof Error ? err.message : String(err)) };
    }
    this.attempts.push(attempt);
    return attempt;
  }

  /** `concurrency` loops writing back to back (a short pause after a failure). */
  start(concurrency = 2): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < concurrency; i++) {
      this.loops.push(
        (async () => {
          while (this.running) {
            const a = await this.writeOne();
            await new Promise((r) => setTimeout(r, a.ok ? 20 : 100));
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /**
   * Which acknowledged writes the cluster does not have (a consistent list through the apiserver,
   * which reads etcd), and whether each present one carries the data that was written.
   */
  async missingAcked(selector: string): Promise<{ missing: string[]; present: number }> {
    const res = await fetch(
      `${this.apiserverUrl}/api/v1/namespaces/${this.namespace}/configmaps?labelSelector=${encodeURIComponent(selector)}`,
      { signal: AbortSignal.timeout(15_000) },
    );
    if (!res.ok) throw new Error(`list configmaps: HTTP ${res.status}`);
    const list = (await res.json()) as { items: { metadata: { name: string }; data?: Record<string, string> }[] };
    const have = new Map(list.items.map((i) => [i.metadata.name, i.data?.seq]));
    const missing = this.acked.filter((name) => {
      const seq = have.get(name);
      return seq === undefined || name !== `${this.prefix}-${seq.padStart(5, '0')}`;
    });
    return { missing, present: have.size };
  }
}
