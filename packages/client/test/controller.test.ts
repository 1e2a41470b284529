import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigMap } from '@kemu/api';
import { ManualRuntime, SeededRandom } from '@kemu/runtime';
import {
  enqueueHandler,
  FakeApi,
  ItemExponentialFailureRateLimiter,
  isNotFound,
  RateLimitingQueue,
  runController,
  SharedIndexInformer,
  splitKey,
} from '../src/index.js';
import { advance, flush } from './helpers.js';

/** A tiny controller: for every ConfigMap `x` keep a ConfigMap `x-copy` with the same data. */
function setup(workers = 2) {
  const rt = new ManualRuntime(0);
  const api = new FakeApi({ clock: rt });
  const cms = api.resource<ConfigMap>('configmaps');
  const informer = new SharedIndexInformer<ConfigMap>({ listWatcher: cms, runtime: rt, random: new SeededRandom(3) });
  const queue = new RateLimitingQueue<string>({
    runtime: rt,
    rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000),
  });
  informer.addEventHandler(
    enqueueHandler(queue, (o) =>
      o.metadata.name?.endsWith('-copy') ? undefined : `${o.metadata.namespace}/${o.metadata.name}`,
    ),
  );
  const attempts = new Map<string, number[]>();
  let failFor = new Set<string>();
  let concurrent = 0;
  let maxConcurrent = 0;
  const active = new Set<string>();
  const reconcile = async (key: string) => {
    assert.equal(active.has(key), false, `${key} reconciled twice at once`);
    active.add(key);
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    try {
      attempts.set(key, [...(attempts.get(key) ?? []), rt.now()]);
      await flush(1);
      if (failFor.has(key)) throw new Error(`injected failure for ${key}`);
      const { namespace, name } = splitKey(key);
      const client = api.resource<ConfigMap>('configmaps', { namespace: namespace ?? 'default' });
      const src = informer.store.getByKey(key);
      if (!src) {
        try {
          await client.delete(`${name}-copy`);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        return;
      }
      try {
        const copy = await client.get(`${name}-copy`);
        if (JSON.stringify(copy.data) !== JSON.stringify(src.data))
          await client.update({ ...copy, data: src.data ?? {} });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await client.create({ metadata: { name: `${name}-copy` }, data: src.data ?? {} });
      }
    } finally {
      active.delete(key);
      concurrent--;
    }
  };
  return {
    rt,
    api,
    cms,
    informer,
    queue,
    attempts,
    reconcile,
    setFail: (keys: string[]) => {
      failFor = new Set(keys);
    },
    maxConcurrent: () => maxConcurrent,
    workers,
  };
}

describe('runController', () => {
  it('waits for sync, converges, retries failures with backoff and forgets on success', async () => {
    const s = setup();
    const ns = s.api.resource<ConfigMap>('configmaps', { namespace: 'default' });
    await ns.create({ metadata: { name: 'a' }, data: { k: '1' } });
    s.setFail(['default/a']);
    s.informer.start();
    const ctl = runController({
      name: 'copy',
      runtime: s.rt,
      informers: [s.informer],
      queue: s.queue,
      reconcile: s.reconcile,
      workers: 2,
    });
    await advance(s.rt, 35, 1);
    // Attempts at 0, then 10, 20 ms apart (10·2^n backoff): 0, 10, 30.
    assert.deepEqual(s.attempts.get('default/a'), [0, 10, 30]);
    assert.equal(s.queue.numRequeues('default/a'), 3);
    s.setFail([]);
    await advance(s.rt, 40, 1);
    assert.deepEqual(s.attempts.get('default/a'), [0, 10, 30, 70]);
    assert.equal(s.queue.numRequeues('default/a'), 0, 'success forgets the backoff');
    assert.deepEqual((await ns.get('a-copy')).data, { k: '1' });

    // Level-triggered: an update and a delete converge the copy.
    const a = await ns.get('a');
    await ns.update({ ...a, data: { k: '2' } });
    await flush(10);
    assert.deepEqual((await ns.get('a-copy')).data, { k: '2' });
    await ns.delete('a');
    await flush(10);
    await assert.rejects(ns.get('a-copy'), isNotFound);
    assert.ok(ctl.stats.failures === 3 && ctl.stats.reconciles >= 6, JSON.stringify(ctl.stats));
    await ctl.stop();
    await s.informer.stop();
  });

  it('requeueAfterMs brings a key back later; maxRetries drops a hopeless key', async () => {
    const rt = new ManualRuntime(0);
    const queue = new RateLimitingQueue<string>({
      runtime: rt,
      rateLimiter: new ItemExponentialFailureRateLimiter(5, 100),
    });
    const seen: [string, number][] = [];
    const synced = { whenSynced: () => Promise.resolve() };
    const ctl = runController({
      name: 't',
      runtime: rt,
      informers: [synced],
      queue,
      maxRetries: 2,
      reconcile: async (key) => {
        seen.push([key, rt.now()]);
        if (key === 'bad') throw new Error('always');
        const n = seen.filter(([k]) => k === key).length;
        return n === 1 ? { requeueAfterMs: 1000 } : n === 2 ? { requeueAfter: 1000 } : undefined;
      },
    });
    queue.add('good');
    queue.add('bad');
    await advance(rt, 3000, 5);
    assert.deepEqual(
      seen.filter(([k]) => k === 'good').map(([, t]) => t),
      [0, 1000, 2000],
    );
    assert.deepEqual(
      seen.filter(([k]) => k === 'bad').map(([, t]) => t),
      [0, 5, 15],
    );
    assert.equal(ctl.stats.dropped, 1);
    await ctl.stop();
  });

  it('many keys and workers: never the same key twice at once, everything converges', async () => {
    const s = setup(4);
    s.informer.start();
    const ctl = runController({
      name: 'copy',
      runtime: s.rt,
      informers: [s.informer],
      queue: s.queue,
      reconcile: s.reconcile,
      workers: 4,
    });
    const random = new SeededRandom(11);
    for (let i = 0; i < 60; i++) {
      const ns = s.api.resource<ConfigMap>('configmaps', { namespace: random.next() < 0.5 ? 'default' : 'other' });
      const name = `cm${random.int(0, 8)}`;
      try {
        if (random.next() < 0.6) await ns.create({ metadata: { name }, data: { v: String(i) } });
        else if (random.next() < 0.5) {
          const cur = await ns.get(name);
          await ns.update({ ...cur, data: { v: String(i) } });
        } else await ns.delete(name);
      } catch {
        // expected NotFound/AlreadyExists
      }
      await flush(random.int(0, 3));
    }
    await advance(s.rt, 2000, 10);
    const all = s.api.objects<ConfigMap>('configmaps');
    const originals = all.filter((c) => !c.metadata.name?.endsWith('-copy'));
    const copies = all.filter((c) => c.metadata.name?.endsWith('-copy'));
    assert.deepEqual(
      copies.map((c) => [c.metadata.namespace, c.metadata.name, c.data]),
      originals.map((c) => [c.metadata.namespace, `${c.metadata.name}-copy`, c.data]),
    );
    assert.ok(s.maxConcurrent() > 1, 'workers ran concurrently');
    await ctl.stop();
    await s.informer.stop();
  });
});
