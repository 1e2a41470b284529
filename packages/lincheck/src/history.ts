import { InvalidEventsError, InvalidHistoryError } from './errors.js';

/**
 * Marks the output of an operation whose outcome the client never learned (a put that timed out, a
 * connection dropped mid-request). Such an operation may have taken effect at any moment after its
 * call — even long after the client gave up — or never.
 */
export const UNKNOWN: unique symbol = Symbol.for('kemu.lincheck.unknown');
export type Unknown = typeof UNKNOWN;

export type ClientId = string | number;

/**
 * One completed (or abandoned) operation of a concurrent history. `call` and `return` come from one
 * monotonic clock shared by all clients; the operation took effect at some instant between them.
 *
 * An operation whose outcome is unknown has `output: UNKNOWN` and, normally, `return: Infinity`: it
 * may take effect at any point after its call, or never (`HistoryRecorder.fail` and
 * `eventsToOperations` record it so). A finite `return` with an `UNKNOWN` output says more: the
 * operation took effect by then or never — e.g. a server that answered "aborted, may have applied".
 */
export interface Operation<I, O> {
  clientId: ClientId;
  input: I;
  output: O | Unknown;
  call: number;
  return: number;
}

export type History<I, O> = readonly Operation<I, O>[];

export function isUnknown<O>(output: O | Unknown): output is Unknown {
  return output === UNKNOWN;
}

/** Throws `InvalidHistoryError` unless every operation has a finite call no later than its return. */
export function validateHistory(history: History<unknown, unknown>): void {
  for (let i = 0; i < history.length; i++) {
    const op = history[i];
    if (op === undefined || typeof op !== 'object') throw new InvalidHistoryError(`operation ${i} is not an object`);
    if (typeof op.call !== 'number' || !Number.isFinite(op.call)) {
      throw new InvalidHistoryError(
        `operation ${i} (client ${String(op.clientId)}): call time must be a finite number`,
      );
    }
    const ret = op.return;
    if (typeof ret !== 'number' || Number.isNaN(ret)) {
      throw new InvalidHistoryError(`operation ${i} (client ${String(op.clientId)}): return time must be a number`);
    }
    if (ret < op.call) {
      throw new InvalidHistoryError(
        `operation ${i} (client ${String(op.clientId)}): returns at ${ret} before its call at ${op.call}`,
      );
    }
  }
}

/**
 * The event-list form of a history (as Porcupine and Knossos record it): calls and returns in the
 * order they happened, paired by `id`. `time` is optional; without it an event's position in the list
 * is its time. A call with no return is an operation of unknown outcome, as is a return whose output
 * is `UNKNOWN`.
 */
export type HistoryEvent<I, O> =
  | { kind: 'call'; id: number | string; clientId: ClientId; input: I; time?: number }
  | { kind: 'return'; id: number | string; output: O | Unknown; time?: number };

export function eventsToOperations<I, O>(events: readonly HistoryEvent<I, O>[]): Operation<I, O>[] {
  const open = new Map<number | string, Operation<I, O>>();
  const seen = new Set<number | string>();
  const ops: Operation<I, O>[] = [];
  let lastTime = Number.NEGATIVE_INFINITY;
  events.forEach((event, position) => {
    const time = event.time ?? position;
    if (!Number.isFinite(time)) throw new InvalidEventsError(`event ${position}: time must be a finite number`);
    if (time < lastTime) throw new InvalidEventsError(`event ${position}: time ${time} goes back from ${lastTime}`);
    lastTime = time;
    if (event.kind === 'call') {
      if (seen.has(event.id)) throw new InvalidEventsError(`event ${position}: id ${String(event.id)} called twice`);
      seen.add(event.id);
      const op: Operation<I, O> = {
        clientId: event.clientId,
        input: event.input,
        output: UNKNOWN,
        call: time,
        return: Number.POSITIVE_INFINITY,
      };
      open.set(event.id, op);
      ops.push(op);
    } else if (event.kind === 'return') {
      const op = open.get(event.id);
      if (op === undefined) {
        throw new InvalidEventsError(`event ${position}: return for id ${String(event.id)} with no open call`);
      }
      open.delete(event.id);
      op.output = event.output;
      op.return = event.output === UNKNOWN ? Number.POSITIVE_INFINITY : time;
    } else {
      throw new InvalidEventsError(`event ${position}: kind must be 'call' or 'return'`);
    }
  });
  return ops;
}

/**
 * The event-list form of `history`, ordered by time (calls before returns at equal times, which is
 * how the checker reads ties: as overlapping). Operations of unknown outcome get no return event.
 */
export function operationsToEvents<I, O>(history: History<I, O>): HistoryEvent<I, O>[] {
  validateHistory(history);
  const events: Array<{ event: HistoryEvent<I, O>; order: number }> = [];
  history.forEach((op, id) => {
    events.push({ event: { kind: 'call', id, clientId: op.clientId, input: op.input, time: op.call }, order: 0 });
    if (op.output !== UNKNOWN) {
      events.push({ event: { kind: 'return', id, output: op.output, time: op.return }, order: 1 });
    }
  });
  events.sort((a, b) => (a.event.time ?? 0) - (b.event.time ?? 0) || a.order - b.order);
  return events.map((e) => e.event);
}
