import { collectPlanStatus, renderStatus } from './status.js';
import type { ClusterPlan } from './topology.js';

const CLEAR = '\x1b[H\x1b[2J';
const KEEP_EVENTS = 8;

/**
 * The foreground `kemu up` screen: the status table redrawn every second, with the latest supervisor
 * events under it. Only used on a TTY; elsewhere events are plain lines.
 */
export class LiveScreen {
  private readonly events: string[];
  private timer: NodeJS.Timeout | undefined;
  private drawing = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly plan: ClusterPlan,
    /** The latest progress lines, shown until newer events push them out. */
    recent: string[] = [],
  ) {
    this.events = recent.slice(-KEEP_EVENTS);
  }

  start(): void {
    void this.draw();
    this.timer = setInterval(() => void this.draw(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  event(line: string): void {
    this.events.push(line);
    if (this.events.length > KEEP_EVENTS) this.events.shift();
  }

  private async draw(): Promise<void> {
    if (this.drawing) return;
    this.drawing = true;
    try {
      const text = renderStatus(await collectPlanStatus(this.plan));
      if (!this.timer) return;
      const rule = '-'.repeat(Math.min(100, this.out.columns ?? 80));
      this.out.write(
        `${CLEAR}${text}${rule}\n${this.events.join('\n')}\n\nexport KUBECONFIG=${this.plan.spec.stateDir}/kubeconfig   (Ctrl-C stops the cluster)\n`,
      );
    } catch {
      // a failed round is skipped; the next one redraws
    } finally {
      this.drawing = false;
    }
  }
}
