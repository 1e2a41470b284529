// The watch cache against an in-memory stand-in for the etcd client (range pages + one watch
// stream), with a manual clock for bookmarks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '@kemu/api';
import type { EtcdClient, KeyValue, WatchResponse } from '@kemu/etcd';
import { ManualRuntime, silentLogger } from '@kemu/runtime';
import { WatchCache, type WatchOutput } from '../src/storage/watch-cache.js';

const enc = new TextEncoder();

function kv(key: string, obj: unknown, rev: number): KeyValue {
  return {
    key: enc.encode(key),
    value: enc.encode(JSON.stringify(obj)),
    modRevision: rev,
    createRevision: rev,
    version: 1,
    lease: 0,
  };
}

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels },
});

/** Just the client calls the cache makes: rangePage and watch. */
class FakeEtcd {
  rev = 10;
  readonly initial: KeyValue[] = [kv('/registry/pods/default/a', pod('a', { app: 'x' }), 5)];
  readonly watchCalls: { key: string; startRevision?: number; prevKv?: boolean }[] = [];
  private push: ((r: WatchResponse) => void) | undefined;
  private readonly queued: WatchResponse[] = [];

  async rangePage() {
    return { kvs: this.initial, revision: this.rev, count: this.initial.length };
  }

  watch(key: Uint8Array | string, opts: { startRevision?: number; prevKv?: boolean }) {
    const k = typeof key === 'string' ? key : new TextDecoder().decode(key);
    this.watchCalls.push({ key: k, ...opts });
    const fake = this;
    const isMain = this.watchCalls.length === 1;
    return {
      close() {},
      async *[Symbol.asyncIterator]() {
        if (!isMain) return;
        for (;;) {
          const next = fake.queued.shift();
          if (next) {
            yield next;
            continue;
          }
          yield await new Promise<WatchResponse>((r) => {
            fake.push = r;
          });
        }
      },
    };
  }

  emit(events: { type: 'put' | 'delete'; kv: KeyValue }[]): void {
    const res: WatchResponse = { header: { revision: this.rev } as WatchResponse['header'], watchId: 1, events };
    const p = this.push;
    this.push = undefined;
    if (p) p(res);
    else this.queued.push(res);
  }
}

async function setup(historySize = 100) {
  const etcd = new FakeEtcd();
  const runtime = new ManualRuntime(0);
  const cache = new WatchCache({
    etcd: etcd as unknown as EtcdClient,
    prefix: '/registry/pods/',
    log: silentLogger(),
    runtime,
    historySize,
    bookmarkIntervalMs: 1000,
  });
  cache.start();
  await cache.whenSynced();
  return { etcd, cache, runtime };
}

const names = (outs: WatchOutput[]) =>
  outs.map((o) =>
    o.type === 'BOOKMARK'
      ? `BOOKMARK ${o.rv}`
      : o.type === 'EXPIRED'
        ? 'EXPIRED'
        : `${o.type} ${(o.object as KubeObject).metadata.name}`,
  );

async function settle(cache: WatchCache, rv: number) {
  assert.equal(await cache.waitForRevision(rv, 1000), true);
}

test('initial state as ADDED, then ADDED/MODIFIED/DELETED in order with the delete revision', async () => {
  const { etcd, cache } = await setup();
  assert.equal(cache.revision, 10);
  const outs: WatchOutput[] = [];
  cache.watch({ keyPrefix: '/registry/pods/default/', match: () => true, bookmarks: false }, (o) => outs.push(o));
  etcd.emit([{ type: 'put', kv: kv('/registry/pods/default/b', pod('b'), 11) }]);
  etcd.emit([{ type: 'put', kv: kv('/registry/pods/default/b', pod('b', { v: '2' }), 12) }]);
  etcd.emit([{ type: 'delete', kv: { ...kv('/registry/pods/default/b', '', 13), value: new Uint8Array() } }]);
  await settle(cache, 13);
  assert.deepEqual(names(outs), ['ADDED a', 'ADDED b', 'MODIFIED b', 'DELETED b']);
  const deleted = outs[3] as { object: KubeObject };
  assert.equal(deleted.object.metadata.resourceVersion, '13');
  assert.deepEqual(deleted.object.metadata.labels, { v: '2' }, 'DELETED carries the last state');
  assert.deepEqual(
    cache.list('/registry/pods/', () => true).items.map((o) => o.metadata.name),
    ['a'],
  );
});

test('selectors: leaving the selection is DELETED, entering it ADDED; other namespaces filtered', async () => {
  const { etcd, cache } = await setup();
  const outs: WatchOutput[] = [];
  cache.watch(
    {
      fromRv: 10,
      keyPrefix: '/registry/pods/default/',
      match: (o) => o.metadata.labels?.app === 'x',
      bookmarks: false,
    },
    (o) => outs.push(o),
  );
  etcd.emit([{ type: 'put', kv: kv('/registry/pods/default/a', pod('a', { app: 'y' }), 11) }]);
  etcd.emit([{ type: 'put', kv: kv('/registry/pods/default/a', pod('a', { app: 'x' }), 12) }]);
  etcd.emit([
    {
      type: 'put',
      kv: kv(
        '/registry/pods/other/c',
        { ...pod('c', { app: 'x' }), metadata: { name: 'c', namespace: 'other', labels: { app: 'x' } } },
        13,
      ),
    },
  ]);
  await settle(cache, 13);
  assert.deepEqual(names(outs), ['DELETED a', 'ADDED a']);
});

test('resume inside the window replays; older than the window goes to etcd history with prevKv', async () => {
  const { etcd, cache } = await setup(2);
  for (let rv = 11; rv <= 14; rv++)
    etcd.emit([{ type: 'put', kv: kv(`/registry/pods/default/p${rv}`, pod(`p${rv}`), rv) }]);
  await settle(cache, 14);
  assert.equal(cache.oldestResourceVersion, 12);
  const outs: WatchOutput[] = [];
  cache.watch({ fromRv: 12, keyPrefix: '/registry/pods/', match: () => true, bookmarks: false }, (o) => outs.push(o));
  assert.deepEqual(names(outs), ['ADDED p13', 'ADDED p14']);
  cache.watch({ fromRv: 11, keyPrefix: '/registry/pods/', match: () => true, bookmarks: false }, () => {});
  assert.deepEqual(etcd.watchCalls[1], { key: '/registry/pods/', prefix: true, startRevision: 12, prevKv: true });
});

test('bookmarks carry the cache revision, only to watchers that asked', async () => {
  const { etcd, cache, runtime } = await setup();
  const withMarks: WatchOutput[] = [];
  const without: WatchOutput[] = [];
  cache.watch({ fromRv: 10, keyPrefix: '/registry/pods/', match: () => true, bookmarks: true }, (o) =>
    withMarks.push(o),
  );
  cache.watch({ fromRv: 10, keyPrefix: '/registry/pods/', match: () => true, bookmarks: false }, (o) =>
    without.push(o),
  );
  etcd.emit([{ type: 'put', kv: kv('/registry/pods/default/z', pod('z'), 17) }]);
  await settle(cache, 17);
  runtime.advance(1000);
  assert.deepEqual(names(withMarks), ['ADDED z', 'BOOKMARK 17']);
  assert.deepEqual(names(without), ['ADDED z']);
});
