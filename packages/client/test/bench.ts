// Throughput of the hot paths, on FakeApi + system timers (no network): workqueue cycles, informer
// event application, and a controller converging N objects. Prints a table.
// Run: npx tsc -b && node packages/client/dist/test/bench.js
import type { ConfigMap } from '@kemu/api';
import { ManualRuntime, SeededRandom, systemRuntime } from '@kemu/runtime';
import {
  enqueueHandler,
  FakeApi,
  RateLimitingQueue,
  runController,
  SharedIndexInformer,
  waitForCacheSync,
} from '../src/index.js';

async function queueCycles(n: number): Promise<number> {
  const q = new RateLimitingQueue<string>({ runtime: new ManualRuntime(0) });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    q.add(`k${i % 1000}`);
    const k = await q.get();
    if (k !== undefined) q.done(k);
  }
  return n / ((performance.now() - t0) / 1000);
}

async function informerEvents(n: number): Promise<number> {
  const api = new FakeApi({ historyLimit: n + 10 });
  const cms = api.resource<ConfigMap>('configmaps', { namespace: 'default' });
  const inf = new SharedIndexInformer<ConfigMap>({
    listWatcher: api.resource<ConfigMap>('configmaps'),
    runtime: systemRuntime,
    random: new SeededRandom(1),
  });
  let seen = 0;
  inf.addEventHandler({ onAdd: () => void seen++, onUpdate: () => void seen++ });
  inf.start();
  await waitForCacheSync([inf], { runtime: systemRuntime });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await cms.create({ metadata: { name: `c${i}` }, data: { i: String(i) } });
  while (seen < n) await new Promise<void>((r) => setImmediate(r));
  const rate = n / ((performance.now() - t0) / 1000);
  await inf.stop();
  return rate;
}

async function controllerConverge(n: number): Promise<number> {
  const api = new FakeApi({ historyLimit: 4 * n });
  const cms = api.resource<ConfigMap>('configmaps', { namespace: 'default' });
  for (let i = 0; i < n; i++) await cms.create({ metadata: { name: `c${i}` }, data: { v: '1' } });
  const inf = new SharedIndexInformer<ConfigMap>({
    listWatcher: api.resource<ConfigMap>('configmaps'),
    runtime: systemRuntime,
    random: new SeededRandom(1),
  });
  const queue = new RateLimitingQueue<string>({ runtime: systemRuntime });
  inf.addEventHandler(enqueueHandler(queue));
  let done = 0;
  const t0 = performance.now();
  inf.start();
  const ctl = runController({
    name: 'bench',
    runtime: systemRuntime,
    informers: [inf],
    queue,
    workers: 4,
    reconcile: async (key) => {
      const cm = inf.store.getByKey(key);
      if (cm && cm.data?.v === '1') await cms.update({ ...cm, data: { v: '2' } });
      else done++;
    },
  });
  while (done < n) await new Promise<void>((r) => setImmediate(r));
  const rate = n / ((performance.now() - t0) / 1000);
  await ctl.stop();
  await inf.stop();
  return rate;
}

const rows: [string, number][] = [];
rows.push(['workqueue add/get/done cycles per s (100k)', await queueCycles(100_000)]);
rows.push(['informer events applied per s (20k creates via FakeApi)', await informerEvents(20_000)]);
rows.push(['controller keys converged per s (5k objects, update + observe)', await controllerConverge(5_000)]);
console.log('| benchmark | result |\n| --- | ---: |');
for (const [name, v] of rows) console.log(`| ${name} | ${Math.round(v).toLocaleString('en-US')} |`);
