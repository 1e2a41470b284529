import type { Message } from '../types.js';
import type { SimRandom } from './random.js';

/** Faults the network applies to every message; the simulator changes them as the run goes on. */
export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  /** Delivery delay in steps is uniform in [0, maxDelay]; different delays reorder messages. */
  maxDelay: number;
  /** Chance that a message is held back much longer (up to 30 steps) and arrives long stale. */
  straggleRate: number;
}

interface InFlight {
  deliverAt: number;
  seq: number;
  msg: Message;
}

/**
 * An in-memory network under the simulator's control: per-message drop, delay (and so reordering)
 * and duplication, plus blocked member pairs for partitions. Partitions are checked when a message
 * is sent and again when it would be delivered.
 */
export class SimNetwork {
  faults: NetworkFaults = { dropRate: 0, duplicateRate: 0, maxDelay: 0, straggleRate: 0 };
  private blocked = new Set<string>();
  private queue: InFlight[] = [];
  private seq = 0;

  constructor(private readonly rng: SimRandom) {}

  private static pair(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  canReach(from: string, to: string): boolean {
    return from === to || !this.blocked.has(SimNetwork.pair(from, to));
  }

  /** Blocks every link between the two groups (members in both groups stay connected to all: a bridge). */
  partition(sideA: readonly string[], sideB: readonly string[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        if (sideA.includes(b) || sideB.includes(a)) continue;
        this.blocked.add(SimNetwork.pair(a, b));
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  isPartitioned(): boolean {
    return this.blocked.size > 0;
  }

  describePartition(): string {
    return this.blocked.size === 0 ? 'none' : [...this.blocked].sort().join(' ');
  }

  private delay(): number {
    if (this.rng.chance(this.faults.straggleRate)) return this.rng.int(5, 31);
    return this.rng.int(0, this.faults.maxDelay + 1);
  }

  /** Queues a message; returns false when the network lost it at once (partition or drop). */
  send(msg: Message, now: number): boolean {
    if (!this.canReach(msg.from, msg.to)) return false;
    if (this.rng.chance(this.faults.dropRate)) return false;
    this.queue.push({ deliverAt: now + this.delay(), seq: this.seq++, msg });
    if (this.rng.chance(this.faults.duplicateRate)) {
      this.queue.push({ deliverAt: now + this.delay() + 1, seq: this.seq++, msg });
    }
    return true;
  }

  /** Messages due at `now`, in a random order, each with whether its link still works (if not, it is lost). */
  takeDue(now: number): { msg: Message; reachable: boolean }[] {
    const due: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.queue) (f.deliverAt <= now ? due : rest).push(f);
    this.queue = rest;
    due.sort((x, y) => x.seq - y.seq);
    this.rng.shuffle(due);
    return due.map((f) => ({ msg: f.msg, reachable: this.canReach(f.msg.from, f.msg.to) }));
  }

  inFlight(): number {
    return this.queue.length;
  }
}
