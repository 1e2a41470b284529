import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  check,
  etcdKvModel,
  explain,
  type KvCompare,
  type KvInput,
  type KvOutput,
  type KvRequest,
  type KvRevisionMode,
  type Operation,
} from '../src/index.js';
import { lost, op } from './helpers.js';

type Op = Operation<KvInput, KvOutput>;
const put = (c: string, key: string, value: string, out: KvOutput, call: number, ret: number): Op =>
  op(c, { type: 'put', key, value }, out, call, ret);
const get = (c: string, key: string, out: KvOutput, call: number, ret: number): Op =>
  op(c, { type: 'get', key }, out, call, ret);
const del = (c: string, key: string, out: KvOutput, call: number, ret: number): Op =>
  op(c, { type: 'delete', key }, out, call, ret);
const txn = (
  c: string,
  key: string,
  compare: KvCompare,
  onSuccess: KvRequest | undefined,
  onFailure: KvRequest | undefined,
  out: KvOutput,
  call: number,
  ret: number,
): Op => op(c, { type: 'txn', key, compare, onSuccess, onFailure }, out, call, ret);

function verdict(history: Op[], revisions: KvRevisionMode = 'per-key'): string {
  return check(etcdKvModel({ revisions }), history).result;
}

test('an acknowledged put followed by a get of the old value is a stale read', () => {
  const history = [put('a', 'x', '1', { revision: 2 }, 0, 10), get('b', 'x', { value: null, revision: 1 }, 20, 30)];
  for (const mode of ['ignore', 'per-key', 'global'] as const) assert.equal(verdict(history, mode), 'illegal', mode);
});

test('put, get, delete and get again in sequence are linearizable', () => {
  const history = [
    get('a', 'x', { value: null, revision: 1 }, 0, 1),
    put('a', 'x', '1', { revision: 2 }, 2, 3),
    get('b', 'x', { value: '1', modRevision: 2, revision: 2 }, 4, 5),
    del('b', 'x', { deleted: 1, revision: 3 }, 6, 7),
    del('a', 'x', { deleted: 0, revision: 3 }, 8, 9),
    get('a', 'x', { value: null, revision: 3 }, 10, 11),
  ];
  for (const mode of ['ignore', 'per-key', 'global'] as const) assert.equal(verdict(history, mode), 'ok', mode);
});

test('a delete that reports the wrong count is rejected', () => {
  assert.equal(verdict([del('a', 'x', { deleted: 1 }, 0, 1)]), 'illegal');
  assert.equal(verdict([put('a', 'x', '1', {}, 0, 1), del('a', 'x', { deleted: 0 }, 2, 3)]), 'illegal');
});

test('concurrent puts may be read in either order by overlapping gets, but not in both', () => {
  const puts = [put('w1', 'x', '1', {}, 0, 100), put('w2', 'x', '2', {}, 0, 100)];
  assert.equal(verdict([...puts, get('c', 'x', { value: '1' }, 10, 30), get('d', 'x', { value: '2' }, 10, 30)]), 'ok');
  assert.equal(verdict([...puts, get('c', 'x', { value: '2' }, 10, 30), get('d', 'x', { value: '1' }, 10, 30)]), 'ok');
  const bothOrders = [
    ...puts,
    get('c', 'x', { value: '1' }, 10, 20),
    get('c', 'x', { value: '2' }, 30, 40),
    get('d', 'x', { value: '2' }, 10, 20),
    get('d', 'x', { value: '1' }, 30, 40),
  ];
  assert.equal(verdict(bothOrders), 'illegal');
});

test('a get that goes back in time after another client saw the newer value is rejected', () => {
  const history = [
    put('a', 'x', '1', {}, 0, 10),
    put('b', 'x', '2', {}, 20, 100),
    get('c', 'x', { value: '2' }, 30, 40),
    get('d', 'x', { value: '1' }, 50, 60),
  ];
  assert.equal(verdict(history), 'illegal');
});

test('a put of unknown outcome may be observed later, or never', () => {
  const lostPut = lost<KvInput, KvOutput>('a', { type: 'put', key: 'x', value: '1' }, 0);
  assert.equal(verdict([lostPut, get('b', 'x', { value: null }, 5, 6), get('b', 'x', { value: '1' }, 90, 91)]), 'ok');
  assert.equal(verdict([lostPut, get('b', 'x', { value: null }, 5, 6), get('b', 'x', { value: null }, 90, 91)]), 'ok');
  // ...but not observed and then lost again.
  const flicker = [lostPut, get('b', 'x', { value: '1' }, 5, 6), get('b', 'x', { value: null }, 90, 91)];
  assert.equal(verdict(flicker), 'illegal');
});

test('a put of unknown outcome teaches the model its revision when a get reports it', () => {
  const lostPut = lost<KvInput, KvOutput>('a', { type: 'put', key: 'x', value: '1' }, 0);
  const history = [
    lostPut,
    get('b', 'x', { value: '1', modRevision: 7, revision: 9 }, 10, 11),
    get('c', 'x', { value: '1', modRevision: 8, revision: 9 }, 20, 21),
  ];
  assert.equal(verdict(history), 'illegal');
  assert.equal(verdict(history, 'ignore'), 'ok');
});

test('CAS race: of two overlapping creates only one can succeed', () => {
  const create = (c: string, value: string, succeeded: boolean, call: number, ret: number): Op =>
    txn(c, 'x', { target: 'value', value: null }, { type: 'put', value }, { type: 'get' }, { succeeded }, call, ret);
  assert.equal(verdict([create('a', '1', true, 0, 10), create('b', '2', true, 5, 15)]), 'illegal');
  assert.equal(verdict([create('a', '1', true, 0, 10), create('b', '2', false, 5, 15)]), 'ok');
  assert.equal(verdict([create('a', '1', false, 0, 10), create('b', '2', true, 5, 15)]), 'ok');
  // Neither may fail when nothing else could have created the key.
  assert.equal(verdict([create('a', '1', false, 0, 10), create('b', '2', false, 5, 15)]), 'illegal');
});

test('CAS race: the loser of a compare on value sees the winner in its failure branch', () => {
  const cas = (c: string, value: string, out: KvOutput, call: number, ret: number): Op =>
    txn(c, 'x', { target: 'value', value: '0' }, { type: 'put', value }, { type: 'get' }, out, call, ret);
  const base = put('init', 'x', '0', {}, 0, 1);
  assert.equal(
    verdict([base, cas('a', 'A', { succeeded: true }, 2, 10), cas('b', 'B', { succeeded: false, value: 'A' }, 3, 11)]),
    'ok',
  );
  assert.equal(
    verdict([base, cas('a', 'A', { succeeded: true }, 2, 10), cas('b', 'B', { succeeded: false, value: '0' }, 3, 11)]),
    'illegal',
  );
});

test('a compare on mod_revision follows the revisions puts reported (Kubernetes GuaranteedUpdate)', () => {
  const update = (c: string, rev: number, out: KvOutput, call: number, ret: number): Op =>
    txn(
      c,
      'x',
      { target: 'mod_revision', modRevision: rev },
      { type: 'put', value: c },
      { type: 'get' },
      out,
      call,
      ret,
    );
  const base = put('init', 'x', '0', { revision: 7 }, 0, 1);
  assert.equal(verdict([base, update('a', 7, { succeeded: true, revision: 8 }, 2, 3)]), 'ok');
  assert.equal(verdict([base, update('a', 6, { succeeded: true, revision: 8 }, 2, 3)]), 'illegal');
  assert.equal(
    verdict([
      base,
      update('a', 7, { succeeded: true, revision: 8 }, 2, 10),
      update('b', 7, { succeeded: false, value: 'a', modRevision: 8, revision: 8 }, 3, 11),
    ]),
    'ok',
  );
  // With revisions ignored, the reported outcome is taken at its word.
  assert.equal(verdict([base, update('a', 6, { succeeded: true }, 2, 3)], 'ignore'), 'ok');
});

test('a txn of unknown outcome may have applied its success branch, or not', () => {
  const base = put('init', 'x', '0', {}, 0, 1);
  const lostCas = lost<KvInput, KvOutput>(
    'a',
    { type: 'txn', key: 'x', compare: { target: 'value', value: '0' }, onSuccess: { type: 'put', value: 'A' } },
    2,
  );
  assert.equal(verdict([base, lostCas, get('b', 'x', { value: 'A' }, 50, 51)]), 'ok');
  assert.equal(verdict([base, lostCas, get('b', 'x', { value: '0' }, 50, 51)]), 'ok');
  assert.equal(verdict([base, lostCas, get('b', 'x', { value: 'B' }, 50, 51)]), 'illegal');
});

test('per-key: revisions must grow along a key, and a get sees the revision of the put it reads', () => {
  assert.equal(
    verdict([put('a', 'x', '1', { revision: 5 }, 0, 1), put('a', 'x', '2', { revision: 5 }, 2, 3)]),
    'illegal',
  );
  assert.equal(
    verdict([put('a', 'x', '1', { revision: 5 }, 0, 1), get('b', 'x', { value: '1', modRevision: 4 }, 2, 3)]),
    'illegal',
  );
  assert.equal(
    verdict([get('a', 'x', { value: null, revision: 9 }, 0, 1), get('b', 'x', { value: null, revision: 8 }, 2, 3)]),
    'illegal',
  );
  assert.equal(
    verdict([
      put('a', 'x', '1', { revision: 5 }, 0, 1),
      get('b', 'x', { value: '1', modRevision: 5, revision: 4 }, 2, 3),
    ]),
    'illegal',
  );
  assert.equal(
    verdict([put('a', 'x', '1', { revision: 5 }, 0, 1), put('a', 'x', '2', { revision: 5 }, 2, 3)], 'ignore'),
    'ok',
  );
});

test('keys are checked independently, and the report names the failing key', () => {
  const history = [
    put('a', 'x', '1', {}, 0, 10),
    put('b', 'y', '1', {}, 0, 10),
    get('c', 'x', { value: '1' }, 20, 30),
    get('d', 'y', { value: null }, 20, 30),
  ];
  const model = etcdKvModel();
  const result = check(model, history);
  assert.equal(result.result, 'illegal');
  const bad = result.partitions.filter((p) => p.result === 'illegal');
  assert.deepEqual(
    bad.map((p) => p.label),
    ['key "y"'],
  );
  assert.match(explain(result, model), /get y returned absent, but y is "1"/);
});

test('global revisions: a get at revision r must not miss a write below r on another key', () => {
  const history = [put('a', 'x', '1', { revision: 5 }, 0, 10), get('b', 'y', { value: null, revision: 4 }, 20, 30)];
  assert.equal(verdict(history, 'per-key'), 'ok');
  assert.equal(verdict(history, 'global'), 'illegal');
  const fine = [put('a', 'x', '1', { revision: 5 }, 0, 10), get('b', 'y', { value: null, revision: 5 }, 20, 30)];
  assert.equal(verdict(fine, 'global'), 'ok');
});
