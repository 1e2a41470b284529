import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  check,
  eventsToOperations,
  type HistoryEvent,
  InvalidEventsError,
  InvalidHistoryError,
  operationsToEvents,
  type RegisterInput,
  type RegisterOutput,
  registerModel,
  UNKNOWN,
  validateHistory,
} from '../src/index.js';
import { simulateRegister } from '../src/sim.js';
import { op } from './helpers.js';

type Ev = HistoryEvent<RegisterInput<number>, RegisterOutput<number>>;

test('validateHistory rejects a return before its call and non-finite call times', () => {
  assert.throws(() => validateHistory([op('a', {}, {}, 5, 4)]), /returns at 4 before its call at 5/);
  assert.throws(() => validateHistory([op('a', {}, {}, Number.NaN, 4)]), InvalidHistoryError);
  assert.throws(() => validateHistory([op('a', {}, {}, 0, Number.NaN)]), { code: 'LINCHECK_INVALID_HISTORY' });
  assert.throws(() => check(registerModel(0), [op('a', { type: 'read' }, { value: 0 }, 2, 1)]), InvalidHistoryError);
  validateHistory([op('a', {}, {}, 1, 1), op('b', {}, UNKNOWN, 1, Number.POSITIVE_INFINITY)]);
});

test('events pair up into operations; a call with no return has an unknown outcome', () => {
  const events: Ev[] = [
    { kind: 'call', id: 1, clientId: 'a', input: { type: 'write', value: 1 } },
    { kind: 'call', id: 2, clientId: 'b', input: { type: 'read' } },
    { kind: 'return', id: 2, output: { value: 0 } },
    { kind: 'call', id: 3, clientId: 'c', input: { type: 'write', value: 2 } },
    { kind: 'return', id: 1, output: { ok: true } },
  ];
  const ops = eventsToOperations(events);
  assert.deepEqual(
    ops.map((o) => [o.clientId, o.call, o.return, o.output === UNKNOWN ? '?' : 'known']),
    [
      ['a', 0, 4, 'known'],
      ['b', 1, 2, 'known'],
      ['c', 3, Number.POSITIVE_INFINITY, '?'],
    ],
  );
  assert.equal(check(registerModel(0), ops).result, 'ok');
});

test('events with explicit times keep them', () => {
  const ops = eventsToOperations<RegisterInput<number>, RegisterOutput<number>>([
    { kind: 'call', id: 'x', clientId: 'a', input: { type: 'read' }, time: 10.5 },
    { kind: 'return', id: 'x', output: { value: 0 }, time: 12 },
  ]);
  assert.equal(ops[0]?.call, 10.5);
  assert.equal(ops[0]?.return, 12);
});

test('malformed event lists get a typed error that says which event', () => {
  assert.throws(() => eventsToOperations<unknown, unknown>([{ kind: 'return', id: 1, output: 1 }]), InvalidEventsError);
  assert.throws(
    () =>
      eventsToOperations<unknown, unknown>([
        { kind: 'call', id: 1, clientId: 'a', input: 1 },
        { kind: 'call', id: 1, clientId: 'a', input: 1 },
      ]),
    /event 1: id 1 called twice/,
  );
  assert.throws(
    () =>
      eventsToOperations<unknown, unknown>([
        { kind: 'call', id: 1, clientId: 'a', input: 1, time: 5 },
        { kind: 'return', id: 1, output: 1, time: 4 },
      ]),
    { code: 'LINCHECK_INVALID_EVENTS' },
  );
});

test('operations -> events -> operations preserves the verdict of simulated histories', () => {
  const model = registerModel(0);
  for (let seed = 1; seed <= 5; seed++) {
    const history = simulateRegister({ seed, clients: 4, opsPerClient: 20, unknownRate: 0.1 });
    const round = eventsToOperations(operationsToEvents(history));
    assert.equal(round.length, history.length);
    assert.equal(check(model, round).result, 'ok');
    const broken = round.map((o, i) =>
      i === 10 ? { ...o, input: { type: 'read' as const }, output: { value: -5 } } : o,
    );
    assert.equal(check(model, broken).result, 'illegal');
  }
});

test('operationsToEvents orders calls before returns at equal times', () => {
  const events = operationsToEvents([op('a', 1, 1, 0, 5), op('b', 2, 2, 5, 6)]);
  assert.deepEqual(
    events.map((e) => `${e.kind}@${e.time}`),
    ['call@0', 'call@5', 'return@5', 'return@6'],
  );
});
