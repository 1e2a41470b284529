#!/usr/bin/env node
// Benchmarks the checker on simulated histories (linearizable by construction) and on the same
// histories with one read corrupted to a stale value (not linearizable: the search must exhaust).
// Build first: `npx tsc -b packages/lincheck && node packages/lincheck/scripts/bench.mjs`.
import { check, etcdKvModel, registerModel, UNKNOWN } from '../dist/src/index.js';
import { seededRandom, simulateKv, simulateRegister } from '../dist/src/sim.js';

const rows = [];

function corruptStale(history, isRead, isWrite, writtenValue, setRead, sameKey = () => true) {
  const known = (o) => o.output !== UNKNOWN;
  const reads = history.filter((o) => isRead(o) && known(o));
  const writes = history.filter((o) => isWrite(o) && known(o));
  const random = seededRandom(99);
  for (let tries = 0; tries < 200; tries++) {
    const read = reads[Math.floor(random() * reads.length)];
    const ws = writes.filter((w) => sameKey(w, read) && w.return < read.call);
    const w = ws.find((w1) => ws.some((w2) => w2 !== w1 && w2.call > w1.return));
    if (w) return history.map((o) => (o === read ? setRead(o, writtenValue(w)) : o));
  }
  return undefined;
}

function run(name, model, history, clients) {
  const parts = model.partition ? model.partition(history).length : 1;
  const r = check(model, history, { timeoutMs: 10_000 });
  rows.push({
    case: name,
    ops: history.length,
    clients,
    partitions: parts,
    unknown: history.filter((o) => o.output === UNKNOWN).length,
    verdict: r.result,
    steps: r.steps,
    ms: Math.round(r.elapsedMs),
  });
}

for (const [clients, perClient] of [
  [8, 250],
  [16, 250],
  [16, 500],
]) {
  // 2% of operations lose their outcome (timeouts); all values are unique, as etcd tests make them.
  const model = registerModel(0);
  const h = simulateRegister({ seed: clients * perClient, clients, opsPerClient: perClient, unknownRate: 0.02 });
  run('register ok', model, h, clients);
  const bad = corruptStale(
    h,
    (o) => o.input.type === 'read',
    (o) => o.input.type === 'write',
    (w) => w.input.value,
    (o, value) => ({ ...o, output: { value } }),
  );
  if (bad) run('register stale read', model, bad, clients);
}

for (const [clients, perClient, keys, revisions, unknownRate] of [
  [8, 500, 4, 'per-key', 0.02],
  [16, 500, 4, 'per-key', 0.02],
  [16, 1000, 8, 'per-key', 0.02],
  [16, 1000, 8, 'ignore', 0.02],
  [16, 100, 1, 'per-key', 0],
  [16, 100, 1, 'per-key', 0.02],
  [8, 100, 1, 'ignore', 0],
  [4, 50, 3, 'global', 0.02],
]) {
  const model = etcdKvModel({ revisions });
  const h = simulateKv({ seed: clients * perClient + keys, clients, opsPerClient: perClient, keys, unknownRate });
  run(`kv ${revisions} ${keys === 1 ? 'hot key ' : ''}${unknownRate ? '2% lost ' : ''}ok`, model, h, clients);
  const bad = corruptStale(
    h,
    (o) => o.input.type === 'get',
    (o) => o.input.type === 'put',
    (w) => w.input.value,
    (o, value) => ({ ...o, output: { value } }),
    (w, r) => w.input.key === r.input.key,
  );
  if (bad)
    run(
      `kv ${revisions} ${keys === 1 ? 'hot key ' : ''}${unknownRate ? '2% lost ' : ''}stale get`,
      model,
      bad,
      clients,
    );
}

console.table(rows);
