import { UnknownOperationIdError } from './errors.js';
import { type ClientId, type Operation, UNKNOWN } from './history.js';

/**
 * Records a history while clients run. Call `invoke` just before sending a request and `complete`
 * as soon as its response arrives, so each operation's interval covers the moment it took effect.
 * The clock must be monotonic and shared by every client being recorded (in one process:
 * `performance.now`; across processes, record in the process that drives them).
 */
export class HistoryRecorder<I, O> {
  private readonly ops = new Map<number, Operation<I, O>>();
  private readonly finished = new Set<number>();
  private nextId = 0;
  private inFlight = 0;

  constructor(private readonly now: () => number) {}

  /** Records a call; returns the id to pass to `complete` or `fail`. */
  invoke(clientId: ClientId, input: I): number {
    const id = this.nextId++;
    this.inFlight++;
    this.ops.set(id, { clientId, input, output: UNKNOWN, call: this.now(), return: Number.POSITIVE_INFINITY });
    return id;
  }

  /** Records the response. */
  complete(id: number, output: O): void {
    const op = this.open(id);
    op.output = output;
    op.return = this.now();
  }

  /**
   * Records a failure. `unknown` (the default) means the request may or may not have taken effect —
   * a timeout, a dropped connection: the operation stays in the history with an unknown outcome.
   * `not-applied` means it certainly had no effect (refused before it was sent, or an error the
   * server returns only for requests it rejected): it is dropped from the history.
   */
  fail(id: number, kind: 'unknown' | 'not-applied' = 'unknown'): void {
    this.open(id);
    if (kind === 'not-applied') this.ops.delete(id);
  }

  /** Number of operations invoked and not yet completed or failed. */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * The history so far, in invocation order. Operations still in flight are included with an unknown
   * outcome (they may yet take effect).
   */
  history(): Operation<I, O>[] {
    return [...this.ops.values()].map((op) => ({ ...op }));
  }

  private open(id: number): Operation<I, O> {
    if (this.finished.has(id)) throw new UnknownOperationIdError(id, 'was already completed or failed');
    const op = this.ops.get(id);
    if (op === undefined) throw new UnknownOperationIdError(id, 'was never invoked on this recorder');
    this.finished.add(id);
    this.inFlight--;
    return op;
  }
}
