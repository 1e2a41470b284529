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

/**
 * The definition, by brute force: some order of all operations that respects real time (an operation
 * that returned before another was called comes first) and that the model accepts step by step.
 * Exponential, so only for a handful of operations; it shares nothing with the checker but `step`.
 */
function bruteForce<S, I, O>(model: Model<S, I, O>, history: History<I, O>): 'ok' | 'illegal' {
  // Partitioning is part of the model's specification (per-key revisions are per key), not an
  // optimisation, so the oracle applies it too.
  const parts = model.partition ? model.partition(history) : [history];
  return parts.every((part) => bruteForcePart(model, part) === 'ok') ? 'ok' : 'illegal';
}

function bruteForcePart<S, I, O>(model: Model<S, I, O>, history: History<I, O>): 'ok' | 'illegal' {
  const n = history.length;
  const done = new Array<boolean>(n).fill(false);
  const search = (state: S, placed: number): boolean => {
    if (placed === n) return true;
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const op = history[i]!;
      // Every operation still unplaced must not have returned before this one was called.
      if (history.some((other, j) => !done[j] && j !== i && other.return < op.call)) continue;
      const step = model.step(state, op.input, op.output);
      if (!step.ok) continue;
      done[i] = true;
      const found = search(step.state, placed + 1);
      done[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(model.init(), 0) ? 'ok' : 'illegal';
}

test('register: the checker agrees with brute force on small random histories', () => {
  const model = registerModel(0);
  let illegal = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const history = simulateRegister({ seed, clients: 3, opsPerClient: 3, unknownRate: 0.25 });
    const random = seededRandom(seed);
    const written = [0, ...history.flatMap((o) => (o.input.type === 'write' ? [o.input.value] : []))];
    const victim = history[Math.floor(random() * history.length)]!;
    const mutated = history.map((o) =>
      o === victim && o.input.type === 'read' && o.output !== UNKNOWN
        ? { ...o, output: { value: written[Math.floor(random() * written.length)]! } }
        : o,
    );
    for (const h of [history, mutated]) {
      const expected = bruteForce(model, h);
      assert.equal(check(model, h).result, expected, `seed ${seed}`);
      if (expected === 'illegal') illegal++;
    }
  }
  assert.ok(illegal > 30, `only ${illegal} illegal histories`);
});

test('etcd KV: the checker agrees with brute force on small random histories', () => {
  for (const revisions of ['ignore', 'per-key', 'global'] as const) {
    const model = etcdKvModel({ revisions });
    let illegal = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const history = simulateKv({ seed, clients: 3, opsPerClient: 3, keys: 2, unknownRate: 0.25 });
      const random = seededRandom(seed);
      const values = [null, ...history.flatMap((o) => (o.input.type === 'put' ? [o.input.value] : []))];
      const victim = history[Math.floor(random() * history.length)]!;
      const mutated = history.map((o): Operation<KvInput, KvOutput> => {
        if (o !== victim || o.output === UNKNOWN) return o;
        if (o.input.type === 'delete') return { ...o, output: { ...o.output, deleted: 1 - (o.output.deleted ?? 0) } };
        if (o.input.type === 'txn') return { ...o, output: { ...o.output, succeeded: !o.output.succeeded } };
        if (o.input.type === 'put') return { ...o, output: { revision: Math.floor(random() * 10) } };
        return { ...o, output: { ...o.output, value: values[Math.floor(random() * values.length)] ?? null } };
      });
      for (const h of [history, mutated]) {
        const expected = bruteForce(model, h);
        assert.equal(check(model, h).result, expected, `${revisions} seed ${seed}`);
        if (expected === 'illegal') illegal++;
      }
    }
    assert.ok(illegal > 20, `${revisions}: only ${illegal} illegal histories`);
  }
});
