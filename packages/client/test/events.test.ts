import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Event, Node, Pod } from '@kemu/api';
import { ManualRuntime } from '@kemu/runtime';
import { EventRecorder, FakeApi } from '../src/index.js';

describe('EventRecorder', () => {
  it('creates core/v1 Events and aggregates repeats into count + lastTimestamp', async () => {
    const rt = new ManualRuntime(Date.UTC(2026, 10, 22, 6, 0, 0));
    const api = new FakeApi({ clock: rt });
    const pods = api.resource<Pod>('pods', { namespace: 'default' });
    const pod = await pods.create({ metadata: { name: 'web-1' }, spec: { containers: [] } });
    const rec = new EventRecorder({
      events: api.resource<Event>('events'),
      component: 'default-scheduler',
      instance: 'sched-a',
      runtime: rt,
    });

    await rec.event(pod, 'Warning', 'FailedScheduling', '0/3 nodes are available');
    rt.advance(5000);
    // A burst, not awaited one by one: still one Event.
    await Promise.all([1, 2, 3].map(() => rec.event(pod, 'Warning', 'FailedScheduling', '0/3 nodes are available')));
    await rec.event(pod, 'Normal', 'Scheduled', 'Successfully assigned default/web-1 to worker-1');

    const events = api.objects<Event>('events');
    assert.equal(events.length, 2);
    const failed = events.find((e) => e.reason === 'FailedScheduling');
    assert.ok(failed);
    assert.equal(failed.count, 4);
    assert.equal(failed.firstTimestamp, '2026-11-22T06:00:00Z');
    assert.equal(failed.lastTimestamp, '2026-11-22T06:00:05Z');
    assert.equal(failed.type, 'Warning');
    assert.equal(failed.metadata.namespace, 'default');
    assert.match(failed.metadata.name ?? '', /^web-1\.[0-9a-f]+$/);
    assert.deepEqual(failed.source, { component: 'default-scheduler' });
    assert.equal(failed.reportingComponent, 'default-scheduler');
    assert.equal(failed.reportingInstance, 'sched-a');
    assert.deepEqual(failed.involvedObject, {
      kind: 'Pod',
      namespace: 'default',
      name: 'web-1',
      uid: pod.metadata.uid,
      apiVersion: 'v1',
      resourceVersion: pod.metadata.resourceVersion,
    });
  });

  it('combines the 10th and later different messages for one reason into one Event', async () => {
    const rt = new ManualRuntime(0);
    const api = new FakeApi({ clock: rt });
    const pod = await api
      .resource<Pod>('pods', { namespace: 'default' })
      .create({ metadata: { name: 'p' }, spec: { containers: [] } });
    const rec = new EventRecorder({ events: api.resource<Event>('events'), component: 'kubelet', runtime: rt });
    for (let i = 1; i <= 12; i++)
      await rec.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container c${i}`);
    const events = api.objects<Event>('events');
    assert.equal(events.length, 10);
    const combined = events.filter((e) => e.message?.startsWith('(combined from similar events): '));
    assert.equal(combined.length, 1);
    assert.equal(combined[0]?.count, 3);
    assert.equal(combined[0]?.message, '(combined from similar events): Back-off restarting failed container c12');
    // After the window, messages are counted afresh.
    rt.advance(601_000);
    await rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container c1');
    assert.equal(
      api.objects<Event>('events').find((e) => e.message === 'Back-off restarting failed container c1')?.count,
      2,
    );
  });

  it('cluster-scoped objects get events in default; a deleted Event is recreated; API errors never throw', async () => {
    const rt = new ManualRuntime(0);
    const api = new FakeApi({ clock: rt });
    const node = await api.resource<Node>('nodes').create({ metadata: { name: 'worker-1' } });
    const rec = new EventRecorder({
      events: api.resource<Event>('events'),
      component: 'kubelet',
      host: 'worker-1',
      runtime: rt,
    });
    await rec.event(node, 'Normal', 'NodeReady', 'Node worker-1 status is now: NodeReady');
    const [first] = api.objects<Event>('events');
    assert.equal(first?.metadata.namespace, 'default');
    assert.deepEqual(first?.source, { component: 'kubelet', host: 'worker-1' });
    await api.resource<Event>('events', { namespace: 'default' }).delete(first?.metadata.name ?? '');
    await rec.event(node, 'Normal', 'NodeReady', 'Node worker-1 status is now: NodeReady');
    const again = api.objects<Event>('events');
    assert.equal(again.length, 1);
    assert.equal(again[0]?.count, 1);
    api.intercept(() => {
      throw new Error('apiserver down');
    });
    await rec.event(node, 'Warning', 'Rebooted', 'Node worker-1 has been rebooted');
  });
});
