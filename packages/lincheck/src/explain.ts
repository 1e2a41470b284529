import type { CheckResult, PartitionResult } from './checker.js';
import { type Operation, UNKNOWN } from './history.js';
import { canonicalString, type Model } from './model.js';

export interface ExplainOptions {
  /** How many operations of the linearized prefix to list before the stuck point. Default 10. */
  prefixTail?: number;
  /** Width of the timeline bars, in characters. Default 50. */
  width?: number;
  /** At most this many operations in the timeline. Default 40. */
  maxTimelineOps?: number;
}

/**
 * A human-readable account of a check: for each partition that is not linearizable (or ran out of
 * budget), the end of the longest linearizable prefix found, the state it leaves, the operation that
 * could not be placed and why each pending operation was rejected, and a timeline of the operations
 * around that point — so a failing test says what went wrong, not just that something did.
 */
export function explain<S, I, O>(
  result: CheckResult<S, I, O>,
  model: Model<S, I, O>,
  options: ExplainOptions = {},
): string {
  const lines: string[] = [];
  const bad = result.partitions.filter((p) => p.result !== 'ok');
  lines.push(
    `lincheck${model.name ? ` (${model.name})` : ''}: ${result.result} — ${result.partitions.length} partition(s) checked, ` +
      `${bad.length} not ok, ${result.steps} steps, ${result.elapsedMs.toFixed(1)} ms`,
  );
  for (const part of bad) lines.push('', ...explainPartition(part, model, options));
  return lines.join('\n');
}

export function describeOperation<I, O>(model: Model<unknown, I, O>, op: Operation<I, O>): string {
  if (model.describe) return model.describe(op.input, op.output);
  const out = op.output === UNKNOWN ? '? (outcome unknown)' : canonicalString(op.output);
  return `${canonicalString(op.input)} -> ${out}`;
}

function describeState<S>(model: Model<S, unknown, unknown>, state: S): string {
  return model.describeState ? model.describeState(state) : canonicalString(state);
}

export function explainPartition<S, I, O>(
  part: PartitionResult<S, I, O>,
  model: Model<S, I, O>,
  options: ExplainOptions = {},
): string[] {
  const tailLength = options.prefixTail ?? 10;
  const origin = Math.min(...part.operations.map((op) => op.call));
  const time = (t: number): string => (Number.isFinite(t) ? formatTime(t - origin) : 'open (outcome unknown)');
  const opLine = (op: Operation<I, O>): string =>
    `client ${String(op.clientId)}  [${time(op.call)} .. ${time(op.return)}]  ${describeOperation(model, op)}`;
  const lines: string[] = [];
  const verdict =
    part.result === 'illegal' ? 'NOT LINEARIZABLE' : 'UNDECIDED (budget ran out; showing the deepest point reached)';
  lines.push(`${part.label}: ${verdict} — ${part.operations.length} operations, ${part.steps} steps`);
  lines.push(`  times are relative to the first call (${formatTime(origin)})`);

  const prefix = part.linearization;
  lines.push(`  longest linearizable prefix found: ${prefix.length} of ${part.operations.length} operations`);
  if (prefix.length > tailLength) lines.push(`    ... ${prefix.length - tailLength} earlier operations`);
  prefix.slice(-tailLength).forEach((op, i) => {
    lines.push(`    #${prefix.length - Math.min(tailLength, prefix.length) + i + 1}  ${opLine(op)}`);
  });
  lines.push(`  state after that prefix: ${describeState(model, part.stateAfter)}`);

  const stuck = part.stuck;
  if (stuck !== undefined) {
    lines.push(`  could not linearize: ${opLine(stuck.operation)}`);
    lines.push('    it must take effect before it returns, and no order of the pending operations allows that.');
    lines.push('  pending operations tried at that point:');
    for (const c of stuck.candidates) lines.push(`    - ${opLine(c.operation)}\n        ${c.reason}`);
  }
  lines.push('', ...timeline(part, model, options));
  return lines;
}

/**
 * One row per operation near the stuck point, sorted by call time, with a bar over a compressed time
 * axis (distinct timestamps evenly spaced, so short and long gaps both stay visible) and a marker:
 * `#k` linearized k-th in the prefix, `STUCK` could not be placed, `pending` called but not placed.
 */
function timeline<S, I, O>(part: PartitionResult<S, I, O>, model: Model<S, I, O>, options: ExplainOptions): string[] {
  const width = Math.max(10, options.width ?? 50);
  const maxOps = options.maxTimelineOps ?? 40;
  const position = new Map<Operation<I, O>, number>();
  for (const [i, op] of part.linearization.entries()) position.set(op, i + 1);
  const stuckOp = part.stuck?.operation;
  const pending = new Set(part.stuck?.candidates.map((c) => c.operation) ?? []);

  let shown: Operation<I, O>[];
  if (stuckOp === undefined) {
    shown = [...part.linearization.slice(-maxOps)];
  } else {
    // The pending operations, the end of the prefix, and whatever overlaps them in time.
    const focus = new Set<Operation<I, O>>([stuckOp, ...pending, ...part.linearization.slice(-8)]);
    const from = Math.min(...[...focus].map((op) => op.call));
    const to = stuckOp.return;
    for (const op of part.operations) if (op.call <= to && op.return >= from) focus.add(op);
    shown = [...focus];
    if (shown.length > maxOps) {
      // Keep the operations closest in time to the stuck one.
      shown.sort((a, b) => Math.abs(a.call - stuckOp.call) - Math.abs(b.call - stuckOp.call));
      shown = shown.slice(0, maxOps);
    }
  }
  shown.sort((a, b) => a.call - b.call || a.return - b.return);
  if (shown.length === 0) return [];

  const stamps = [...new Set(shown.flatMap((op) => [op.call, op.return]).filter(Number.isFinite))].sort(
    (a, b) => a - b,
  );
  const column = (t: number): number => {
    if (!Number.isFinite(t)) return width - 1;
    const rank = stamps.indexOf(t);
    return stamps.length <= 1 ? 0 : Math.round((rank / (stamps.length - 1)) * (width - 2));
  };
  const clientWidth = Math.max(6, ...shown.map((op) => String(op.clientId).length));
  const lines = [
    `  timeline (${shown.length} of ${part.operations.length} operations; time runs left to right, ` +
      `'>' = outcome unknown, may take effect any time later):`,
    `    ${'client'.padEnd(clientWidth)}  ${''.padEnd(width)}  mark     operation`,
  ];
  for (const op of shown) {
    const start = column(op.call);
    const end = column(op.return);
    const unknown = !Number.isFinite(op.return);
    const bar =
      ' '.repeat(start) +
      (unknown ? `[${'-'.repeat(Math.max(0, width - start - 2))}>` : `[${'='.repeat(Math.max(0, end - start - 1))}]`);
    const n = position.get(op);
    const mark = op === stuckOp ? 'STUCK' : n !== undefined ? `#${n}` : pending.has(op) ? 'pending' : '';
    lines.push(
      `    ${String(op.clientId).padEnd(clientWidth)}  ${bar.padEnd(width).slice(0, width + 1)}  ${mark.padEnd(7)}  ` +
        describeOperation(model, op),
    );
  }
  return lines;
}

function formatTime(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(3);
}
