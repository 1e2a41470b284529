import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKemuError } from '@kemu/runtime';
import {
  type KeyValue,
  MvccStore,
  prefixRangeEnd,
  type RangeRequest,
  type RangeResponse,
  utf8,
} from '../src/mvcc/index.js';

const b = utf8;
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

function put(store: MvccStore, key: string, value: string, extra: { lease?: number; prevKv?: boolean } = {}) {
  return store.apply({ type: 'put', key: b(key), value: b(value), ...extra });
}

function get(store: MvccStore, key: string, revision = 0): KeyValue | undefined {
  return store.get(b(key), revision);
}

function keys(resp: RangeResponse): string[] {
  return resp.kvs.map((kv) => text(kv.key));
}

function range(store: MvccStore, req: Omit<RangeRequest, 'type' | 'key'> & { key: string; end?: string }) {
  const { key, end, ...rest } = req;
  return store.range({ type: 'range', key: b(key), ...(end === undefined ? {} : { rangeEnd: b(end) }), ...rest });
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => isKemuError(err, code));
}

test('revisions: put a, put a, delete a, put a gives versions 1, 2, tombstone, 1 (etcd semantics)', () => {
  const s = new MvccStore();
  assert.equal(s.revision, 1, 'an empty store is at revision 1');

  assert.equal(put(s, 'a', 'v1').header.revision, 2);
  assert.deepEqual(pick(get(s, 'a')), { createRevision: 2, modRevision: 2, version: 1, value: 'v1' });

  const second = put(s, 'a', 'v2', { prevKv: true });
  assert.equal(second.header.revision, 3);
  assert.equal(text(second.prevKv!.value), 'v1');
  assert.deepEqual(pick(get(s, 'a')), { createRevision: 2, modRevision: 3, version: 2, value: 'v2' });

  const del = s.apply({ type: 'deleteRange', key: b('a'), prevKv: true });
  assert.equal(del.header.revision, 4);
  assert.equal(del.deleted, 1);
  assert.equal(text(del.prevKvs![0]!.value), 'v2');
  assert.equal(get(s, 'a'), undefined);

  put(s, 'a', 'v3');
  assert.deepEqual(pick(get(s, 'a')), { createRevision: 5, modRevision: 5, version: 1, value: 'v3' });

  // History stays readable at each past revision.
  assert.deepEqual(pick(get(s, 'a', 2)), { createRevision: 2, modRevision: 2, version: 1, value: 'v1' });
  assert.deepEqual(pick(get(s, 'a', 3)), { createRevision: 2, modRevision: 3, version: 2, value: 'v2' });
  assert.equal(get(s, 'a', 4), undefined);
  assert.equal(get(s, 'a', 1), undefined);

  // Deleting nothing and read-only requests do not bump the revision.
  assert.equal(s.apply({ type: 'deleteRange', key: b('nope') }).deleted, 0);
  assert.equal(s.revision, 5);
  assert.equal(
    s.apply({ type: 'txn', compare: [], success: [{ type: 'range', key: b('a') }], failure: [] }).header.revision,
    5,
  );
  assert.equal(s.revision, 5);
});

function pick(kv: KeyValue | undefined) {
  if (!kv) return undefined;
  return { createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, value: text(kv.value) };
}

test('ranges: prefix, interval, \\0 end, limit/more/count, count_only, keys_only, byte order', () => {
  const s = new MvccStore();
  for (const name of ['web-3', 'web-1', 'web-2']) put(s, `/registry/pods/default/${name}`, name);
  put(s, '/registry/pods/kube-system/dns', 'dns');
  put(s, '/registry/services/default/web', 'svc');
  put(s, '/registry/pods0', 'after-prefix'); // '0' sorts right after '/'
  s.apply({ type: 'put', key: new Uint8Array([0x2f, 0xff]), value: b('high-byte') });

  const pods = s.range({ type: 'range', key: b('/registry/pods/'), rangeEnd: prefixRangeEnd(b('/registry/pods/')) });
  assert.deepEqual(keys(pods), [
    '/registry/pods/default/web-1',
    '/registry/pods/default/web-2',
    '/registry/pods/default/web-3',
    '/registry/pods/kube-system/dns',
  ]);
  assert.equal(pods.count, 4);
  assert.equal(pods.more, false);
  assert.equal(pods.header.revision, 8);

  const limited = s.range({
    type: 'range',
    key: b('/registry/pods/'),
    rangeEnd: prefixRangeEnd(b('/registry/pods/')),
    limit: 2,
  });
  assert.deepEqual(keys(limited), ['/registry/pods/default/web-1', '/registry/pods/default/web-2']);
  assert.equal(limited.more, true);
  assert.equal(limited.count, 4, 'count is the total in range, not the page');
  const exact = range(s, { key: '/registry/pods/', end: '/registry/pods0', limit: 4 });
  assert.equal(exact.more, false);

  const interval = range(s, { key: '/registry/pods/default/web-2', end: '/registry/services/' });
  assert.deepEqual(keys(interval), [
    '/registry/pods/default/web-2',
    '/registry/pods/default/web-3',
    '/registry/pods/kube-system/dns',
    '/registry/pods0',
  ]);

  const all = s.range({ type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
  assert.equal(all.count, 7);
  assert.deepEqual(all.kvs.at(-1)!.key, new Uint8Array([0x2f, 0xff]), 'unsigned byte order: 0xff sorts last');
  const fromServices = s.range({ type: 'range', key: b('/registry/services/'), rangeEnd: new Uint8Array([0]) });
  assert.deepEqual(keys(fromServices).slice(0, 1), ['/registry/services/default/web']);
  assert.equal(fromServices.count, 2);

  const countOnly = range(s, { key: '/registry/', end: '/registry0', countOnly: true });
  assert.equal(countOnly.count, 6);
  assert.deepEqual(countOnly.kvs, []);

  const keysOnly = range(s, { key: '/registry/services/', end: '/registry/services0', keysOnly: true });
  assert.equal(keysOnly.kvs[0]!.value.byteLength, 0);
  assert.equal(keysOnly.kvs[0]!.version, 1);

  assert.deepEqual(keys(range(s, { key: '/registry/z', end: '/registry/a' })), [], 'end before key is empty');
  expectCode(() => s.range({ type: 'range', key: new Uint8Array(0) }), 'ErrEmptyKey');
  assert.throws(() => s.range({ type: 'range', key: new Uint8Array(0) }), /etcdserver: key is not provided/);
});

test('ranges at past revisions, filters and sorting', () => {
  const s = new MvccStore();
  put(s, 'k1', 'a'); // rev 2
  put(s, 'k2', 'b'); // rev 3
  put(s, 'k1', 'c'); // rev 4
  s.apply({ type: 'deleteRange', key: b('k2') }); // rev 5
  put(s, 'k3', 'a'); // rev 6

  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', revision: 3 })), ['k1', 'k2']);
  assert.equal(text(range(s, { key: 'k', end: 'l', revision: 3 }).kvs[0]!.value), 'a');
  assert.equal(range(s, { key: 'k', end: 'l', revision: 3 }).header.revision, 6, 'header is the current revision');
  assert.deepEqual(keys(range(s, { key: 'k', end: 'l' })), ['k1', 'k3']);
  expectCode(() => range(s, { key: 'k', end: 'l', revision: 7 }), 'ErrFutureRev');
  assert.throws(() => range(s, { key: 'k', revision: 7 }), /required revision is a future revision/);

  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', minModRevision: 5 })), ['k3']);
  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', maxCreateRevision: 2 })), ['k1']);
  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', minCreateRevision: 3 })), ['k3']);
  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', maxModRevision: 4 })), ['k1']);

  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', sortOrder: 'descend' })), ['k3', 'k1']);
  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', sortTarget: 'version', sortOrder: 'descend' })), ['k1', 'k3']);
  assert.deepEqual(keys(range(s, { key: 'k', end: 'l', sortTarget: 'mod', sortOrder: 'descend', limit: 1 })), ['k3']);
  const byValue = range(s, { key: 'k', end: 'l', sortTarget: 'value', limit: 1 });
  assert.deepEqual(keys(byValue), ['k3'], 'value "a" < "c"; a non-key target sorts ascending by default');
  assert.equal(byValue.more, true);
});

test('compaction keeps the latest version of live keys and fails older reads with ErrCompacted', () => {
  const s = new MvccStore();
  put(s, 'a', '1'); // 2
  put(s, 'a', '2'); // 3
  put(s, 'b', '1'); // 4
  s.apply({ type: 'deleteRange', key: b('b') }); // 5
  put(s, 'c', '1'); // 6
  put(s, 'a', '3'); // 7

  assert.equal(s.apply({ type: 'compact', revision: 6 }).header.revision, 7);
  assert.equal(s.compactRevision, 6);
  assert.equal(s.indexedKeys, 2, 'b was deleted before 6: its history is gone');
  assert.deepEqual(keys(range(s, { key: 'a', end: 'z', revision: 6 })), ['a', 'c']);
  assert.equal(text(get(s, 'a', 6)!.value), '2');
  assert.equal(text(get(s, 'a')!.value), '3');
  assert.equal(get(s, 'a')!.version, 3, 'version survives compaction');

  for (const rev of [1, 5]) {
    assert.throws(
      () => range(s, { key: 'a', revision: rev }),
      (err: unknown) =>
        isKemuError(err, 'ErrCompacted') &&
        /required revision has been compacted/.test((err as Error).message) &&
        (err as { compactRevision?: number }).compactRevision === 6,
    );
  }
  expectCode(() => s.apply({ type: 'compact', revision: 6 }), 'ErrCompacted');
  expectCode(() => s.apply({ type: 'compact', revision: 8 }), 'ErrFutureRev');
  s.apply({ type: 'compact', revision: 7 });
  assert.equal(text(get(s, 'a', 7)!.value), '3');
  assert.equal(text(get(s, 'c', 7)!.value), '1');
});

test('bad requests get typed errors and leave the store unchanged', () => {
  const s = new MvccStore();
  put(s, 'a', '1');
  const before = s.hash();
  const bad: unknown[] = [
    null,
    { type: 'frobnicate' },
    { type: 'put', key: 'a-string', value: b('x') },
    { type: 'put', key: b('a') },
    { type: 'range', key: b('a'), limit: -1 },
    { type: 'range', key: b('a'), sortOrder: 'sideways' },
    { type: 'txn', compare: [{ key: b('a'), target: 'version', result: 'equal' }], success: [], failure: [] },
    { type: 'txn', compare: [], success: [{ type: 'compact', revision: 1 }], failure: [] },
  ];
  for (const req of bad) expectCode(() => s.apply(req as never), 'ErrInvalidRequest');
  expectCode(() => s.apply({ type: 'put', key: new Uint8Array(0), value: b('x') }), 'ErrEmptyKey');
  expectCode(() => s.apply({ type: 'put', key: b('a'), value: b('x'), lease: 99 }), 'ErrLeaseNotFound');
  expectCode(
    () => s.apply({ type: 'put', key: b('zz'), value: new Uint8Array(0), ignoreValue: true }),
    'ErrKeyNotFound',
  );
  expectCode(() => s.apply({ type: 'put', key: b('a'), value: b('x'), ignoreValue: true }), 'ErrValueProvided');
  expectCode(
    () => s.apply({ type: 'put', key: b('a'), value: b('x'), lease: 1, ignoreLease: true }),
    'ErrLeaseProvided',
  );
  assert.equal(s.hash(), before);
  assert.equal(s.revision, 2);
});

test('put ignore_value keeps the value, ignore_lease keeps the lease; stored bytes are private copies', () => {
  const s = new MvccStore();
  s.apply({ type: 'leaseGrant', id: 7, ttl: 60 });
  const value = b('original');
  s.apply({ type: 'put', key: b('k'), value, lease: 7 });
  value.fill(0x21); // the caller reusing its buffer must not change history
  assert.equal(text(get(s, 'k')!.value), 'original');

  s.apply({ type: 'put', key: b('k'), value: new Uint8Array(0), ignoreValue: true, lease: 0 });
  assert.equal(text(get(s, 'k')!.value), 'original');
  assert.equal(get(s, 'k')!.lease, 0);
  s.apply({ type: 'put', key: b('k'), value: b('new'), lease: 7 });
  s.apply({ type: 'put', key: b('k'), value: b('newer'), ignoreLease: true });
  assert.equal(get(s, 'k')!.lease, 7);
  assert.equal(get(s, 'k')!.version, 4);
});

test('adoptValues keeps the caller buffer (one copy shared with the Raft entry); without it the store copies', () => {
  const s = new MvccStore();
  const entry = b('xxshared-valuexx');
  const view = entry.subarray(2, 14);
  s.apply({ type: 'put', key: b('adopted'), value: view }, { adoptValues: true });
  s.apply({ type: 'put', key: b('copied'), value: view });
  assert.equal(get(s, 'adopted')!.value.buffer, entry.buffer);
  assert.notEqual(get(s, 'copied')!.value.buffer, entry.buffer);
  assert.equal(text(get(s, 'copied')!.value), 'shared-value');
  // The option lasts for one apply only.
  s.apply({ type: 'put', key: b('later'), value: view });
  assert.notEqual(get(s, 'later')!.value.buffer, entry.buffer);
  // A txn's puts adopt too.
  s.apply(
    { type: 'txn', compare: [], success: [{ type: 'put', key: b('in-txn'), value: view }], failure: [] },
    { adoptValues: true },
  );
  assert.equal(get(s, 'in-txn')!.value.buffer, entry.buffer);
});
