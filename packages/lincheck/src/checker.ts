import { Bitset } from './bitset.js';
import { InvalidOptionsError } from './errors.js';
import { type History, type Operation, UNKNOWN, validateHistory } from './history.js';
import { canonicalString, type Model } from './model.js';

/** `unknown`: the search ran out of its time or step budget before reaching a verdict. */
export type Verdict = 'ok' | 'illegal' | 'unknown';

export interface CheckOptions {
  /** Wall-clock budget for the whole check, in ms of `now`. Default: none. */
  timeoutMs?: number;
  /** Budget of `model.step` calls for the whole check. Default: none. */
  maxSteps?: number;
  /** Clock for `timeoutMs`. Default `performance.now`. */
  now?: () => number;
  /** Stop checking further partitions once one is illegal. Default true. */
  stopOnIllegal?: boolean;
}

/** A pending operation tried at the point where the search got stuck, and why it did not fit there. */
export interface Candidate<I, O> {
  operation: Operation<I, O>;
  /** The model's reason for rejecting it, or a note that it fit but every continuation failed. */
  reason: string;
  acceptedByModel: boolean;
}

/** Where the deepest branch of the search got stuck. */
export interface StuckPoint<I, O> {
  /**
   * The operation whose return was reached before it could be linearized: it had to take effect by
   * then, and no order of the operations still pending made that legal.
   */
  operation: Operation<I, O>;
  /** Every operation pending (called, not linearized) at that point, the stuck one included. */
  candidates: Candidate<I, O>[];
}

export interface PartitionResult<S, I, O> {
  label: string;
  result: Verdict;
  operations: History<I, O>;
  /**
   * `ok`: a full linearization (a witness). `illegal` / `unknown`: the longest linearizable prefix
   * the search found (one of possibly several of that length).
   */
  linearization: Operation<I, O>[];
  /** The model state after `linearization`. */
  stateAfter: S;
  /** Set when `result` is `illegal` (and for `unknown`, the deepest dead end found so far, if any). */
  stuck: StuckPoint<I, O> | undefined;
  steps: number;
}

export interface CheckResult<S, I, O> {
  result: Verdict;
  /** One entry per partition checked, in the model's partition order (see also `failures`). */
  partitions: PartitionResult<S, I, O>[];
  steps: number;
  elapsedMs: number;
}

/** The partitions that are not `ok`. */
export function failures<S, I, O>(result: CheckResult<S, I, O>): PartitionResult<S, I, O>[] {
  return result.partitions.filter((p) => p.result !== 'ok');
}

interface Entry {
  op: number;
  /** Position in the initial time-ordered list; for a return entry, the operation's deadline rank. */
  rank: number;
  /** Call entries: 0 for read-only operations (tried first: they cost nothing to place), else 1. */
  priority: number;
  /** Set on call entries: the matching return entry. */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

class Budget {
  steps = 0;
  private readonly deadline: number;

  constructor(
    private readonly now: () => number,
    timeoutMs: number | undefined,
    private readonly maxSteps: number,
  ) {
    this.deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : now() + timeoutMs;
  }

  /** Counts one step; false once the budget is spent. Reads the clock only every 128 steps. */
  spend(): boolean {
    this.steps++;
    if (this.steps > this.maxSteps) return false;
    if ((this.steps & 127) === 0 && this.now() > this.deadline) return false;
    return true;
  }

  exhausted(): boolean {
    return this.steps >= this.maxSteps || this.now() > this.deadline;
  }
}

/**
 * Checks `history` against `model`: is there a total order of the operations, consistent with
 * real time (an operation that returned before another was called comes first), that the model
 * accepts? Partitions (if the model has `partition`) are checked independently.
 */
export function check<S, I, O>(
  model: Model<S, I, O>,
  history: History<I, O>,
  options: CheckOptions = {},
): CheckResult<S, I, O> {
  validateOptions(options);
  validateHistory(history);
  const now = options.now ?? (() => performance.now());
  const started = now();
  const budget = new Budget(now, options.timeoutMs, options.maxSteps ?? Number.POSITIVE_INFINITY);
  const parts = model.partition ? model.partition(history) : [history];
  const partitions: PartitionResult<S, I, O>[] = [];
  let illegal = false;
  let unknown = false;
  for (const [i, original] of parts.entries()) {
    const part = model.prepare ? model.prepare(original) : original;
    const label = model.describePartition ? model.describePartition(original) : `partition ${i}`;
    const result = checkPartition(model, part, label, budget);
    partitions.push(result);
    if (result.result === 'illegal') {
      illegal = true;
      if (options.stopOnIllegal !== false) break;
    } else if (result.result === 'unknown') {
      unknown = true;
    }
  }
  return {
    result: illegal ? 'illegal' : unknown ? 'unknown' : 'ok',
    partitions,
    steps: budget.steps,
    elapsedMs: now() - started,
  };
}

function validateOptions(options: CheckOptions): void {
  if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) {
    throw new InvalidOptionsError(`timeoutMs must be a non-negative number, got ${options.timeoutMs}`);
  }
  if (options.maxSteps !== undefined && !(options.maxSteps >= 0)) {
    throw new InvalidOptionsError(`maxSteps must be a non-negative number, got ${options.maxSteps}`);
  }
}

/** The doubly linked list of call and return entries, in time order, behind a sentinel head. */
function buildEntries<I, O>(ops: History<I, O>, readOnly: (op: Operation<I, O>) => boolean): Entry {
  const events: Array<{ time: number; isCall: boolean; op: number }> = [];
  ops.forEach((op, i) => {
    events.push({ time: op.call, isCall: true, op: i });
    events.push({ time: op.return, isCall: false, op: i });
  });
  // Calls sort before returns at equal times, so operations that touch in time count as concurrent:
  // with a coarse clock we cannot tell which came first, and rejecting would be a false alarm.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, rank: -1, priority: 0, match: null, prev: null, next: null };
  const calls = new Map<number, Entry>();
  let tail = head;
  for (const [rank, e] of events.entries()) {
    const priority = e.isCall && readOnly(ops[e.op]!) ? 0 : 1;
    const entry: Entry = { op: e.op, rank, priority, match: null, prev: tail, next: null };
    tail.next = entry;
    tail = entry;
    if (e.isCall) calls.set(e.op, entry);
    else calls.get(e.op)!.match = entry;
  }
  return head;
}

/** Unlinks a call entry and its return entry: the operation is linearized. */
function lift(entry: Entry): void {
  entry.prev!.next = entry.next;
  entry.next!.prev = entry.prev;
  const match = entry.match!;
  match.prev!.next = match.next;
  if (match.next) match.next.prev = match.prev;
}

/** Undoes `lift` (entries are relinked in the reverse order they were unlinked). */
function unlift(entry: Entry): void {
  const match = entry.match!;
  match.prev!.next = match;
  if (match.next) match.next.prev = match;
  entry.prev!.next = entry;
  entry.next!.prev = entry;
}

class VisitedCache<S> {
  private readonly buckets = new Map<number, Array<{ bits: Bitset; key: string | number; state: S }>>();

  constructor(
    private readonly hash: (s: S) => string | number,
    private readonly equal: ((a: S, b: S) => boolean) | undefined,
  ) {}

  /** Adds (bits, state) and returns true, or returns false if an equal pair is already there. */
  addIfAbsent(bits: Bitset, state: S): boolean {
    const key = this.hash(state);
    const h = (bits.hash() ^ (typeof key === 'number' ? hashNumber(key) : hashString(key))) >>> 0;
    let bucket = this.buckets.get(h);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(h, bucket);
    }
    for (const seen of bucket) {
      if (seen.key === key && seen.bits.equals(bits) && (this.equal === undefined || this.equal(seen.state, state))) {
        return false;
      }
    }
    bucket.push({ bits: bits.clone(), key, state });
    return true;
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function hashNumber(n: number): number {
  return Number.isInteger(n) && Math.abs(n) < 2 ** 31 ? Math.imul(n | 0, 0x9e3779b1) >>> 0 : hashString(String(n));
}

/**
 * Wing & Gong's search with Lowe's memoization, as Porcupine's `checkSingle` does it: the candidates
 * at each point are the calls before the first pending return in the time-ordered entry list; try to
 * linearize one (the model accepts it and the resulting (linearized set, state) pair is new), unlink
 * its entries and look again; when no candidate fits, the first pending return's operation was not
 * linearized in time, so undo the most recent choice and try the next candidate after it.
 */
function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: History<I, O>,
  label: string,
  budget: Budget,
): PartitionResult<S, I, O> {
  const startSteps = budget.steps;
  const head = buildEntries(ops, (op) => model.readOnly?.(op.input, op.output) === true);
  const bits = new Bitset(ops.length);
  const cache = new VisitedCache<S>(model.hash?.bind(model) ?? canonicalString, model.equal?.bind(model));
  const stack: Array<{ entry: Entry; state: S; frontier: Frontier; index: number }> = [];
  let state = model.init();

  // The deepest dead end is the best explanation of a failure. Depth counts operations with a known
  // outcome; among equals, fewer unknown ones wins, since those are optional and only blur the story.
  const known = (i: number): boolean => ops[i]!.output !== UNKNOWN;
  let knownDepth = 0;
  let best: { ops: number[]; state: S; stuck: Entry | undefined; score: number } = {
    ops: [],
    state,
    stuck: undefined,
    score: Number.NEGATIVE_INFINITY,
  };
  const recordDeadEnd = (at: Entry): void => {
    const score = knownDepth * (ops.length + 1) - (stack.length - knownDepth);
    if (score <= best.score) return;
    best = { ops: stack.map((s) => s.entry.op), state, stuck: at, score };
  };
  const finish = (result: Verdict): PartitionResult<S, I, O> => {
    const linearization = (result === 'ok' ? stack.map((s) => s.entry.op) : best.ops).map((i) => ops[i]!);
    const stateAfter = result === 'ok' ? state : best.state;
    return {
      label,
      result,
      operations: ops,
      linearization,
      stateAfter,
      stuck: result === 'ok' || best.stuck === undefined ? undefined : describeStuck(model, ops, best, stateAfter),
      steps: budget.steps - startSteps,
    };
  };

  if (ops.length > 0 && budget.exhausted()) return finish('unknown');
  cache.addIfAbsent(bits, state);
  let frontier = collectFrontier(head);
  let index = 0;
  while (head.next !== null) {
    const entry = frontier.candidates[index];
    if (entry === undefined) {
      // Every candidate failed: the first pending return was reached with its operation unplaced.
      recordDeadEnd(frontier.deadline!);
      const top = stack.pop();
      if (top === undefined) return finish('illegal');
      state = top.state;
      if (known(top.entry.op)) knownDepth--;
      bits.clear(top.entry.op);
      unlift(top.entry);
      frontier = top.frontier;
      index = top.index + 1;
      continue;
    }
    if (!budget.spend()) return finish('unknown');
    const op = ops[entry.op]!;
    const next = model.step(state, op.input, op.output);
    if (next.ok) {
      bits.set(entry.op);
      if (cache.addIfAbsent(bits, next.state)) {
        // An operation that never changes the state can always be moved to the earliest point it
        // fits (nothing before it is needed later, nothing after it is disturbed), so once it fits
        // here the alternatives at this point need no trying: if it fails, they all do.
        const committed = model.readOnly?.(op.input, op.output) === true;
        stack.push({ entry, state, frontier, index: committed ? frontier.candidates.length : index });
        if (known(entry.op)) knownDepth++;
        state = next.state;
        lift(entry);
        frontier = collectFrontier(head);
        index = 0;
        continue;
      }
      bits.clear(entry.op);
    }
    index++;
  }
  return finish('ok');
}

interface Frontier {
  /** The operations that may be linearized next: called before the first pending return. */
  candidates: Entry[];
  /** That first pending return entry. */
  deadline: Entry | null;
}

/**
 * The candidates at the current point, most urgent first: ordered by return, so the operation that
 * must take effect soonest is tried first and one that may wait (a long write) is placed late. On
 * histories that are linearizable this finds a witness with little backtracking — trying them in
 * call order, as plain Wing & Gong does, places long writes too early and invalidates the reads of
 * the old value still pending, which is what made histories of 16 clients on one register blow up.
 */
function collectFrontier(head: Entry): Frontier {
  const candidates: Entry[] = [];
  let entry = head.next;
  while (entry !== null && entry.match !== null) {
    candidates.push(entry);
    entry = entry.next;
  }
  candidates.sort((a, b) => a.priority - b.priority || a.match!.rank - b.match!.rank);
  return { candidates, deadline: entry };
}

/** Re-derives, for the deepest dead end, what was pending there and why each candidate failed. */
function describeStuck<S, I, O>(
  model: Model<S, I, O>,
  ops: History<I, O>,
  best: { ops: number[]; stuck: Entry | undefined },
  state: S,
): StuckPoint<I, O> {
  const stuckOp = best.stuck!.op;
  const linearized = new Set(best.ops);
  const candidates: Candidate<I, O>[] = [];
  // Pending at the dead end: not linearized, and called before the stuck operation had to return.
  const deadline = ops[stuckOp]!.return;
  ops.forEach((op, i) => {
    if (linearized.has(i) || op.call > deadline) return;
    const step = model.step(state, op.input, op.output);
    candidates.push(
      step.ok
        ? { operation: op, acceptedByModel: true, reason: 'fits here, but no continuation after it linearizes' }
        : { operation: op, acceptedByModel: false, reason: step.reason ?? 'rejected by the model in this state' },
    );
  });
  return { operation: ops[stuckOp]!, candidates };
}
