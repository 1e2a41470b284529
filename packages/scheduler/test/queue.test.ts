import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualRuntime } from '@kemu/runtime';
import { type QueuedPodInfo, SchedulingQueue } from '../src/index.js';
import { pod } from './fixtures.js';

function popName(q: SchedulingQueue): string | undefined {
  return q.pop()?.pod.metadata.name;
}

function mustPop(q: SchedulingQueue): QueuedPodInfo {
  const info = q.pop();
  assert.ok(info, 'activeQ should not be empty');
  return info;
}

test('activeQ pops by priority, then by enqueue time', () => {
  const rt = new ManualRuntime(1_000);
  const q = new SchedulingQueue({ runtime: rt });
  q.add(pod('low-early', { priority: 0 }));
  rt.advance(10);
  q.add(pod('high', { priority: 1000 }));
  rt.advance(10);
  q.add(pod('low-late', { priority: 0 }));
  q.add(pod('critical', { priority: 2_000_000_000 }));
  assert.deepEqual(
    [popName(q), popName(q), popName(q), popName(q), popName(q)],
    ['critical', 'high', 'low-early', 'low-late', undefined],
  );
});

test('backoff doubles from 1 s and caps at 10 s under a manual clock', () => {
  const rt = new ManualRuntime(0);
  const q = new SchedulingQueue({ runtime: rt });
  q.start();
  q.add(pod('p'));
  const expected = [1000, 2000, 4000, 8000, 10_000, 10_000];
  for (const wait of expected) {
    const info = mustPop(q);
    assert.equal(q.backoffDuration(info), wait);
    q.addUnschedulable(info, ['NodeResourcesFit']);
    q.moveOnEvent('NodeAdd'); // an event: the pod may retry, but only after its backoff
    assert.deepEqual(q.lengths, { active: 0, backoff: 1, unschedulable: 0 });
    rt.advance(wait - 1);
    assert.equal(q.pop(), undefined, `still backing off ${wait - 1} ms into a ${wait} ms backoff`);
    rt.advance(1000); // the 1 s flush tick after expiry
    assert.equal(q.lengths.active, 1, `back in activeQ after ${wait} ms`);
  }
  q.stop();
});

test('unschedulable pods wait for a relevant event; irrelevant events leave them', () => {
  const rt = new ManualRuntime(0);
  const q = new SchedulingQueue({ runtime: rt });
  q.add(pod('needs-cpu'));
  q.add(pod('needs-node'));
  const a = mustPop(q);
  const b = mustPop(q);
  q.addUnschedulable(a, ['NodeResourcesFit']);
  q.addUnschedulable(b, ['TaintToleration']);
  assert.deepEqual(q.lengths, { active: 0, backoff: 0, unschedulable: 2 });
  rt.advance(5_000); // backoff (1 s) over
  q.moveOnEvent('AssignedPodDelete');
  assert.deepEqual(q.lengths, { active: 1, backoff: 0, unschedulable: 1 });
  assert.equal(popName(q), 'needs-cpu');
  q.moveOnEvent('NodeUpdate');
  assert.equal(popName(q), 'needs-node');
});

test('an event during the attempt sends the failed pod to backoffQ, not unschedulable', () => {
  const rt = new ManualRuntime(0);
  const q = new SchedulingQueue({ runtime: rt });
  q.add(pod('p'));
  const info = mustPop(q);
  q.moveOnEvent('NodeAdd'); // arrives while p is being scheduled
  q.addUnschedulable(info, ['NodeResourcesFit']);
  assert.deepEqual(q.lengths, { active: 0, backoff: 1, unschedulable: 0 });
  rt.advance(1000);
  q.flushBackoffCompleted();
  assert.equal(popName(q), 'p');
});

test('leftover unschedulable pods retry after 5 minutes; delete removes everywhere', () => {
  const rt = new ManualRuntime(0);
  const q = new SchedulingQueue({ runtime: rt });
  let woken = 0;
  q.onActive(() => woken++);
  q.start();
  q.add(pod('stuck'));
  q.add(pod('gone'));
  assert.equal(woken, 2);
  const stuck = mustPop(q);
  q.addUnschedulable(stuck, ['TaintToleration']);
  rt.advance(270_000);
  assert.equal(q.lengths.unschedulable, 1);
  rt.advance(30_000);
  assert.equal(q.lengths.unschedulable, 0);
  assert.equal(woken, 3);
  q.delete(pod('gone'));
  assert.equal(popName(q), 'stuck');
  assert.equal(q.pop(), undefined);
  q.stop();
  assert.equal(rt.pendingTimers(), 0);
});

test('an update gives an unschedulable pod another try', () => {
  const rt = new ManualRuntime(0);
  const q = new SchedulingQueue({ runtime: rt });
  q.add(pod('p'));
  q.addUnschedulable(mustPop(q), ['NodeAffinity']);
  rt.advance(2000);
  q.update(pod('p', { labels: { fixed: 'yes' } }));
  const info = mustPop(q);
  assert.equal(info.pod.metadata.labels?.fixed, 'yes');
  assert.equal(info.attempts, 2);
});
