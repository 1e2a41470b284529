import type { Logger } from 'pino';

type Closer = () => Promise<void> | void;

/**
 * Runs registered closers in reverse order on SIGTERM/SIGINT, then exits. A second signal, or a
 * closer that hangs past the deadline, forces the exit so a supervisor is never left waiting.
 */
export class ShutdownHooks {
  private readonly closers: Closer[] = [];
  private running = false;

  constructor(
    private readonly log: Logger,
    private readonly deadlineMs = 5000,
  ) {}

  add(closer: Closer): void {
    this.closers.push(closer);
  }

  install(): void {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.on(sig, () => {
        if (this.running) {
          this.log.warn({ signal: sig }, 'second signal, exiting now');
          process.exit(1);
        }
        void this.run(sig);
      });
    }
  }

  async run(reason: string): Promise<void> {
    this.running = true;
    this.log.info({ reason }, 'shutting down');
    const force = setTimeout(() => {
      this.log.error({ deadlineMs: this.deadlineMs }, 'shutdown deadline passed, exiting');
      process.exit(1);
    }, this.deadlineMs);
    force.unref();
    for (const closer of [...this.closers].reverse()) {
      try {
        await closer();
      } catch (err) {
        this.log.error({ err }, 'error while shutting down');
      }
    }
    clearTimeout(force);
    process.exit(0);
  }
}
