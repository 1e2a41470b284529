import assert from 'node:assert/strict';
import { test } from 'node:test';
import { check, explain, type RegisterInput, type RegisterOutput, registerModel, UNKNOWN } from '../src/index.js';
import { lost, op } from './helpers.js';

type Op = ReturnType<typeof op<RegisterInput<number>, RegisterOutput<number>>>;
const model = registerModel(0);
const w = (c: string, value: number, call: number, ret: number): Op =>
  op(c, { type: 'write', value }, { ok: true }, call, ret);
const r = (c: string, value: number, call: number, ret: number): Op => op(c, { type: 'read' }, { value }, call, ret);
const wLost = (c: string, value: number, call: number): Op => lost(c, { type: 'write', value }, call);

function verdict(history: Op[]): string {
  return check(model, history).result;
}

test('a sequential history that follows the register is linearizable', () => {
  assert.equal(verdict([r('a', 0, 0, 1), w('a', 1, 2, 3), r('b', 1, 4, 5), w('b', 2, 6, 7), r('a', 2, 8, 9)]), 'ok');
});

test('the empty history is linearizable', () => {
  assert.equal(verdict([]), 'ok');
});

test('a stale read after an acknowledged write is rejected', () => {
  assert.equal(verdict([w('a', 1, 0, 10), r('b', 0, 20, 30)]), 'illegal');
});

test('a read overlapping a write may see the old or the new value', () => {
  assert.equal(verdict([w('a', 1, 0, 10), r('b', 0, 5, 15)]), 'ok');
  assert.equal(verdict([w('a', 1, 0, 10), r('b', 1, 5, 15)]), 'ok');
  // Touching intervals count as overlapping: a coarse clock cannot order them.
  assert.equal(verdict([w('a', 1, 0, 10), r('b', 0, 10, 15)]), 'ok');
});

test('a read of a value that was never written is rejected', () => {
  assert.equal(verdict([w('a', 1, 0, 10), r('b', 7, 5, 15)]), 'illegal');
});

test('concurrent writes may be read in either order, but all readers must agree on it', () => {
  const writes = [w('w1', 1, 0, 100), w('w2', 2, 0, 100)];
  // Overlapping reads seeing 1 and 2: order w1, read 1, w2, read 2.
  assert.equal(verdict([...writes, r('c', 1, 10, 30), r('d', 2, 10, 30)]), 'ok');
  // One client sees 2 then 1: order w2, w1.
  assert.equal(verdict([...writes, r('c', 2, 10, 20), r('c', 1, 30, 40)]), 'ok');
  // One client sees 1 then 2 and another sees 2 then 1, all in the same window: no single order.
  assert.equal(
    verdict([...writes, r('c', 1, 10, 20), r('c', 2, 30, 40), r('d', 2, 10, 20), r('d', 1, 30, 40)]),
    'illegal',
  );
});

test('reads that go back in time are rejected', () => {
  // Once a reader has seen 2, nobody may later see the value 2 overwrote.
  assert.equal(verdict([w('a', 1, 0, 10), w('b', 2, 20, 100), r('c', 2, 30, 40), r('d', 1, 50, 60)]), 'illegal');
  assert.equal(verdict([w('a', 1, 0, 10), w('b', 2, 20, 100), r('c', 1, 30, 40), r('d', 2, 50, 60)]), 'ok');
});

test('a write of unknown outcome may take effect long after its client gave up', () => {
  assert.equal(verdict([wLost('a', 1, 0), r('b', 0, 50, 60), r('b', 1, 1000, 1001)]), 'ok');
});

test('a write of unknown outcome may never take effect', () => {
  assert.equal(verdict([wLost('a', 1, 0), r('b', 0, 50, 60), r('b', 0, 1000, 1001)]), 'ok');
});

test('a write of unknown outcome cannot take effect before its call, nor be undone', () => {
  assert.equal(verdict([r('b', 1, 0, 5), wLost('a', 1, 10)]), 'illegal');
  assert.equal(verdict([wLost('a', 1, 0), r('b', 1, 50, 60), r('b', 0, 70, 80)]), 'illegal');
});

test('an unknown outcome with a finite return took effect by then, or never', () => {
  const maybe: Op = { clientId: 'a', input: { type: 'write', value: 1 }, output: UNKNOWN, call: 0, return: 5 };
  assert.equal(verdict([maybe, r('b', 1, 10, 20)]), 'ok');
  assert.equal(verdict([maybe, r('b', 0, 10, 20)]), 'ok');
  assert.equal(verdict([maybe, r('b', 0, 10, 20), r('b', 1, 30, 40)]), 'illegal');
});

test('an ok result carries a witness linearization that the model accepts in order', () => {
  const history = [w('w1', 1, 0, 100), w('w2', 2, 0, 100), r('c', 2, 10, 20), r('c', 1, 30, 40)];
  const result = check(model, history);
  assert.equal(result.result, 'ok');
  const order = result.partitions[0]!.linearization;
  assert.equal(order.length, history.length);
  let state = model.init();
  for (const o of order) {
    const step = model.step(state, o.input, o.output);
    assert.ok(step.ok);
    state = step.state;
  }
});

test('an illegal result names the operation that could not be placed and why', () => {
  const history = [w('a', 1, 0, 10), r('b', 1, 12, 20), r('c', 0, 22, 30), wLost('d', 2, 5)];
  const result = check(model, history);
  assert.equal(result.result, 'illegal');
  const part = result.partitions[0]!;
  assert.deepEqual(
    part.linearization.map((o) => o.clientId),
    ['a', 'b'],
  );
  assert.equal(part.stateAfter, 1);
  assert.equal(part.stuck?.operation, history[2]);
  const reasons = part.stuck!.candidates.map((c) => `${c.operation.clientId}: ${c.reason}`);
  assert.ok(reasons.includes('c: read 0 but the register holds 1'), reasons.join('\n'));
  const text = explain(result, model);
  assert.match(text, /NOT LINEARIZABLE/);
  assert.match(text, /could not linearize: client c .*read\(\) -> 0/);
  assert.match(text, /c\s+\[=+\]\s+STUCK\s+read\(\) -> 0/);
  // The unknown write of 2 was never read, so preparation dropped it ("never took effect").
  assert.doesNotMatch(text, /write\(2\)/);
});
