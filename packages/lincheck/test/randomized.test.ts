import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  check,
  etcdKvModel,
  explain,
  type KvInput,
  type KvOutput,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  registerModel,
  UNKNOWN,
} from '../src/index.js';
import { seededRandom, simulateKv, simulateRegister } from '../src/sim.js';

type RegOp = Operation<RegisterInput<number>, RegisterOutput<number>>;
type KvOp = Operation<KvInput, KvOutput>;

const known = (o: { output: unknown }): boolean => o.output !== UNKNOWN;

function pick<T>(random: () => number, items: T[]): T | undefined {
  return items[Math.floor(random() * items.length)];
}

/**
 * A read R and the value of a write W such that another write W2 completed after W completed and
 * before R was called: R may not see W's value (every write writes a value of its own).
 */
function staleCandidates<O extends { call: number; return: number }>(
  reads: O[],
  writes: O[],
): Array<{ read: O; write: O }> {
  const out: Array<{ read: O; write: O }> = [];
  for (const read of reads) {
    for (const write of writes) {
      const overwritten = writes.some((w2) => w2 !== write && w2.call > write.return && w2.return < read.call);
      if (overwritten) out.push({ read, write });
    }
  }
  return out;
}

test('register: simulated linearizable histories are accepted; one corrupted read is rejected', () => {
  const model = registerModel(0);
  for (let seed = 1; seed <= 20; seed++) {
    const history = simulateRegister({ seed, clients: 8, opsPerClient: 40, unknownRate: 0.05 });
    const result = check(model, history, { timeoutMs: 20_000 });
    assert.equal(result.result, 'ok', `seed ${seed}\n${explain(result, model)}`);

    const random = seededRandom(seed * 7919);
    const reads = history.filter((o) => o.input.type === 'read' && known(o));
    const writes = history.filter((o) => o.input.type === 'write' && known(o));

    const bogus = pick(random, reads)!;
    const neverWritten = history.map((o) => (o === bogus ? { ...o, output: { value: -1 } } : o));
    assert.equal(check(model, neverWritten).result, 'illegal', `seed ${seed}: never-written value accepted`);

    const stale = pick(random, staleCandidates(reads, writes));
    if (stale === undefined) continue;
    const value = (stale.write.input as { value: number }).value;
    const staleHistory = history.map((o): RegOp => (o === stale.read ? { ...o, output: { value } } : o));
    const staleResult = check(model, staleHistory);
    assert.equal(staleResult.result, 'illegal', `seed ${seed}: stale read of ${value} accepted`);
    assert.equal(staleResult.partitions[0]?.stuck === undefined, false);
  }
});

test('etcd KV: simulated linearizable histories are accepted; one corrupted get is rejected', () => {
  for (const revisions of ['per-key', 'ignore'] as const) {
    const model = etcdKvModel({ revisions });
    for (let seed = 1; seed <= 8; seed++) {
      const history = simulateKv({ seed, clients: 8, opsPerClient: 60, keys: 3, unknownRate: 0.05 });
      const result = check(model, history, { timeoutMs: 20_000 });
      assert.equal(result.result, 'ok', `${revisions} seed ${seed}\n${explain(result, model)}`);

      const random = seededRandom(seed * 104729);
      const gets = history.filter((o) => o.input.type === 'get' && known(o));
      const bogus = pick(random, gets)!;
      const corrupted = history.map((o): KvOp => (o === bogus ? { ...o, output: { value: 'never-written' } } : o));
      const bad = check(model, corrupted);
      assert.equal(bad.result, 'illegal', `${revisions} seed ${seed}: never-written value accepted`);
      assert.equal(bad.partitions.find((p) => p.result === 'illegal')?.label, `key "${bogus.input.key}"`);

      const staleOnKey = [...new Set(history.map((o) => o.input.key))].flatMap((key) =>
        staleCandidates(
          gets.filter((o) => o.input.key === key),
          history.filter((o) => o.input.type === 'put' && o.input.key === key && known(o)),
        ),
      );
      const stale = pick(random, staleOnKey);
      if (stale === undefined) continue;
      const value = (stale.write.input as { value: string }).value;
      const staleHistory = history.map((o): KvOp => (o === stale.read ? { ...o, output: { value } } : o));
      assert.equal(check(model, staleHistory).result, 'illegal', `${revisions} seed ${seed}: stale get accepted`);
    }
  }
});

test('etcd KV with global revisions: small simulated histories are accepted, a stale revision is not', () => {
  const model = etcdKvModel({ revisions: 'global' });
  for (let seed = 1; seed <= 5; seed++) {
    const history = simulateKv({ seed, clients: 4, opsPerClient: 12, keys: 3 });
    const result = check(model, history, { timeoutMs: 20_000 });
    assert.equal(result.result, 'ok', `seed ${seed}\n${explain(result, model)}`);
    // A get that reports a header revision below a write that completed before it was called.
    const writes = history.filter((o) => o.input.type === 'put');
    const gets = history.filter((o) => o.input.type === 'get');
    const target = gets.find((g) => writes.some((w) => w.return < g.call && (w.output as KvOutput).revision! > 1));
    if (target === undefined) continue;
    const before = Math.max(
      ...writes.filter((w) => w.return < target.call).map((w) => (w.output as KvOutput).revision!),
    );
    const corrupted = history.map(
      (o): KvOp =>
        o === target
          ? { ...o, output: { ...(o.output as KvOutput), revision: before - 1, modRevision: undefined } }
          : o,
    );
    assert.equal(check(model, corrupted).result, 'illegal', `seed ${seed}`);
  }
});
