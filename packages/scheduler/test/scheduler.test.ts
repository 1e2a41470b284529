import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Event, Node, Pod } from '@kemu/api';
import { ApiError, FakeApi, failureStatus } from '@kemu/client';
import { ManualRuntime, SeededRandom } from '@kemu/runtime';
import { Registry } from 'prom-client';
import { Scheduler } from '../src/scheduler.js';
import { controlPlane, node, pod } from './fixtures.js';

async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Waits for a condition over real event-loop turns (no manual time passes). */
async function until(what: string, cond: () => boolean, turns = 2000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Harness {
  fake: FakeApi;
  rt: ManualRuntime;
  sched: Scheduler;
  registry: Registry;
  stop(): Promise<void>;
  pods(): Pod[];
  events(): Event[];
  createPod(p: Pod): Promise<unknown>;
  createNode(n: Node): Promise<unknown>;
}

async function harness(nodes: Node[], opts: { seed?: number } = {}): Promise<Harness> {
  const rt = new ManualRuntime(1_700_000_000_000);
  const fake = new FakeApi({ clock: rt });
  for (const n of nodes) await fake.resource<Node>('nodes').create(n);
  const registry = new Registry();
  const sched = new Scheduler({ api: fake, runtime: rt, random: new SeededRandom(opts.seed ?? 1), metrics: registry });
  const loop = new AbortController();
  const running = sched.run(loop.signal);
  await until('informers synced', () => sched.hasSynced());
  return {
    fake,
    rt,
    sched,
    registry,
    async stop() {
      loop.abort();
      await running;
      await sched.stop();
    },
    pods: () => fake.objects('pods') as Pod[],
    events: () => fake.objects('events') as Event[],
    createPod: (p) => fake.resource<Pod>('pods').create(p),
    createNode: (n) => fake.resource<Node>('nodes').create(n),
  };
}

function nodeOf(h: Harness, name: string): string | undefined {
  return h.pods().find((p) => p.metadata.name === name)?.spec.nodeName;
}

const WORKERS = (): Node[] => [controlPlane(), node('worker-1'), node('worker-2'), node('worker-3')];

test('pending replicas are bound 3/3/3 across the workers, never on the tainted control plane', async () => {
  const h = await harness(WORKERS());
  try {
    for (let i = 0; i < 9; i++)
      await h.createPod(pod(`web-${i}`, { cpu: '100m', labels: { app: 'web' }, owner: 'web-rs' }));
    await until('9 pods bound', () => h.pods().every((p) => (p.spec.nodeName ?? '') !== ''));
    const perNode = new Map<string, number>();
    for (const p of h.pods()) perNode.set(p.spec.nodeName ?? '', (perNode.get(p.spec.nodeName ?? '') ?? 0) + 1);
    assert.deepEqual([...perNode].sort(), [
      ['worker-1', 3],
      ['worker-2', 3],
      ['worker-3', 3],
    ]);
    await h.sched.idle();
    const scheduled = h.events().filter((e) => e.reason === 'Scheduled');
    assert.equal(scheduled.length, 9);
    const e = scheduled.find((x) => x.involvedObject.name === 'web-0') as Event;
    assert.equal(e.message, `Successfully assigned default/web-0 to ${nodeOf(h, 'web-0')}`);
    assert.equal(e.type, 'Normal');
    assert.equal(e.source?.component, 'default-scheduler');
    assert.equal(e.involvedObject.kind, 'Pod');
    assert.equal(h.sched.stats.bound, 9);
    assert.equal(h.sched.cache.assumedCount, 0, 'every assumption confirmed by the informer');
    const metrics = await h.registry.metrics();
    assert.match(metrics, /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 9/);
  } finally {
    await h.stop();
  }
});

test('a pod that fits nowhere gets the FailedScheduling event and condition, then lands when a pod is deleted', async () => {
  const h = await harness(WORKERS());
  try {
    for (let i = 1; i <= 3; i++) await h.createPod(pod(`hog-${i}`, { cpu: '1500m' }));
    await until('hogs bound', () => h.pods().every((p) => (p.spec.nodeName ?? '') !== ''));
    await h.createPod(pod('big', { cpu: '1' }));
    const expected =
      '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, ' +
      '3 Insufficient cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, ' +
      '3 No preemption victims found for incoming pod..';
    await until('FailedScheduling recorded', () => h.events().some((e) => e.reason === 'FailedScheduling'));
    await h.sched.idle();
    const failed = h.events().filter((e) => e.reason === 'FailedScheduling');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.message, expected);
    assert.equal(failed[0]?.type, 'Warning');
    const big = h.pods().find((p) => p.metadata.name === 'big') as Pod;
    const cond = big.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.deepEqual(
      { status: cond?.status, reason: cond?.reason, message: cond?.message },
      { status: 'False', reason: 'Unschedulable', message: expected },
    );
    assert.equal(h.sched.queue.lengths.unschedulable, 1);
    // Our own status patch must not make the pod retry (it would spin otherwise).
    await flush(20);
    assert.equal(h.sched.stats.unschedulable, 1);

    const victim = h.pods().find((p) => p.metadata.name === 'hog-2') as Pod;
    await h.fake.resource<Pod>('pods').delete('hog-2', { namespace: 'default' });
    h.rt.advance(1000); // the pod's 1 s backoff is over; the delete event moves it
    await until('big bound', () => nodeOf(h, 'big') !== undefined);
    assert.equal(nodeOf(h, 'big'), victim.spec.nodeName);
  } finally {
    await h.stop();
  }
});

test('a pod waiting for nodes is placed when a node joins; node heartbeats alone do not retry it', async () => {
  const h = await harness([controlPlane()]);
  try {
    await h.createPod(pod('p', { cpu: '100m' }));
    await until('attempted', () => h.sched.stats.unschedulable === 1);
    await h.sched.idle();
    const cp = (await h.fake.resource<Node>('nodes').get('control-plane')) as Node;
    await h.fake.resource<Node>('nodes').updateStatus({
      ...cp,
      status: { ...cp.status, conditions: [{ type: 'Ready', status: 'True' }] },
    } as Node);
    h.rt.advance(2000);
    await flush(20);
    assert.equal(h.sched.stats.unschedulable, 1, 'a status-only node update does not requeue');
    await h.createNode(node('worker-1'));
    await until('bound', () => nodeOf(h, 'p') === 'worker-1');
  } finally {
    await h.stop();
  }
});

test('a failed binding forgets the assumption and retries after the backoff', async () => {
  const h = await harness([node('worker-1', { cpu: '1' })]);
  let failures = 1;
  h.fake.intercept((call) => {
    if (call.verb === 'bind' && failures > 0) {
      failures--;
      throw new ApiError(failureStatus(503, 'ServiceUnavailable', 'apiserver is shutting down'));
    }
  });
  try {
    await h.createPod(pod('a', { cpu: '800m' }));
    await until('bind failed', () => h.sched.stats.bindFailures === 1);
    await h.sched.idle();
    assert.equal(h.sched.cache.nodeOf('default/a'), undefined, 'assumption forgotten');
    assert.equal(h.sched.queue.lengths.backoff, 1);
    const ev = h.events().find((e) => e.reason === 'FailedScheduling');
    assert.match(ev?.message ?? '', /^running Bind plugin "DefaultBinder": apiserver is shutting down/);
    h.rt.advance(1000);
    h.sched.queue.flushBackoffCompleted();
    await until('bound on retry', () => nodeOf(h, 'a') === 'worker-1');
    assert.equal(h.sched.stats.bound, 1);
  } finally {
    await h.stop();
  }
});

test('a binding refused because the pod is already assigned reports no failure and does not retry', async () => {
  const h = await harness([node('worker-1')]);
  h.fake.intercept((call) => {
    if (call.verb === 'bind')
      throw new ApiError(failureStatus(409, 'Conflict', 'pod a is already assigned to node "x"'));
  });
  try {
    await h.createPod(pod('a', {}));
    await until('bind refused', () => h.sched.stats.bindFailures === 1);
    await h.sched.idle();
    assert.equal(h.sched.cache.nodeOf('default/a'), undefined, 'assumption forgotten');
    assert.deepEqual(h.sched.queue.lengths, { active: 0, backoff: 0, unschedulable: 0 });
    assert.equal(h.events().filter((e) => e.reason === 'FailedScheduling').length, 0);
    const a = h.pods().find((p) => p.metadata.name === 'a') as Pod;
    assert.equal(a.status?.conditions, undefined, 'no PodScheduled=False on a pod that is bound elsewhere');
  } finally {
    await h.stop();
  }
});

test('halt stops scheduling and resolves only after the bindings in flight have landed', async () => {
  const h = await harness([node('worker-1')]);
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  h.fake.intercept(async (call) => {
    if (call.verb === 'bind') await gate;
  });
  try {
    await h.createPod(pod('a', {}));
    await until('a scheduled, binding held', () => h.sched.stats.scheduled === 1);
    let halted = false;
    const halting = h.sched.halt().then(() => {
      halted = true;
    });
    await h.createPod(pod('b', {}));
    await flush(20);
    assert.equal(halted, false, 'waits for the binding in flight');
    release();
    await halting;
    assert.equal(nodeOf(h, 'a'), 'worker-1');
    assert.equal(h.sched.stats.scheduled, 1, 'b was not scheduled after halt');
  } finally {
    await h.stop();
  }
});

test('pods naming another scheduler are left alone', async () => {
  const h = await harness([node('worker-1')]);
  try {
    await h.createPod(pod('other', {}, { schedulerName: 'my-scheduler' }));
    await h.createPod(pod('mine', {}));
    await until('mine bound', () => nodeOf(h, 'mine') === 'worker-1');
    await flush(20);
    assert.equal(nodeOf(h, 'other'), undefined);
    assert.equal(h.sched.stats.scheduled, 1);
  } finally {
    await h.stop();
  }
});
