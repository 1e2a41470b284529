import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  check,
  HistoryRecorder,
  type RegisterInput,
  type RegisterOutput,
  registerModel,
  UNKNOWN,
  UnknownOperationIdError,
} from '../src/index.js';

function recorder(): { rec: HistoryRecorder<RegisterInput<number>, RegisterOutput<number>>; tick: () => void } {
  let now = 0;
  return { rec: new HistoryRecorder(() => now), tick: () => void now++ };
}

test('the recorder stamps calls and returns with the injected clock', () => {
  const { rec, tick } = recorder();
  const w = rec.invoke('a', { type: 'write', value: 1 });
  tick();
  const r = rec.invoke('b', { type: 'read' });
  tick();
  rec.complete(w, { ok: true });
  tick();
  rec.complete(r, { value: 1 });
  assert.equal(rec.pending, 0);
  assert.deepEqual(rec.history(), [
    { clientId: 'a', input: { type: 'write', value: 1 }, output: { ok: true }, call: 0, return: 2 },
    { clientId: 'b', input: { type: 'read' }, output: { value: 1 }, call: 1, return: 3 },
  ]);
  assert.equal(check(registerModel(0), rec.history()).result, 'ok');
});

test('a failure of unknown outcome stays in the history, open-ended; a not-applied one is dropped', () => {
  const { rec, tick } = recorder();
  const lostWrite = rec.invoke('a', { type: 'write', value: 1 });
  const refused = rec.invoke('b', { type: 'write', value: 2 });
  tick();
  rec.fail(lostWrite);
  rec.fail(refused, 'not-applied');
  const inFlight = rec.invoke('c', { type: 'write', value: 3 });
  assert.equal(rec.pending, 1);
  const history = rec.history();
  assert.equal(history.length, 2);
  assert.equal(history[0]?.output, UNKNOWN);
  assert.equal(history[0]?.return, Number.POSITIVE_INFINITY);
  assert.equal(history[1]?.output, UNKNOWN, 'an operation still in flight has an unknown outcome');
  assert.equal(typeof inFlight, 'number');
  // The refused write of 2 never happened, so reading 2 is a violation.
  tick();
  const r = rec.invoke('d', { type: 'read' });
  tick();
  rec.complete(r, { value: 2 });
  assert.equal(check(registerModel(0), rec.history()).result, 'illegal');
});

test('completing an id twice or one never handed out is a typed error', () => {
  const { rec } = recorder();
  const id = rec.invoke('a', { type: 'read' });
  rec.complete(id, { value: 0 });
  assert.throws(() => rec.complete(id, { value: 0 }), UnknownOperationIdError);
  assert.throws(() => rec.fail(42), { code: 'LINCHECK_UNKNOWN_OPERATION_ID', message: /never invoked/ });
});

test('history() is a snapshot: later completions do not change it', () => {
  const { rec } = recorder();
  const id = rec.invoke('a', { type: 'read' });
  const before = rec.history();
  rec.complete(id, { value: 0 });
  assert.equal(before[0]?.output, UNKNOWN);
});
