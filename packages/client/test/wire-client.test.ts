import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, Pod } from '@kemu/api';
import { SeededRandom, silentLogger, systemRuntime } from '@kemu/runtime';
import { WireClient, WireServer } from '@kemu/wire';
import {
  ApiError,
  DeletedFinalStateUnknown,
  FakeApi,
  isAlreadyExists,
  isConflict,
  isNotFound,
  isServiceUnavailable,
  SharedIndexInformer,
  type WatchEvent,
  WireApiClient,
  waitForCacheSync,
} from '../src/index.js';
import { serveFakeApi } from './fixtures/fake-wire-api.js';
import { waitFor } from './helpers.js';

describe('WireResourceClient over a real WireServer', () => {
  const log = silentLogger();
  let api: FakeApi;
  let server: WireServer;
  let wire: WireClient;
  let client: WireApiClient;

  before(async () => {
    api = new FakeApi({ historyLimit: 50 });
    server = new WireServer({ identity: 'kube-apiserver/test', log });
    serveFakeApi(server, api);
    await server.listen(0);
    wire = new WireClient({ identity: 'kube-scheduler/test', log, url: server.url, reconnect: false });
    await wire.start().whenConnected(5000);
    client = new WireApiClient({ wire, timeoutMs: 5000 });
  });

  after(async () => {
    await wire.close();
    await server.close();
  });

  it('creates, gets, updates, patches, binds and deletes; errors arrive typed', async () => {
    const cms = client.resource<ConfigMap>('configmaps', { namespace: 'default' });
    const created = await cms.create({ metadata: { name: 'a' }, data: { k: '1' } });
    assert.equal(created.metadata.resourceVersion, String(api.resourceVersion));
    await assert.rejects(cms.create({ metadata: { name: 'a' } }), isAlreadyExists);
    const got = await cms.get('a');
    assert.deepEqual(got.data, { k: '1' });
    const updated = await cms.update({ ...got, data: { k: '2' } });
    await assert.rejects(cms.update({ ...got, data: { k: '3' } }), (err: unknown) => {
      assert.ok(isConflict(err));
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 'API_CONFLICT');
      assert.match(err.message, /the object has been modified/);
      return true;
    });
    const patched = await cms.patch('a', 'merge', { data: { extra: 'x' } });
    assert.deepEqual(patched.data, { k: '2', extra: 'x' });
    assert.notEqual(patched.metadata.resourceVersion, updated.metadata.resourceVersion);
    assert.deepEqual(await cms.delete('a'), { deleted: true });
    await assert.rejects(cms.get('a'), isNotFound);

    const pods = client.resource<Pod>('pods', { namespace: 'default' });
    await pods.create({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    await pods.bind({ metadata: { name: 'p', namespace: 'default' }, target: { kind: 'Node', name: 'worker-1' } });
    assert.equal((await pods.get('p')).spec?.nodeName, 'worker-1');
    await assert.rejects(
      pods.bind({ metadata: { name: 'p', namespace: 'default' }, target: { name: 'worker-2' } }),
      isConflict,
    );
    const st = await pods.updateStatus({ ...(await pods.get('p')), status: { phase: 'Running' } });
    assert.equal(st.status?.phase, 'Running');
    const leases = client.resource('leases.coordination.k8s.io', { namespace: 'kube-system' });
    assert.equal(leases.resource, 'leases.coordination.k8s.io');
    assert.deepEqual((await leases.list()).items, []);
  });

  it('watches with bookmarks, and a 410 becomes an ERROR event', async () => {
    const cms = client.resource<ConfigMap>('configmaps', { namespace: 'w' });
    const start = (await cms.list()).resourceVersion;
    const stream = cms.watch({ resourceVersion: start, allowBookmarks: true });
    const seen: WatchEvent<ConfigMap>[] = [];
    const reader = (async () => {
      for await (const ev of stream) seen.push(ev);
    })();
    await cms.create({ metadata: { name: 'x' } });
    await waitFor(() => seen.length === 1 && api.watchCount > 0, { what: 'ADDED' });
    api.bookmark();
    await waitFor(() => seen.length === 2, { what: 'BOOKMARK' });
    assert.equal(seen[0]?.type, 'ADDED');
    assert.equal(seen[1]?.type, 'BOOKMARK');
    assert.equal(seen[1]?.object.metadata.resourceVersion, String(api.resourceVersion));
    api.expireWatches();
    await reader;
    const last = seen[seen.length - 1];
    assert.equal(last?.type, 'ERROR');
    assert.equal(last?.type === 'ERROR' ? last.object.code : 0, 410);

    // Watching from a compacted resourceVersion: ERROR 410 straight away.
    api.compact();
    const old = cms.watch({ resourceVersion: start });
    const events: string[] = [];
    for await (const ev of old) events.push(`${ev.type}${ev.type === 'ERROR' ? ev.object.code : ''}`);
    assert.deepEqual(events, ['ERROR410']);
    // A normal close on the server ends the iteration without an error.
    const closing = cms.watch({ resourceVersion: String(api.resourceVersion) });
    const closed = (async () => {
      const got: string[] = [];
      for await (const ev of closing) got.push(ev.type);
      return got;
    })();
    await waitFor(() => api.watchCount === 1, { what: 'watch registered' });
    api.closeWatches();
    assert.deepEqual(await closed, []);
    // Cancelling a watch releases it on the server.
    const idle = cms.watch({ resourceVersion: String(api.resourceVersion) });
    const it = idle[Symbol.asyncIterator]();
    const pending = it.next();
    await waitFor(() => api.watchCount === 1, { what: 'watch registered' });
    idle.cancel();
    await pending.catch(() => undefined);
    await waitFor(() => api.watchCount === 0, { what: 'watch released' });
  });

  it('an informer syncs over the wire and follows changes', async () => {
    const pods = client.resource<Pod>('pods');
    const informer = new SharedIndexInformer<Pod>({
      listWatcher: pods,
      runtime: systemRuntime,
      random: new SeededRandom(1),
    });
    informer.start();
    assert.equal(await waitForCacheSync([informer], { runtime: systemRuntime, timeoutMs: 5000 }), true);
    await client
      .resource<Pod>('pods', { namespace: 'ns2' })
      .create({ metadata: { name: 'q' }, spec: { containers: [] } });
    await waitFor(() => informer.store.get('ns2', 'q') !== undefined, { what: 'pod in cache' });
    await informer.stop();
  });

  it('an informer recovers when the apiserver goes away and comes back (relist, tombstones)', async () => {
    const store = new FakeApi();
    const first = new WireServer({ identity: 'kube-apiserver/b', log });
    serveFakeApi(first, store);
    const { port } = await first.listen(0);
    const c = new WireClient({
      identity: 'kube-controller-manager/t',
      log,
      url: first.url,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    await c.start().whenConnected(5000);
    const cms = store.resource<ConfigMap>('configmaps', { namespace: 'd' });
    await cms.create({ metadata: { name: 'keep' } });
    await cms.create({ metadata: { name: 'gone' } });
    const informer = new SharedIndexInformer<ConfigMap>({
      listWatcher: new WireApiClient({ wire: c, timeoutMs: 2000 }).resource<ConfigMap>('configmaps'),
      runtime: systemRuntime,
      random: new SeededRandom(2),
      backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    const tombstones: string[] = [];
    informer.addEventHandler({
      onDelete: (o) => void (o instanceof DeletedFinalStateUnknown && tombstones.push(o.key)),
    });
    informer.start();
    assert.equal(await waitForCacheSync([informer], { runtime: systemRuntime, timeoutMs: 5000 }), true);

    await first.close();
    await cms.delete('gone');
    await cms.create({ metadata: { name: 'new' } });
    store.compact();
    const second = new WireServer({ identity: 'kube-apiserver/b', log });
    serveFakeApi(second, store);
    await second.listen(port);
    try {
      await waitFor(() => informer.get('d', 'new') !== undefined && informer.get('d', 'gone') === undefined, {
        timeoutMs: 10_000,
        what: 'informer to catch up after the apiserver returned',
      });
      assert.deepEqual(tombstones, ['d/gone']);
      assert.ok(informer.stats.errors >= 1);
    } finally {
      await informer.stop();
      await c.close();
      await second.close();
    }
  });

  it('a lost connection surfaces as ServiceUnavailable', async () => {
    const other = new WireClient({ identity: 'kubelet/test', log, url: server.url, reconnect: false });
    await other.start().whenConnected(5000);
    const c = new WireApiClient({ wire: other }).resource('configmaps', { namespace: 'default' });
    await other.close();
    await assert.rejects(c.get('zzz'), isServiceUnavailable);
  });
});
