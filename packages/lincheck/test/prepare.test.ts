import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  check,
  etcdKvModel,
  type History,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
  registerModel,
  UNKNOWN,
} from '../src/index.js';
import { seededRandom, simulateKv, simulateRegister } from '../src/sim.js';
import { lost, op } from './helpers.js';

/** The verdict with and without the model's `prepare`: they must agree (it only simplifies). */
function bothWays<S, I, O>(model: Model<S, I, O>, history: History<I, O>): [string, string] {
  const raw: Model<S, I, O> = { ...model, prepare: undefined };
  return [check(model, history).result, check(raw, history).result];
}

test('register: preparing unknown-outcome operations never changes the verdict', () => {
  const model = registerModel(0);
  let illegal = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const history = simulateRegister({ seed, clients: 4, opsPerClient: 6, unknownRate: 0.35 });
    const random = seededRandom(seed);
    const written = history.flatMap((o) => (o.input.type === 'write' ? [o.input.value] : []));
    // Corrupt one known read to some value that was written (sometimes still legal, often not).
    const reads = history.filter((o) => o.input.type === 'read' && o.output !== UNKNOWN);
    const victim = reads[Math.floor(random() * reads.length)];
    const value = written[Math.floor(random() * written.length)] ?? 0;
    const mutated = history.map((o) => (o === victim ? { ...o, output: { value } } : o));
    for (const h of [history, mutated]) {
      const [prepared, raw] = bothWays(model, h);
      assert.equal(prepared, raw, `seed ${seed}`);
      if (raw === 'illegal') illegal++;
    }
  }
  assert.ok(illegal > 10, `only ${illegal} illegal histories: the property was barely exercised`);
});

test('etcd KV: preparing unknown-outcome operations never changes the verdict', () => {
  for (const revisions of ['ignore', 'per-key'] as const) {
    const model = etcdKvModel({ revisions });
    let illegal = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const history = simulateKv({ seed, clients: 4, opsPerClient: 6, keys: 1, unknownRate: 0.35 });
      const random = seededRandom(seed);
      const values = [null, ...history.flatMap((o) => (o.input.type === 'put' ? [o.input.value] : []))];
      const known = history.filter((o) => o.output !== UNKNOWN && o.input.type !== 'put');
      const victim = known[Math.floor(random() * known.length)];
      const mutated = history.map((o): Operation<KvInput, KvOutput> => {
        if (o !== victim || o.output === UNKNOWN) return o;
        if (o.input.type === 'delete') return { ...o, output: { deleted: 1 - (o.output.deleted ?? 0) } };
        if (o.input.type === 'txn') return { ...o, output: { ...o.output, succeeded: !o.output.succeeded } };
        return { ...o, output: { value: values[Math.floor(random() * values.length)] ?? null } };
      });
      for (const h of [history, mutated]) {
        const [prepared, raw] = bothWays(model, h);
        assert.equal(prepared, raw, `${revisions} seed ${seed}`);
        if (raw === 'illegal') illegal++;
      }
    }
    assert.ok(illegal > 10, `${revisions}: only ${illegal} illegal histories`);
  }
});

test('an unknown put is kept when a later compare could only fail because of it', () => {
  const model = etcdKvModel();
  const history: Operation<KvInput, KvOutput>[] = [
    op('a', { type: 'put', key: 'x', value: '0' }, { revision: 2 }, 0, 1),
    lost('b', { type: 'put', key: 'x', value: 'B' }, 2),
    op(
      'c',
      { type: 'txn', key: 'x', compare: { target: 'value', value: '0' }, onSuccess: { type: 'put', value: 'C' } },
      { succeeded: false, revision: 3 },
      10,
      11,
    ),
  ];
  assert.deepEqual(bothWays(model, history), ['ok', 'ok']);
  const prepared = model.prepare!(history);
  assert.equal(prepared.length, 3);
});

test('an unknown put nobody observed is dropped, an observed one is bounded by the first read', () => {
  const model = etcdKvModel();
  const unseen = lost<KvInput, KvOutput>('a', { type: 'put', key: 'x', value: 'A' }, 0);
  const seen = lost<KvInput, KvOutput>('b', { type: 'put', key: 'x', value: 'B' }, 0);
  const read = op<KvInput, KvOutput>('c', { type: 'get', key: 'x' }, { value: 'B' }, 5, 7);
  const lostGet = lost<KvInput, KvOutput>('d', { type: 'get', key: 'x' }, 0);
  const prepared = model.prepare!([unseen, seen, read, lostGet]);
  assert.deepEqual(
    prepared.map((o) => [o.clientId, o.return]),
    [
      ['b', 7],
      ['c', 7],
    ],
  );
});
