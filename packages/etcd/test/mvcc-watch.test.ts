import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '@kemu/runtime';
import {
  type EtcdRequest,
  type KvRecord,
  MvccStore,
  prefixRangeEnd,
  utf8,
  WatchHub,
  type WatchHubOptions,
  type WatchResponse,
} from '../src/mvcc/index.js';

const b = utf8;
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** A hub whose sink records responses per watcher and can report backpressure. */
function harness(options: WatchHubOptions = {}) {
  const store = new MvccStore();
  const got = new Map<number, WatchResponse[]>();
  const saturated = new Set<number>();
  // Responses a watcher's consumer takes before it saturates (absent = unlimited), like a socket
  // buffer: the response is accepted and the sink returns false once the credit is used up.
  const credits = new Map<number, number>();
  // Watchers whose sink said "saturated" and that were not resumed since: the hub must not send.
  const blocked = new Set<number>();
  const violations: string[] = [];
  const hub = new WatchHub(
    store,
    (resp) => {
      let list = got.get(resp.watchId);
      if (!list) got.set(resp.watchId, (list = []));
      list.push(resp);
      if (blocked.has(resp.watchId) && !resp.canceled) violations.push(`sent to stalled watcher ${resp.watchId}`);
      const credit = (credits.get(resp.watchId) ?? Number.POSITIVE_INFINITY) - 1;
      credits.set(resp.watchId, credit);
      if (saturated.has(resp.watchId) || credit <= 0) {
        blocked.add(resp.watchId);
        return false;
      }
      return true;
    },
    options,
  );
  const resume = (id: number, credit = Number.POSITIVE_INFINITY) => {
    blocked.delete(id);
    credits.set(id, credit);
    hub.resume(id);
  };
  const put = (key: string, value: string) => store.apply({ type: 'put', key: b(key), value: b(value) });
  const del = (key: string) => store.apply({ type: 'deleteRange', key: b(key) });
  const events = (id: number) =>
    (got.get(id) ?? []).flatMap((r) => r.events.map((e) => `${e.type} ${text(e.kv.key)}@${e.kv.modRevision}`));
  return { store, hub, got, saturated, put, del, events, resume, violations };
}

test('watch: live put/delete events with prev_kv, filters, single key and prefix', () => {
  const h = harness();
  h.put('/registry/pods/a', 'v0'); // rev 2
  const single = h.hub.watch({ key: b('/registry/pods/a'), prevKv: true });
  const prefix = h.hub.watch({ key: b('/registry/pods/'), rangeEnd: prefixRangeEnd(b('/registry/pods/')) });
  const deletesOnly = h.hub.watch({ key: b('/registry/'), rangeEnd: b('/registry0'), filters: ['noPut'] });
  assert.deepEqual(h.got.get(single)![0], { watchId: single, header: { revision: 2 }, events: [], created: true });

  h.put('/registry/pods/a', 'v1'); // 3
  h.put('/registry/pods/b', 'v1'); // 4
  h.put('/registry/services/x', 's'); // 5
  h.del('/registry/pods/a'); // 6

  assert.deepEqual(h.events(single), ['put /registry/pods/a@3', 'delete /registry/pods/a@6']);
  assert.deepEqual(h.events(prefix), ['put /registry/pods/a@3', 'put /registry/pods/b@4', 'delete /registry/pods/a@6']);
  assert.deepEqual(h.events(deletesOnly), ['delete /registry/pods/a@6']);

  const [, update, deletion] = h.got.get(single)!;
  assert.equal(update!.header.revision, 3);
  const put = update!.events[0]!;
  assert.deepEqual(
    [put.kv.createRevision, put.kv.version, text(put.kv.value), text(put.prevKv!.value), put.prevKv!.version],
    [2, 2, 'v1', 'v0', 1],
  );
  const del = deletion!.events[0]!;
  assert.deepEqual([del.kv.createRevision, del.kv.version, del.kv.value.byteLength], [0, 0, 0]);
  assert.equal(text(del.prevKv!.value), 'v1');
  assert.equal(h.got.get(prefix)!.at(-1)!.events[0]!.prevKv, undefined, 'no prev_kv unless asked');

  assert.equal(h.hub.cancel(prefix), true);
  assert.equal(h.got.get(prefix)!.at(-1)!.canceled, true);
  h.put('/registry/pods/c', 'x');
  assert.equal(h.events(prefix).length, 3, 'canceled watchers get nothing more');
  assert.equal(h.hub.cancel(prefix), false);
});

test('watch: a txn is one revision, delivered whole and in sub-revision order', () => {
  const h = harness();
  const id = h.hub.watch({ key: b('k'), rangeEnd: b('l') });
  h.store.apply({
    type: 'txn',
    compare: [],
    success: [
      { type: 'put', key: b('k3'), value: b('x') },
      { type: 'put', key: b('k1'), value: b('x') },
      { type: 'put', key: b('k2'), value: b('x') },
    ],
    failure: [],
  });
  const resps = h.got.get(id)!.filter((r) => r.events.length > 0);
  assert.equal(resps.length, 1);
  assert.deepEqual(h.events(id), ['put k3@2', 'put k1@2', 'put k2@2']);
});

test('watch: catch-up from history, then live, in batches that never split a revision', () => {
  const h = harness({ maxEventsPerResponse: 4 });
  for (let i = 0; i < 5; i++) h.put(`a${i}`, 'x'); // revs 2..6
  h.store.apply({
    type: 'txn',
    compare: [],
    success: [0, 1, 2].map((i) => ({ type: 'put' as const, key: b(`t${i}`), value: b('x') })),
    failure: [],
  }); // rev 7: three events
  h.del('a0'); // 8
  const id = h.hub.watch({ key: b('\0'), rangeEnd: b('\0'), startRevision: 3 });
  h.put('live', 'x'); // 9
  assert.deepEqual(h.events(id), [
    'put a1@3',
    'put a2@4',
    'put a3@5',
    'put a4@6',
    'put t0@7',
    'put t1@7',
    'put t2@7',
    'delete a0@8',
    'put live@9',
  ]);
  const sizes = h.got
    .get(id)!
    .filter((r) => !r.created)
    .map((r) => r.events.length);
  assert.deepEqual(sizes, [4, 4, 1], 'rev 7 moved whole into the second batch');
  assert.equal(h.hub.isSynced(id), true);

  // A watcher starting in the future only sees revisions from its start.
  const future = h.hub.watch({ key: b('f'), startRevision: 11 });
  h.put('f', '1'); // 10
  h.put('f', '2'); // 11
  assert.deepEqual(h.events(future), ['put f@11']);
});

test('watch: starting below the compacted revision cancels with the compact revision', () => {
  const h = harness();
  for (let i = 0; i < 5; i++) h.put('k', `${i}`); // revs 2..6
  h.store.apply({ type: 'compact', revision: 4 });
  const late = h.hub.watch({ key: b('k'), startRevision: 3 });
  const resps = h.got.get(late)!;
  assert.equal(resps[0]!.created, true);
  assert.deepEqual(resps[1], {
    watchId: late,
    header: { revision: 6 },
    events: [],
    canceled: true,
    cancelReason: 'etcdserver: mvcc: required revision has been compacted',
    compactRevision: 4,
  });
  h.put('k', 'later');
  assert.equal(resps.length, 2);

  const atCompaction = h.hub.watch({ key: b('k'), startRevision: 4, prevKv: true });
  assert.deepEqual(h.events(atCompaction), ['put k@4', 'put k@5', 'put k@6', 'put k@7']);
  const evs = h.got.get(atCompaction)!.flatMap((r) => r.events);
  assert.equal(evs[0]!.prevKv, undefined, 'prev_kv of the compacted revision is gone');
  assert.equal(text(evs[1]!.prevKv!.value), '2');
});

test('watch: a slow watcher buffers, falls behind to unsynced, catches up on resume; writes never wait', () => {
  const h = harness({ maxBufferedEvents: 3 });
  const slow = h.hub.watch({ key: b('s/'), rangeEnd: b('s0') });
  const fast = h.hub.watch({ key: b('s/'), rangeEnd: b('s0') });
  h.saturated.add(slow);
  h.put('s/1', 'x'); // 2: delivered, sink says saturated
  for (let i = 2; i <= 4; i++) h.put(`s/${i}`, 'x'); // 3..5 buffered (3 events)
  assert.deepEqual(h.hub.stats(), { synced: 2, unsynced: 0, stalled: 1, bufferedEvents: 3 });
  assert.equal(h.hub.progress(slow), false, 'no progress while events are pending');
  h.put('s/5', 'x'); // 6 overflows: buffer dropped, slow goes unsynced from rev 3
  assert.deepEqual(h.hub.stats(), { synced: 1, unsynced: 1, stalled: 1, bufferedEvents: 0 });
  for (let i = 6; i <= 9; i++) h.put(`s/${i}`, 'x'); // 7..10
  assert.equal(h.events(slow).length, 1);
  assert.equal(h.hub.syncUnsynced(), 1, 'stalled watchers are not synced');

  h.saturated.delete(slow);
  h.resume(slow);
  assert.deepEqual(h.events(slow), h.events(fast));
  assert.equal(h.events(fast).length, 9);
  assert.equal(h.hub.isSynced(slow), true);
  h.put('s/10', 'x');
  assert.deepEqual(h.events(slow), h.events(fast));
  assert.equal(h.hub.progress(slow), true);
  assert.deepEqual(h.got.get(slow)!.at(-1), { watchId: slow, header: { revision: 11 }, events: [] });
});

test('watch: a watcher that fell behind past a compaction is canceled as compacted', () => {
  const h = harness({ maxBufferedEvents: 1 });
  const slow = h.hub.watch({ key: b('k'), progressNotify: true });
  h.saturated.add(slow);
  h.put('k', '1'); // 2 delivered, now saturated
  h.put('k', '2'); // 3 buffered
  h.put('k', '3'); // 4 overflow → unsynced from 3
  h.store.apply({ type: 'compact', revision: 4 });
  assert.equal(h.hub.progressNotifyAll(), 0);
  h.saturated.delete(slow);
  h.resume(slow);
  const last = h.got.get(slow)!.at(-1)!;
  assert.equal(last.canceled, true);
  assert.equal(last.compactRevision, 4);
  assert.equal(h.hub.stats().unsynced, 0);
});

test('watch: a snapshot restore re-syncs watchers from the restored history', () => {
  const h = harness();
  const other = new MvccStore();
  for (let i = 0; i < 4; i++) {
    const req: EtcdRequest = { type: 'put', key: b(`k${i}`), value: b('x') };
    h.store.apply(req);
    other.apply(req);
  }
  const id = h.hub.watch({ key: b('k'), rangeEnd: b('l') });
  other.apply({ type: 'put', key: b('k9'), value: b('y') }); // rev 6, only in the snapshot
  other.apply({ type: 'deleteRange', key: b('k0') }); // 7
  h.store.restoreFrom(other.serialize());
  assert.deepEqual(h.events(id), ['put k9@6', 'delete k0@7']);
  h.put('k5', 'z');
  assert.deepEqual(h.events(id).at(-1), 'put k5@8');
});

test('watch property: random writes and slow/fast watchers get exactly their events, in order', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) runWatchProperty(seed);
});

function runWatchProperty(seed: number): void {
  const rnd = new SeededRandom(seed);
  const h = harness({
    maxBufferedEvents: 1 + rnd.int(0, 6),
    maxEventsPerResponse: 1 + rnd.int(0, 5),
    maxScanPerSync: 1 + rnd.int(0, 20),
    maxResponseBytes: 60 + rnd.int(0, 300),
  });
  // The reference stream: every committed record, straight from the store.
  const committed: KvRecord[] = [];
  h.store.subscribe({ committed: (_rev, records) => committed.push(...records) });
  const keyName = (): string => `k/${rnd.int(0, 12).toString().padStart(2, '0')}`;
  const slowness = new Map<number, number>();
  const specs = new Map<number, { lo: string; hi: string; start: number; noPut: boolean; noDelete: boolean }>();
  const cancels = new Map<number, number>();
  let leaseId = 0;

  const addWatcher = () => {
    const a = keyName();
    const c = keyName();
    const [lo, hi] = a < c ? [a, c] : [c, a];
    const single = rnd.next() < 0.3;
    const start = rnd.next() < 0.5 ? 0 : rnd.int(1, h.store.revision + 3);
    const filter = rnd.int(0, 4);
    const id = h.hub.watch({
      key: b(lo),
      ...(single ? {} : { rangeEnd: b(hi) }),
      startRevision: start,
      prevKv: rnd.next() < 0.5,
      fragment: rnd.next() < 0.5,
      filters: filter === 1 ? ['noPut'] : filter === 2 ? ['noDelete'] : [],
    });
    specs.set(id, {
      lo,
      hi: single ? `${lo}\0` : hi,
      start: start === 0 ? h.store.revision + 1 : start,
      noPut: filter === 1,
      noDelete: filter === 2,
    });
    slowness.set(id, rnd.next() < 0.5 ? rnd.next() * 0.8 : 0);
  };

  for (let step = 0; step < 400; step++) {
    const r = rnd.next();
    if (r < 0.05 && specs.size < 12) addWatcher();
    else if (r < 0.45) h.put(keyName(), `v${step}`);
    else if (r < 0.55) h.del(keyName());
    else if (r < 0.62) {
      const a = keyName();
      h.store.apply({ type: 'deleteRange', key: b(a), rangeEnd: b(`${a}~`) });
    } else if (r < 0.7) {
      const keys = [...new Set([keyName(), keyName(), keyName()])];
      h.store.apply({
        type: 'txn',
        compare: [],
        success: keys.map((k) => ({ type: 'put' as const, key: b(k), value: b(`t${step}`) })),
        failure: [],
      });
    } else if (r < 0.75) {
      const id = ++leaseId;
      h.store.apply({ type: 'leaseGrant', id, ttl: 10 });
      h.store.apply({ type: 'put', key: b(keyName()), value: b('leased'), lease: id });
      h.store.apply({ type: 'put', key: b(keyName()), value: b('leased'), lease: id });
      h.store.apply({ type: 'leaseRevoke', id });
    } else if (r < 0.76 && h.store.revision - 20 > h.store.compactRevision) {
      h.store.apply({ type: 'compact', revision: h.store.revision - 20 });
    } else if (r < 0.9) {
      for (const [id, p] of slowness) {
        if (rnd.next() < p) h.saturated.add(id);
        else {
          h.saturated.delete(id);
          h.resume(id, p > 0 ? rnd.int(1, 5) : Number.POSITIVE_INFINITY);
        }
      }
    } else h.hub.syncUnsynced();
    for (const id of specs.keys()) {
      const last = h.got.get(id)?.at(-1);
      if (last?.canceled && !cancels.has(id)) cancels.set(id, last.compactRevision ?? -1);
    }
  }
  // Drain: everyone becomes fast and catches up.
  h.saturated.clear();
  for (const id of specs.keys()) h.resume(id);
  assert.deepEqual(h.violations, [], `seed ${seed}: backpressure honoured`);
  for (let i = 0; i < 1000 && h.hub.syncUnsynced() > 0; i++);
  assert.equal(h.hub.stats().unsynced, 0, `seed ${seed}: all caught up`);

  for (const [id, spec] of specs) {
    const expected = committed
      .filter(
        (rec) =>
          rec.modRevision >= spec.start &&
          rec.owner.key >= spec.lo &&
          rec.owner.key < spec.hi &&
          !(rec.isTombstone ? spec.noDelete : spec.noPut),
      )
      .map((rec) => `${rec.isTombstone ? 'delete' : 'put'} ${rec.owner.key}@${rec.modRevision}`);
    const resps = h.got.get(id)!;
    const received = h.events(id);
    const canceled = resps.find((r) => r.canceled);
    if (canceled) {
      // Compacted: a gap-free prefix, and the next needed revision really was compacted.
      assert.deepEqual(received, expected.slice(0, received.length), `seed ${seed} watcher ${id}`);
      const lastRev = Number((received.at(-1) ?? `@${spec.start - 1}`).split('@')[1]);
      assert.ok(canceled.compactRevision! > Math.max(lastRev + 1, spec.start), `seed ${seed} watcher ${id}`);
    } else {
      assert.deepEqual(received, expected, `seed ${seed} watcher ${id}`);
    }
    // No response splits a revision, except fragments: one revision each, joined to the next.
    const logical: WatchResponse[] = [];
    let joining: WatchResponse | undefined;
    for (const r of resps) {
      if (r.fragment) assert.equal(new Set(r.events.map((e) => e.kv.modRevision)).size, 1);
      if (joining) joining.events.push(...r.events);
      else logical.push((joining = { ...r, events: [...r.events] }));
      if (!r.fragment) joining = undefined;
    }
    const perRevision = new Map<number, number>();
    for (const r of logical) {
      const revs = new Set(r.events.map((e) => e.kv.modRevision));
      for (const rev of revs) perRevision.set(rev, (perRevision.get(rev) ?? 0) + 1);
    }
    for (const [rev, n] of perRevision) assert.equal(n, 1, `seed ${seed} watcher ${id} rev ${rev} split`);
  }
}

test('watch: explicit ids, duplicate ids, progress notify hook, bad requests, re-entrant writes refused', () => {
  const h = harness();
  const a = h.hub.watch({ key: b('a'), watchId: 7, progressNotify: true });
  assert.equal(a, 7);
  assert.throws(
    () => h.hub.watch({ key: b('a'), watchId: 7 }),
    (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ErrWatcherDuplicateID',
  );
  assert.equal(h.hub.watch({ key: b('b') }), 0);
  const quiet = h.hub.watch({ key: b('c') });
  assert.throws(() => h.hub.watch({ key: new Uint8Array(0) }), /key is not provided/);
  assert.throws(() => h.hub.watch({ key: b('a'), filters: ['noFoo' as 'noPut'] }), /filters/);
  assert.throws(() => h.hub.watch({ key: b('a'), startRevision: -1 }), /startRevision/);

  h.put('x', '1');
  assert.equal(h.hub.progressNotifyAll(), 1, 'only watchers created with progressNotify');
  assert.deepEqual(h.got.get(a)!.at(-1), { watchId: 7, header: { revision: 2 }, events: [] });
  assert.equal(h.got.get(quiet)!.length, 1, 'just the created response');
  assert.equal(h.hub.progress(999), false);

  // A sink that writes back into the store is refused, and the watcher is dropped, not the write.
  const store = new MvccStore();
  const dropped: number[] = [];
  const hub = new WatchHub(
    store,
    (resp) => {
      if (resp.events.length > 0) store.apply({ type: 'put', key: b('echo'), value: b('1') });
      return true;
    },
    { onSinkError: (id, err) => dropped.push(id) && assert.match(String(err), /commit notification/) },
  );
  const w = hub.watch({ key: b('k') });
  store.apply({ type: 'put', key: b('k'), value: b('v') });
  assert.deepEqual(dropped, [w]);
  assert.equal(store.revision, 2);
  assert.equal(store.get(b('echo')), undefined);
});

test('watch: fragment splits a revision too big for one response; others get it whole', () => {
  // Each put event here counts 48 + 3 + 100 bytes: two fit in 400, a 5-key revision needs 3 responses.
  const h = harness({ maxResponseBytes: 400 });
  const value = 'x'.repeat(100);
  const keys = ['f/1', 'f/2', 'f/3', 'f/4', 'f/5'];
  for (const k of keys) h.put(k, value); // revs 2..6
  const fragmented = h.hub.watch({ key: b('f/'), rangeEnd: b('f0'), fragment: true });
  const whole = h.hub.watch({ key: b('f/'), rangeEnd: b('f0') });
  const pastFragmented = h.hub.watch({ key: b('f/'), rangeEnd: b('f0'), fragment: true, startRevision: 7 });
  h.store.apply({
    type: 'txn',
    compare: [],
    success: keys.map((k) => ({ type: 'put' as const, key: b(k), value: b(value) })),
    failure: [],
  }); // rev 7: five puts
  const shape = (id: number) =>
    h.got
      .get(id)!
      .filter((r) => r.events.length > 0)
      .map((r) => `${r.events.length}${r.fragment ? '+' : ''}`);
  assert.deepEqual(shape(fragmented), ['2+', '2+', '1']);
  assert.deepEqual(shape(whole), ['5']);
  assert.deepEqual(shape(pastFragmented), ['2+', '2+', '1']);

  // Catch-up from history splits the same way, and small revisions are batched up to the bound.
  const catchUp = h.hub.watch({ key: b('f/'), rangeEnd: b('f0'), fragment: true, startRevision: 2 });
  assert.deepEqual(shape(catchUp), ['2', '2', '1', '2+', '2+', '1']);
  assert.deepEqual(
    h.events(catchUp).slice(-5),
    keys.map((k) => `put ${k}@7`),
  );
});

test('watch: a stalled fragment watcher gets a revision’s fragments together, so falling behind never repeats one', () => {
  const h = harness({ maxResponseBytes: 400, maxBufferedEvents: 6 });
  const id = h.hub.watch({ key: b('f/'), rangeEnd: b('f0'), fragment: true });
  h.saturated.add(id);
  h.put('f/0', 'x'); // rev 2: delivered; the consumer is now saturated
  h.store.apply({
    type: 'txn',
    compare: [],
    success: [1, 2, 3, 4, 5].map((i) => ({ type: 'put' as const, key: b(`f/${i}`), value: b('y'.repeat(100)) })),
    failure: [],
  }); // rev 3: buffered as three fragments
  h.saturated.delete(id);
  h.resume(id, 1); // room for one response: the rest of rev 3 still goes with it
  for (let i = 6; i < 14; i++) h.put(`f/${i}`, 'z'); // buffer, then overflow to unsynced
  h.resume(id);
  const expected = ['put f/0@2', ...[1, 2, 3, 4, 5].map((i) => `put f/${i}@3`)];
  for (let i = 6; i < 14; i++) expected.push(`put f/${i}@${i - 2}`);
  assert.deepEqual(h.events(id), expected);
});
