import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKemuError } from '@kemu/runtime';
import { type Compare, isReadOnly, MvccStore, type RequestOp, type TxnResponse, utf8 } from '../src/mvcc/index.js';

const b = utf8;
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

function txn(store: MvccStore, compare: Compare[], success: RequestOp[], failure: RequestOp[] = []): TxnResponse {
  return store.apply({ type: 'txn', compare, success, failure });
}

const putOp = (key: string, value: string): RequestOp => ({ type: 'put', key: b(key), value: b(value) });

test('txn: compare-and-swap on mod_revision, as the apiserver updates objects', () => {
  const s = new MvccStore();
  const key = '/registry/pods/default/web-1';
  s.apply({ type: 'put', key: b(key), value: b('v1') }); // rev 2
  const cas = (expectedMod: number, value: string) =>
    txn(
      s,
      [{ key: b(key), target: 'mod', result: 'equal', modRevision: expectedMod }],
      [putOp(key, value)],
      [{ type: 'range', key: b(key) }],
    );

  const ok = cas(2, 'v2');
  assert.equal(ok.succeeded, true);
  assert.equal(ok.header.revision, 3);
  assert.equal(ok.responses[0]!.type, 'put');

  const stale = cas(2, 'v3');
  assert.equal(stale.succeeded, false);
  assert.equal(stale.header.revision, 3, 'the failure branch only read');
  const current = stale.responses[0]!;
  assert.equal(current.type, 'range');
  assert.equal(current.type === 'range' && text(current.kvs[0]!.value), 'v2');

  // Create-if-absent: create_revision = 0 of a missing key.
  const create = (k: string) =>
    txn(s, [{ key: b(k), target: 'create', result: 'equal', createRevision: 0 }], [putOp(k, 'x')]);
  assert.equal(create('/new').succeeded, true);
  assert.equal(create('/new').succeeded, false);
});

test('txn: every compare target and result, over a key and over a range', () => {
  const s = new MvccStore();
  s.apply({ type: 'leaseGrant', id: 5, ttl: 30 });
  s.apply({ type: 'put', key: b('r/a'), value: b('m'), lease: 5 }); // rev 2
  s.apply({ type: 'put', key: b('r/b'), value: b('m') }); // rev 3
  s.apply({ type: 'put', key: b('r/b'), value: b('n') }); // rev 4
  const holds = (c: Compare): boolean => txn(s, [c], []).succeeded;
  const k = b('r/b');

  assert.equal(holds({ key: k, target: 'version', result: 'equal', version: 2 }), true);
  assert.equal(holds({ key: k, target: 'version', result: 'greater', version: 1 }), true);
  assert.equal(holds({ key: k, target: 'version', result: 'less', version: 2 }), false);
  assert.equal(holds({ key: k, target: 'create', result: 'equal', createRevision: 3 }), true);
  assert.equal(holds({ key: k, target: 'mod', result: 'notEqual', modRevision: 3 }), true);
  assert.equal(holds({ key: k, target: 'value', result: 'equal', value: b('n') }), true);
  assert.equal(holds({ key: k, target: 'value', result: 'greater', value: b('m') }), true);
  assert.equal(holds({ key: k, target: 'value', result: 'less', value: b('m') }), false);
  assert.equal(holds({ key: b('r/a'), target: 'lease', result: 'equal', lease: 5 }), true);
  assert.equal(holds({ key: k, target: 'lease', result: 'equal', lease: 0 }), true);

  // Absent key: zero version/revisions/lease; a value compare is false.
  const none = b('r/none');
  assert.equal(holds({ key: none, target: 'version', result: 'equal', version: 0 }), true);
  assert.equal(holds({ key: none, target: 'mod', result: 'equal', modRevision: 0 }), true);
  assert.equal(holds({ key: none, target: 'value', result: 'notEqual', value: b('x') }), false);

  // Range compares: every key must satisfy.
  const range = { key: b('r/'), rangeEnd: b('r0') };
  assert.equal(holds({ ...range, target: 'value', result: 'equal', value: b('m') }), false);
  assert.equal(holds({ ...range, target: 'version', result: 'greater', version: 0 }), true);
  assert.equal(holds({ ...range, target: 'mod', result: 'less', modRevision: 4 }), false);
  assert.equal(holds({ ...range, target: 'mod', result: 'less', modRevision: 5 }), true);
  assert.equal(s.revision, 4);
});

test('txn: all writes share one revision with increasing sub-revisions; reads see earlier writes', () => {
  const s = new MvccStore();
  s.apply({ type: 'put', key: b('gone'), value: b('x') }); // rev 2
  const resp = txn(
    s,
    [],
    [
      putOp('a', '1'),
      { type: 'deleteRange', key: b('gone'), prevKv: true },
      putOp('b', '2'),
      { type: 'range', key: b('a'), rangeEnd: b('c') },
      { type: 'range', key: b('gone'), revision: 2 },
    ],
  );
  assert.equal(resp.header.revision, 3);
  const [, del, , readNow, readPast] = resp.responses;
  assert.equal(del?.type === 'deleteRange' && del.deleted, 1);
  assert.ok(readNow?.type === 'range');
  assert.deepEqual(
    readNow.kvs.map((kv) => [text(kv.key), kv.modRevision]),
    [
      ['a', 3],
      ['b', 3],
    ],
  );
  assert.ok(readPast?.type === 'range');
  assert.equal(text(readPast.kvs[0]!.value), 'x');
  assert.equal(s.revision, 3);
});

test('txn: nested txns choose branches from the pre-txn state', () => {
  const s = new MvccStore();
  s.apply({ type: 'put', key: b('flag'), value: b('on') }); // rev 2
  const resp = txn(
    s,
    [{ key: b('flag'), target: 'value', result: 'equal', value: b('on') }],
    [
      { type: 'put', key: b('flag'), value: b('off') },
      {
        type: 'txn',
        // Sees "on": the outer put is not visible to compares.
        compare: [{ key: b('flag'), target: 'value', result: 'equal', value: b('on') }],
        success: [putOp('inner', 'saw-on')],
        failure: [putOp('inner', 'saw-off')],
      },
    ],
  );
  assert.equal(resp.succeeded, true);
  const inner = resp.responses[1]!;
  assert.ok(inner.type === 'txn' && inner.succeeded);
  assert.equal(text(s.get(b('inner'))!.value), 'saw-on');
  assert.equal(s.get(b('inner'))!.modRevision, 3);
});

test('txn: duplicate keys, overlapping deletes and too many ops are rejected before any write', () => {
  const s = new MvccStore({ maxTxnOps: 3 });
  const code = (fn: () => unknown, c: string) => assert.throws(fn, (e: unknown) => isKemuError(e, c));
  code(() => txn(s, [], [putOp('a', '1'), putOp('a', '2')]), 'ErrDuplicateKey');
  code(
    () => txn(s, [], [putOp('a/1', '1'), { type: 'deleteRange', key: b('a/'), rangeEnd: b('a0') }]),
    'ErrDuplicateKey',
  );
  code(
    () => txn(s, [], [putOp('a', '1'), { type: 'txn', compare: [], success: [putOp('a', '2')], failure: [] }]),
    'ErrDuplicateKey',
  );
  // The two branches of a nested txn are alternatives and may write the same key.
  txn(s, [], [{ type: 'txn', compare: [], success: [putOp('a', '1')], failure: [putOp('a', '2')] }]);
  code(() => txn(s, [], [putOp('x', '1'), putOp('y', '1'), putOp('z', '1'), putOp('w', '1')]), 'ErrTooManyOps');
  // A failing check deep in the chosen path aborts the whole txn.
  code(() => txn(s, [], [putOp('p', '1'), { type: 'put', key: b('q'), value: b('1'), lease: 42 }]), 'ErrLeaseNotFound');
  code(() => txn(s, [], [putOp('p', '1'), { type: 'range', key: b('p'), revision: 99 }]), 'ErrFutureRev');
  assert.equal(s.get(b('p')), undefined);
  assert.equal(s.revision, 2);
});

test('isReadOnly: ranges and txns that only read may skip Raft', () => {
  const range: RequestOp = { type: 'range', key: b('a') };
  assert.equal(isReadOnly(range), true);
  assert.equal(isReadOnly({ type: 'txn', compare: [], success: [range], failure: [range] }), true);
  assert.equal(
    isReadOnly({
      type: 'txn',
      compare: [],
      success: [range],
      failure: [{ type: 'txn', compare: [], success: [], failure: [putOp('a', '1')] }],
    }),
    false,
  );
  assert.equal(isReadOnly({ type: 'compact', revision: 1 }), false);
  assert.equal(isReadOnly(putOp('a', '1')), false);
});
