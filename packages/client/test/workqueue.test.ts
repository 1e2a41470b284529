import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualRuntime } from '@kemu/runtime';
import { Registry } from 'prom-client';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  prometheusQueueMetrics,
  RateLimitingQueue,
} from '../src/index.js';
import { flush } from './helpers.js';

function queue(rt = new ManualRuntime(0)) {
  return {
    rt,
    q: new RateLimitingQueue<string>({ runtime: rt, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) }),
  };
}

describe('RateLimitingQueue', () => {
  it('de-duplicates waiting items and hands them out in order', async () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
  });

  it('never hands out a key being processed; re-added meanwhile → processed again after done', async () => {
    const { q } = queue();
    q.add('a');
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'a is processing, so it is only marked dirty');
    let second: string | undefined;
    void q.get().then((v) => {
      second = v;
    });
    q.add('b');
    await flush();
    assert.equal(second, 'b', 'the waiting getter gets b, not a second copy of a');
    let third: string | undefined;
    void q.get().then((v) => {
      third = v;
    });
    await flush();
    assert.equal(third, undefined);
    q.done('a');
    await flush();
    assert.equal(third, 'a', 'a comes back once after done');
    q.done('a');
    q.done('b');
    assert.equal(q.len(), 0);
  });

  it('two workers never process the same key at once under random adds', async () => {
    const { q } = queue();
    const active = new Set<string>();
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        assert.equal(active.has(k), false, `${k} handed out twice`);
        active.add(k);
        await flush(1);
        if (processed % 3 === 0) q.add(k);
        active.delete(k);
        processed++;
        q.done(k);
      }
    };
    const workers = [worker(), worker(), worker()];
    for (let i = 0; i < 200; i++) {
      q.add(`k${i % 4}`);
      if (i % 7 === 0) await flush(1);
    }
    await flush(20);
    await q.shutDownWithDrain();
    await Promise.all(workers);
    assert.ok(processed > 10);
  });

  it('per-item exponential backoff fires at exactly 5, 10, 20 ... ms and forget resets it', async () => {
    const { rt, q } = queue();
    const arrivals: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.addRateLimited('x');
      const delay = 5 * 2 ** i;
      rt.advance(delay - 1);
      assert.equal(q.len(), 0, `not before ${delay} ms`);
      rt.advance(1);
      assert.equal(q.len(), 1, `at ${delay} ms`);
      arrivals.push(delay);
      assert.equal(await q.get(), 'x');
      q.done('x');
    }
    assert.equal(q.numRequeues('x'), 4);
    q.forget('x');
    assert.equal(q.numRequeues('x'), 0);
    q.addRateLimited('x');
    rt.advance(5);
    assert.equal(q.len(), 1);
  });

  it('the per-item delay is capped', () => {
    const l = new ItemExponentialFailureRateLimiter<string>(5, 1000);
    const delays = Array.from({ length: 12 }, () => l.when('k'));
    assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]);
    assert.equal(l.when('other'), 5);
    const big = new ItemExponentialFailureRateLimiter<string>();
    for (let i = 0; i < 2000; i++) big.when('k');
    assert.equal(big.when('k'), 1_000_000);
  });

  it('token bucket: burst, then one token per 1/qps; combined limiter takes the max', () => {
    const rt = new ManualRuntime(0);
    const bucket = new BucketRateLimiter<string>(rt, 10, 2);
    assert.deepEqual([bucket.when('a'), bucket.when('b'), bucket.when('c'), bucket.when('d')], [0, 0, 100, 200]);
    rt.advance(1000);
    // 10 tokens refilled minus the 2 borrowed, capped at burst 2.
    assert.deepEqual([bucket.when('e'), bucket.when('f'), bucket.when('g')], [0, 0, 100]);
    const both = new MaxOfRateLimiter<string>(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new BucketRateLimiter(rt, 10, 1),
    );
    rt.advance(1000);
    assert.equal(both.when('x'), 5);
    assert.equal(both.when('y'), 100);
    const def = defaultControllerRateLimiter<string>(rt);
    assert.equal(def.when('z'), 5);
  });

  it('addAfter keeps the earliest time; shutdown wakes getters and drops delayed items', async () => {
    const { rt, q } = queue();
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    q.addAfter('a', 80);
    assert.equal(q.delayed(), 1);
    rt.advance(50);
    assert.equal(q.len(), 1);
    q.addAfter('b', 10);
    const pending = [q.get(), q.get()];
    assert.equal(await pending[0], 'a');
    q.shutDown();
    assert.equal(await pending[1], undefined);
    assert.equal(q.delayed(), 0);
    q.add('c');
    assert.equal(q.len(), 0, 'no adds after shutdown');
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => {
      drained = true;
    });
    await flush();
    assert.equal(drained, false, 'a is still processing');
    q.done('a');
    await drain;
  });

  it('reports depth, adds, retries and latencies through hooks and Prometheus', async () => {
    const rt = new ManualRuntime(0);
    const registry = new Registry();
    const events: string[] = [];
    const prom = prometheusQueueMetrics(registry);
    const q = new RateLimitingQueue<string>({
      runtime: rt,
      name: 'pods',
      metrics: {
        ...prom,
        onAdd: (n) => {
          events.push('add');
          prom.onAdd?.(n);
        },
        onRetry: (n) => {
          events.push('retry');
          prom.onRetry?.(n);
        },
        onQueueLatency: (n, ms) => {
          events.push(`latency ${ms}`);
          prom.onQueueLatency?.(n, ms);
        },
      },
    });
    q.add('a');
    q.add('a');
    rt.advance(30);
    const a = await q.get();
    assert.equal(a, 'a');
    q.addRateLimited('a');
    q.done('a');
    assert.deepEqual(events, ['add', 'latency 30', 'retry']);
    const text = await registry.metrics();
    assert.match(text, /workqueue_adds_total\{name="pods"\} 1/);
    assert.match(text, /workqueue_retries_total\{name="pods"\} 1/);
    assert.match(text, /workqueue_depth\{name="pods"\} 0/);
  });
});
