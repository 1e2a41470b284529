import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, Pod } from '@kemu/api';
import { ManualRuntime, SeededRandom } from '@kemu/runtime';
import {
  DeletedFinalStateUnknown,
  FakeApi,
  fieldIndexFunc,
  SharedIndexInformer,
  waitForCacheSync,
} from '../src/index.js';
import { advance, flush } from './helpers.js';

function pod(name: string, ns = 'default', extra: Partial<Pod['spec']> = {}): Pod {
  return {
    metadata: { name, namespace: ns, labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...extra },
  };
}

function setup(historyLimit?: number) {
  const rt = new ManualRuntime(1_700_000_000_000);
  const api = new FakeApi(historyLimit === undefined ? { clock: rt } : { clock: rt, historyLimit });
  const pods = api.resource<Pod>('pods', { namespace: 'default' });
  const all = api.resource<Pod>('pods');
  const informer = new SharedIndexInformer<Pod>({
    listWatcher: all,
    runtime: rt,
    random: new SeededRandom(7),
    indexers: { byNode: fieldIndexFunc('spec.nodeName') },
    backoff: { initialDelayMs: 10, maxDelayMs: 100 },
  });
  return { rt, api, pods, informer };
}

/** A map rebuilt only from handler calls: must end equal to the server's state. */
function mirror<T extends KubeObject>(informer: SharedIndexInformer<T>) {
  const seen = new Map<string, string>();
  const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  const log: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => {
      assert.equal(seen.has(keyOf(o)), false, `add of known ${keyOf(o)}`);
      seen.set(keyOf(o), o.metadata.resourceVersion ?? '');
      log.push(`add ${keyOf(o)}`);
    },
    onUpdate: (old, o) => {
      assert.equal(seen.get(keyOf(old)), old.metadata.resourceVersion, `update of ${keyOf(o)} with a stale old`);
      seen.set(keyOf(o), o.metadata.resourceVersion ?? '');
      log.push(`update ${keyOf(o)}`);
    },
    onDelete: (o) => {
      const obj = o instanceof DeletedFinalStateUnknown ? o.obj : o;
      assert.equal(seen.has(keyOf(obj)), true, `delete of unknown ${keyOf(obj)}`);
      seen.delete(keyOf(obj));
      log.push(`${o instanceof DeletedFinalStateUnknown ? 'tombstone' : 'delete'} ${keyOf(obj)}`);
    },
  });
  return { seen, log };
}

describe('SharedIndexInformer', () => {
  it('lists, syncs, then follows adds, updates and deletes with old and new objects', async () => {
    const { rt, pods, informer } = setup();
    await pods.create(pod('a'));
    await pods.create(pod('b'));
    const { log } = mirror(informer);
    const updates: [string, string][] = [];
    informer.addEventHandler({
      onUpdate: (o, n) => updates.push([o.metadata.resourceVersion ?? '', n.metadata.resourceVersion ?? '']),
    });
    assert.equal(informer.hasSynced(), false);
    informer.start();
    assert.equal(await waitForCacheSync([informer], { runtime: rt, timeoutMs: 1000 }), true);
    assert.deepEqual(informer.store.listKeys().sort(), ['default/a', 'default/b']);
    assert.equal(informer.lastSyncResourceVersion, '2');

    const a = await pods.get('a');
    a.metadata.labels = { app: 'db' };
    await pods.update(a);
    await pods.delete('b');
    await pods.create(pod('c', 'default', { nodeName: 'n1' }));
    await flush();
    assert.deepEqual(
      log,
      ['add /a', 'add /b', 'update default/a', 'delete default/b', 'add default/c'].map((s) =>
        s.replace(' /', ' default/'),
      ),
    );
    assert.deepEqual(updates, [['1', '3']]);
    assert.equal(informer.store.get('default', 'a')?.metadata.labels?.app, 'db');
    assert.deepEqual(
      informer.store.byIndex('byNode', 'n1').map((p) => p.metadata.name),
      ['c'],
    );
    assert.deepEqual(informer.store.byIndex('namespace', 'default').length, 2);
    await informer.stop();
  });

  it('a handler added after sync hears about cached objects as initial adds', async () => {
    const { rt, pods, informer } = setup();
    await pods.create(pod('a'));
    informer.start();
    await waitForCacheSync([informer], { runtime: rt });
    const adds: [string, boolean][] = [];
    informer.addEventHandler({ onAdd: (o, initial) => adds.push([o.metadata.name ?? '', initial]) });
    await pods.create(pod('b'));
    await flush();
    assert.deepEqual(adds, [
      ['a', true],
      ['b', false],
    ]);
    await informer.stop();
  });

  it('relists after 410 Expired; objects deleted meanwhile arrive as tombstones', async () => {
    const { rt, api, pods, informer } = setup();
    await pods.create(pod('a'));
    await pods.create(pod('b'));
    const { log } = mirror(informer);
    informer.start();
    await waitForCacheSync([informer], { runtime: rt });
    // Take the watch down, change things, forget history: the resumed watch gets 410.
    api.intercept((c) => {
      if (c.verb === 'watch') throw new Error('apiserver down');
    });
    api.breakWatches();
    await flush();
    await pods.delete('a');
    await pods.create(pod('c'));
    api.compact();
    api.intercept(undefined);
    await advance(rt, 200);
    assert.deepEqual(informer.store.listKeys().sort(), ['default/b', 'default/c']);
    assert.ok(log.includes('tombstone default/a'), log.join(','));
    assert.ok(informer.stats.lists >= 2);

    // A live watch expired by the server (410 ERROR event) relists too.
    const before = informer.stats.relistsAfterExpired;
    api.compact();
    api.expireWatches();
    await advance(rt, 100);
    assert.equal(informer.stats.relistsAfterExpired, before + 1);
    await pods.create(pod('d'));
    await flush();
    assert.ok(informer.store.get('default', 'd'));
    await informer.stop();
  });

  it('resumes from the last resourceVersion on a normal close without relisting', async () => {
    const { rt, api, pods, informer } = setup();
    await pods.create(pod('a'));
    informer.start();
    await waitForCacheSync([informer], { runtime: rt });
    await pods.create(pod('b'));
    await flush();
    api.closeWatches();
    await pods.create(pod('c'));
    await flush();
    assert.equal(informer.stats.lists, 1);
    assert.equal(informer.stats.watches, 2);
    assert.ok(informer.store.get('default', 'c'));
    const watches = api.calls.filter((c) => c.verb === 'watch').length;
    assert.equal(watches, 2);
    await informer.stop();
    assert.equal(api.watchCount, 0);
  });

  it('bookmarks advance the resourceVersion; resync replays updates', async () => {
    const rt = new ManualRuntime(0);
    const api = new FakeApi({ clock: rt });
    const pods = api.resource<Pod>('pods', { namespace: 'default' });
    await pods.create(pod('a'));
    const other = api.resource('configmaps', { namespace: 'default' });
    const informer = new SharedIndexInformer<Pod>({
      listWatcher: api.resource<Pod>('pods'),
      runtime: rt,
      random: new SeededRandom(1),
      resyncPeriodMs: 1000,
    });
    let resyncs = 0;
    informer.addEventHandler({ onUpdate: (o, n) => void (o === n && resyncs++) });
    informer.start();
    await waitForCacheSync([informer], { runtime: rt });
    await other.create({ metadata: { name: 'cm' } });
    api.bookmark();
    await flush();
    assert.equal(informer.lastSyncResourceVersion, '2');
    await advance(rt, 2000, 100);
    assert.equal(resyncs, 2);
    await informer.stop();
  });

  it('pages the list, filters by selector, and drops objects that leave the selection', async () => {
    const rt = new ManualRuntime(0);
    const api = new FakeApi({ clock: rt });
    const pods = api.resource<Pod>('pods', { namespace: 'default' });
    for (const n of ['a', 'b', 'c', 'd', 'e']) await pods.create(pod(n));
    await pods.create({ ...pod('x'), metadata: { name: 'x', labels: { app: 'db' } } });
    const informer = new SharedIndexInformer<Pod>({
      listWatcher: api.resource<Pod>('pods'),
      runtime: rt,
      random: new SeededRandom(1),
      selector: { labelSelector: 'app=web' },
      pageSize: 2,
    });
    informer.start();
    await waitForCacheSync([informer], { runtime: rt });
    assert.equal(api.calls.filter((c) => c.verb === 'list').length, 3);
    assert.deepEqual(
      informer
        .list()
        .map((p) => p.metadata.name)
        .sort(),
      ['a', 'b', 'c', 'd', 'e'],
    );
    const c = await pods.get('c');
    await pods.update({ ...c, metadata: { ...c.metadata, labels: { app: 'db' } } });
    await flush();
    assert.equal(informer.get('default', 'c'), undefined);
    assert.equal(informer.list({ namespace: 'default', labelSelector: 'app in (web)' }).length, 4);
    assert.equal(informer.list({ namespace: 'other' }).length, 0);
    await informer.stop();
  });

  it('backs off when every watch expires straight after its list', { timeout: 10_000 }, async () => {
    const { rt, api, pods, informer } = setup();
    await pods.create(pod('a'));
    // The server compacts past every watcher the moment it asks: list, 410, list, 410, ...
    // (Each call yields to the event loop, so a missing backoff shows up as a high count, not a hang.)
    api.intercept(async (c) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (c.verb === 'watch') api.compact(api.resourceVersion + 1);
    });
    informer.start();
    await advance(rt, 1000, 10);
    assert.ok(informer.stats.relistsAfterExpired >= 5, JSON.stringify(informer.stats));
    assert.ok(informer.stats.lists <= 30, `relisted ${informer.stats.lists} times in 1 s`);
    assert.equal(informer.hasSynced(), true);
    await informer.stop();
  });

  it('waitForCacheSync gives up on its deadline while the API refuses lists', async () => {
    const { rt, api, informer } = setup();
    api.intercept(() => {
      throw new Error('refused');
    });
    informer.start();
    const result = waitForCacheSync([informer], { runtime: rt, timeoutMs: 500 });
    await advance(rt, 600);
    assert.equal(await result, false);
    assert.ok(informer.stats.errors >= 3, `errors=${informer.stats.errors}`);
    api.intercept(undefined);
    await advance(rt, 200);
    assert.equal(informer.hasSynced(), true);
    await informer.stop();
  });

  const totals = { relistsAfterExpired: 0, errors: 0, tombstones: 0 };
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: random writes, watch drops, expirations and compactions end with cache = store`, async () => {
      const random = new SeededRandom(seed);
      const { rt, api, informer } = setup(5 + random.int(0, 20));
      const { seen, log } = mirror(informer);
      informer.start();
      let watchDown = false;
      api.intercept((c) => {
        if (watchDown && (c.verb === 'watch' || c.verb === 'list')) throw new Error('unavailable');
      });
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      for (let step = 0; step < 300; step++) {
        const r = random.next();
        const name = names[random.int(0, names.length)] ?? 'a';
        const writer = api.resource<Pod>('pods', { namespace: random.next() < 0.5 ? 'default' : 'kube-system' });
        try {
          if (r < 0.3) await writer.create(pod(name, writer.namespace));
          else if (r < 0.55) {
            const cur = await writer.get(name);
            cur.metadata.labels = { v: String(step) };
            await writer.update(cur);
          } else if (r < 0.7) await writer.delete(name);
          else if (r < 0.75) api.closeWatches();
          else if (r < 0.8) api.expireWatches();
          else if (r < 0.85) api.compact();
          else if (r < 0.88) api.breakWatches();
          else if (r < 0.9) watchDown = !watchDown;
          else if (r < 0.93) api.bookmark();
          else await advance(rt, random.int(1, 200), 10);
        } catch {
          // NotFound / AlreadyExists from random writes are expected.
        }
        if (random.next() < 0.5) await flush(random.int(0, 3));
      }
      watchDown = false;
      await advance(rt, 2000, 50);
      const expected = [...api.objects<Pod>('pods')].map((p) => [
        `${p.metadata.namespace}/${p.metadata.name}`,
        p.metadata.resourceVersion,
      ]);
      const cached = informer.store
        .list()
        .map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.metadata.resourceVersion]);
      assert.deepEqual(cached.sort(), expected.sort());
      assert.deepEqual([...seen.entries()].sort(), expected.sort());
      assert.ok(
        informer.store.byIndex('namespace', 'kube-system').every((p) => p.metadata.namespace === 'kube-system'),
      );
      totals.relistsAfterExpired += informer.stats.relistsAfterExpired;
      totals.errors += informer.stats.errors;
      totals.tombstones += log.filter((l) => l.startsWith('tombstone')).length;
      await informer.stop();
    });
  }

  it('the seeded runs above exercised expirations, failed watches and tombstones', () => {
    assert.ok(totals.relistsAfterExpired > 0 && totals.errors > 0 && totals.tombstones > 0, JSON.stringify(totals));
  });
});
