/**
 * Linearizable reads (Raft thesis §6.4): a read waits for the leader's commit index at the time it
 * arrived, after the leader has confirmed it is still leader by hearing from a quorum. Reads that
 * arrive while a confirmation round is under way wait for the next round, and one round (a heartbeat
 * broadcast carrying the round's id) confirms every read that joined it.
 */
export interface PendingRead {
  /** The requester: '' for the leader's own host, otherwise the follower that forwarded it. */
  from: string;
  requestCtx: Uint8Array;
  /** The leader's commit index when the read arrived. */
  index: number;
}

interface Round {
  id: number;
  reads: PendingRead[];
  acks: Set<string>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PREFIX = 'read-round:';

export class ReadIndexRounds {
  private waiting: PendingRead[] = [];
  private round: Round | null = null;
  private nextId = 1;

  add(read: PendingRead): void {
    this.waiting.push(read);
  }

  /** Starts a round for the waiting reads if none is running; returns true when it did. */
  maybeStartRound(self: string): boolean {
    if (this.round !== null || this.waiting.length === 0) return false;
    this.round = { id: this.nextId++, reads: this.waiting, acks: new Set([self]) };
    this.waiting = [];
    return true;
  }

  /** The heartbeat context that asks followers to confirm the running round (empty when none runs). */
  context(): Uint8Array {
    return this.round === null ? new Uint8Array(0) : encoder.encode(PREFIX + this.round.id);
  }

  /**
   * Records a heartbeat response. When `hasQuorum(acks)` says the running round is confirmed,
   * returns its reads (and clears it); otherwise returns null.
   */
  ack(from: string, ctx: Uint8Array, hasQuorum: (acks: ReadonlySet<string>) => boolean): PendingRead[] | null {
    const round = this.round;
    if (round === null || ctx.length === 0) return null;
    if (decoder.decode(ctx) !== PREFIX + round.id) return null;
    round.acks.add(from);
    if (!hasQuorum(round.acks)) return null;
    this.round = null;
    return round.reads;
  }

  pendingCount(): number {
    return this.waiting.length + (this.round?.reads.length ?? 0);
  }

  reset(): void {
    this.waiting = [];
    this.round = null;
  }
}
