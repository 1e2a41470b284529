import assert from 'node:assert/strict';
import { test } from 'node:test';
import { check, determinize, type NondeterministicModel, type Operation } from '../src/index.js';
import { op } from './helpers.js';

type Input = { type: 'add' } | { type: 'read' };
type Output = { ok: true } | { maybe: true } | { value: number };

/**
 * A counter whose `add` may answer "maybe": the server gave up on it, and it applied before that
 * answer or not at all — two successor states, unlike UNKNOWN, which may apply later.
 */
const counter: NondeterministicModel<number, Input, Output> = {
  name: 'maybe-counter',
  init: () => [0],
  step(state, input, output) {
    if (input.type === 'add') return typeof output === 'object' && 'maybe' in output ? [state, state + 1] : [state + 1];
    return typeof output === 'object' && 'value' in output && output.value === state ? [state] : [];
  },
};
const model = determinize(counter);
const add = (c: string, out: Output, call: number, ret: number): Operation<Input, Output> =>
  op(c, { type: 'add' }, out, call, ret);
const read = (c: string, value: number, call: number, ret: number): Operation<Input, Output> =>
  op(c, { type: 'read' }, { value }, call, ret);

test('a nondeterministic step is checked over the set of possible states', () => {
  assert.equal(check(model, [add('a', { maybe: true }, 0, 10), read('b', 0, 20, 30)]).result, 'ok');
  assert.equal(check(model, [add('a', { maybe: true }, 0, 10), read('b', 1, 20, 30)]).result, 'ok');
  assert.equal(check(model, [add('a', { maybe: true }, 0, 10), read('b', 2, 20, 30)]).result, 'illegal');
  // The maybe-add was settled by its answer: it cannot apply after a read has seen 0 and before 1.
  assert.equal(
    check(model, [add('a', { maybe: true }, 0, 10), read('b', 0, 20, 30), read('b', 1, 40, 50)]).result,
    'illegal',
  );
  assert.equal(check(model, [add('a', { ok: true }, 0, 10), read('b', 0, 20, 30)]).result, 'illegal');
});

test('the determinized state set describes itself', () => {
  const next = model.step(model.init(), { type: 'add' }, { maybe: true });
  assert.ok(next.ok);
  assert.equal(model.describeState?.(next.state), 'one of {0, 1}');
});
