import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualRuntime } from '../src/clock.js';

test('manual runtime fires timers in deadline order only when advanced', () => {
  const rt = new ManualRuntime(1000);
  const fired: string[] = [];
  rt.setTimeout(() => fired.push('b@20'), 20);
  rt.setTimeout(() => fired.push('a@10'), 10);
  const tick = rt.setInterval(() => fired.push(`tick@${rt.now() - 1000}`), 15);
  rt.advance(9);
  assert.deepEqual(fired, []);
  rt.advance(21);
  assert.deepEqual(fired, ['a@10', 'tick@15', 'b@20', 'tick@30']);
  tick.cancel();
  rt.advance(100);
  assert.equal(fired.length, 4);
  assert.equal(rt.pendingTimers(), 0);
});

test('a cancelled timeout never fires', () => {
  const rt = new ManualRuntime();
  let fired = false;
  rt.setTimeout(() => {
    fired = true;
  }, 5).cancel();
  rt.advance(10);
  assert.equal(fired, false);
});
