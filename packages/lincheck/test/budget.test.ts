import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  check,
  explain,
  InvalidOptionsError,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  registerModel,
} from '../src/index.js';
import { op } from './helpers.js';

type Op = Operation<RegisterInput<number>, RegisterOutput<number>>;

/**
 * Many writes all overlapping one read of a value nobody wrote: the read fits nowhere, and proving
 * that means visiting every subset of the writes with every last value — exponential in `writers`.
 */
function pathological(writers: number): Op[] {
  const history: Op[] = [];
  for (let i = 0; i < writers; i++) history.push(op(`w${i}`, { type: 'write', value: i + 1 }, { ok: true }, 0, 100));
  // Each written value is read by someone, so preparation cannot drop or shorten anything.
  for (let i = 0; i < writers; i++) history.push(op(`r${i}`, { type: 'read' }, { value: i + 1 }, 0, 100));
  history.push(op('x', { type: 'read' }, { value: -1 }, 0, 100));
  return history;
}

test('a step budget turns a pathological search into unknown', { timeout: 30_000 }, () => {
  const model = registerModel(0);
  const result = check(model, pathological(30), { maxSteps: 20_000 });
  assert.equal(result.result, 'unknown');
  assert.equal(result.partitions[0]?.result, 'unknown');
  assert.ok(result.steps <= 20_001, `${result.steps} steps`);
  assert.match(explain(result, model), /UNDECIDED/);
});

test('a time budget turns a pathological search into unknown (injected clock)', { timeout: 30_000 }, () => {
  let ticks = 0;
  // Every clock read advances 1 ms: the budget runs out after a fixed amount of work, on any CPU.
  const result = check(registerModel(0), pathological(30), { timeoutMs: 50, now: () => ticks++ });
  assert.equal(result.result, 'unknown');
  assert.ok(result.steps > 0 && result.steps < 50 * 128 + 128, `${result.steps} steps`);
});

test('a wall-clock budget returns unknown instead of hanging', { timeout: 30_000 }, () => {
  const result = check(registerModel(0), pathological(40), { timeoutMs: 200 });
  assert.equal(result.result, 'unknown');
});

test('the same history small enough to finish is illegal, not unknown', () => {
  assert.equal(check(registerModel(0), pathological(6)).result, 'illegal');
});

test('a budget that runs out before a later partition marks it unknown without searching', () => {
  const model = { ...registerModel(0), partition: (h: readonly Op[]) => [h.slice(0, 2), h.slice(2)] };
  const history = [
    op('a', { type: 'write', value: 1 }, { ok: true }, 0, 1),
    op('a', { type: 'read' }, { value: 1 }, 2, 3),
    op('b', { type: 'read' }, { value: 0 }, 0, 1),
  ] as Op[];
  const result = check(model, history, { maxSteps: 2 });
  assert.equal(result.result, 'unknown');
  assert.deepEqual(
    result.partitions.map((p) => p.result),
    ['ok', 'unknown'],
  );
});

test('negative or NaN budgets are rejected with a typed error', () => {
  assert.throws(() => check(registerModel(0), [], { timeoutMs: -1 }), InvalidOptionsError);
  assert.throws(() => check(registerModel(0), [], { maxSteps: Number.NaN }), { code: 'LINCHECK_INVALID_OPTIONS' });
});
