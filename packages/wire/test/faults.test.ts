import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminServer, ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import { WireBadFaultRuleError } from '../src/errors.js';
import { registerFaultRoutes } from '../src/fault-routes.js';
import { FaultTable, PASS, parseFaultRule } from '../src/faults.js';

function table(seed = 1) {
  const runtime = new ManualRuntime(1_000_000);
  return { runtime, faults: new FaultTable({ runtime, random: new SeededRandom(seed) }) };
}

test('an empty table affects no link', () => {
  const { faults } = table();
  assert.equal(faults.forLink('etcd/etcd-0', 'etcd/etcd-1'), null);
});

test('peer patterns select links by remote identity; block drops both directions and all frames', () => {
  const { faults } = table();
  const v0 = faults.version;
  faults.add({ action: 'block', peers: ['etcd/etcd-1'], ttlMs: 1000 });
  assert.ok(faults.version > v0);
  const link = faults.forLink('etcd/etcd-0', 'etcd/etcd-1');
  assert.ok(link);
  assert.equal(link.decide('in', undefined).drop, true);
  assert.equal(link.decide('out', 'raft.append').drop, true);
  assert.equal(faults.forLink('etcd/etcd-0', 'etcd/etcd-2'), null);
  faults.add({ action: 'drop', peers: ['kubelet/*'], ttlMs: 1000 });
  assert.ok(faults.forLink('x/y', 'kubelet/worker-1'));
  assert.equal(faults.forLink('x/y', 'kube-proxy/worker-1'), null);
});

test('direction and method filters narrow a rule', () => {
  const { faults } = table();
  faults.add({ action: 'drop', peers: ['*'], methods: ['raft.*'], direction: 'out', ttlMs: 1000 });
  const link = faults.forLink('etcd/etcd-0', 'etcd/etcd-1');
  assert.ok(link);
  assert.equal(link.needsMethod, true);
  assert.equal(link.decide('out', 'raft.append').drop, true);
  assert.equal(link.decide('in', 'raft.append'), PASS);
  assert.equal(link.decide('out', 'kv.range'), PASS);
  assert.equal(link.decide('out', undefined), PASS, 'frames without a method (ping) never match a method rule');
});

test('delay and duplicate combine; drop wins', () => {
  const { faults } = table();
  faults.add({ action: 'delay', delayMs: 50, ttlMs: 1000 });
  faults.add({ action: 'delay', delayMs: 80, direction: 'in', ttlMs: 1000 });
  faults.add({ action: 'duplicate', methods: ['raft.*'], ttlMs: 1000 });
  const link = faults.forLink('a/a', 'b/b');
  assert.ok(link);
  assert.deepEqual({ ...link.decide('in', 'raft.x') }, { drop: false, duplicate: true, delayMs: 80 });
  assert.deepEqual({ ...link.decide('out', 'kv.put') }, { drop: false, duplicate: false, delayMs: 50 });
  faults.add({ action: 'drop', methods: ['kv.*'], ttlMs: 1000 });
  assert.equal(faults.forLink('a/a', 'b/b')?.decide('out', 'kv.put').drop, true);
});

test('stream frames only feel link cuts and order-keeping delays', () => {
  const { faults } = table();
  faults.add({ action: 'drop', methods: ['watch'], ttlMs: 1000 });
  faults.add({ action: 'duplicate', ttlMs: 1000 });
  faults.add({ action: 'delay', delayMs: 30, probability: 0.5, ttlMs: 1000 });
  const link = faults.forLink('a/a', 'b/b');
  assert.ok(link);
  assert.equal(link.decide('in', 'watch', true), PASS, 'no loss, duplication or reordering inside a stream');
  assert.equal(link.decide('in', 'watch', false).drop, true);
  faults.add({ action: 'delay', delayMs: 40, ttlMs: 1000 });
  assert.equal(faults.forLink('a/a', 'b/b')?.decide('out', 'watch', true).delayMs, 40);
  faults.add({ action: 'block', peers: ['b/b'], ttlMs: 1000 });
  assert.equal(faults.forLink('a/a', 'b/b')?.decide('out', 'watch', true).drop, true);
});

test('a partition blocks links between the sets both ways and nothing else', () => {
  const { faults } = table();
  faults.add({ action: 'partition', a: ['etcd/etcd-0'], b: ['etcd/etcd-1', 'etcd/etcd-2'], ttlMs: 1000 });
  assert.equal(faults.forLink('etcd/etcd-0', 'etcd/etcd-1')?.decide('out', undefined).drop, true);
  assert.equal(faults.forLink('etcd/etcd-2', 'etcd/etcd-0')?.decide('in', undefined).drop, true);
  assert.equal(faults.forLink('etcd/etcd-1', 'etcd/etcd-2'), null, 'same side stays connected');
  assert.equal(faults.forLink('kube-apiserver/a', 'etcd/etcd-0'), null, 'outsiders are unaffected');
});

test('probability draws from the injected Random: same seed, same losses', () => {
  const decisions = (seed: number) => {
    const { faults } = table(seed);
    faults.add({ action: 'drop', probability: 0.3, ttlMs: 1000 });
    const link = faults.forLink('a/a', 'b/b');
    assert.ok(link);
    return Array.from({ length: 2000 }, () => link.decide('out', 'm').drop);
  };
  const first = decisions(42);
  assert.deepEqual(decisions(42), first);
  const dropped = first.filter(Boolean).length;
  assert.ok(dropped > 450 && dropped < 750, `expected about 600 of 2000 dropped, got ${dropped}`);
  assert.notDeepEqual(decisions(43), first);
});

test('every rule heals at its ttl; remove and clear heal early', () => {
  const { runtime, faults } = table();
  const a = faults.add({ action: 'block', peers: ['b/b'], ttlMs: 500 });
  faults.add({ action: 'drop', ttlMs: 2000 });
  assert.equal(a.expiresAt, 1_000_500);
  assert.equal(faults.list().find((r) => r.id === a.id)?.expiresInMs, 500);
  runtime.advance(499);
  assert.equal(faults.size, 2);
  runtime.advance(1);
  assert.equal(faults.size, 1);
  assert.equal(
    faults.list().some((r) => r.id === a.id),
    false,
  );
  const c = faults.add({ action: 'duplicate', ttlMs: 10_000 });
  assert.equal(faults.remove(c.id), true);
  assert.equal(faults.remove(c.id), false);
  faults.add({ action: 'drop', ttlMs: 10_000 });
  assert.equal(faults.clear(), 2);
  assert.equal(faults.forLink('a/a', 'b/b'), null);
  assert.equal(runtime.pendingTimers(), 0, 'removed rules leave no timers behind');
});

test('invalid rules are refused with a message saying what is wrong', () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /JSON object/],
    [[], /JSON object/],
    [{ action: 'drop' }, /ttlMs is required/],
    [{ action: 'drop', ttlMs: 0 }, /ttlMs/],
    [{ action: 'drop', ttlMs: 1e12 }, /ttlMs/],
    [{ action: 'explode', ttlMs: 10 }, /action must be one of/],
    [{ action: 'drop', ttlMs: 10, peers: [] }, /peers must be a non-empty array/],
    [{ action: 'drop', ttlMs: 10, peers: ['a/b', 3] }, /peers entries/],
    [{ action: 'drop', ttlMs: 10, direction: 'up' }, /direction/],
    [{ action: 'drop', ttlMs: 10, probability: 0 }, /probability/],
    [{ action: 'drop', ttlMs: 10, probability: 1.5 }, /probability/],
    [{ action: 'delay', ttlMs: 10 }, /delayMs/],
    [{ action: 'drop', ttlMs: 10, delayMs: 5 }, /delayMs only applies/],
    [{ action: 'block', ttlMs: 10, methods: ['raft.*'] }, /block takes only peers/],
    [{ action: 'drop', ttlMs: 10, peer: ['a/b'] }, /unknown field "peer"/],
    [{ action: 'partition', ttlMs: 10, a: ['x/y'] }, /b must be a non-empty array/],
    [{ action: 'partition', ttlMs: 10, a: ['x/y'], b: ['z/w'], peers: ['q/q'] }, /unknown field "peers"/],
  ];
  for (const [rule, expected] of cases) {
    assert.throws(
      () => parseFaultRule(rule),
      (err: unknown) =>
        err instanceof WireBadFaultRuleError && err.code === 'WIRE_BAD_FAULT_RULE' && expected.test(err.message),
      JSON.stringify(rule),
    );
  }
});

test('admin routes add, list, remove and heal fault rules, and refuse bad ones with 400', async (t) => {
  const { faults } = table();
  const admin = new AdminServer(silentLogger(), { defaultMetrics: false });
  registerFaultRoutes(admin, faults);
  const { port } = await admin.listen(0);
  t.after(() => admin.close());
  const base = `http://127.0.0.1:${port}/faults`;
  const post = (body: string) => fetch(base, { method: 'POST', body });

  const created = await post(JSON.stringify({ action: 'partition', a: ['etcd/etcd-0'], b: ['etcd/*'], ttlMs: 5000 }));
  assert.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  assert.match(id, /^f\d+$/);
  await post(JSON.stringify({ action: 'drop', peers: ['kubelet/*'], methods: ['node.*'], ttlMs: 5000 }));

  const listed = (await (await fetch(base)).json()) as { rules: Array<{ id: string; expiresInMs: number }> };
  assert.equal(listed.rules.length, 2);
  assert.equal(listed.rules[0]?.id, id);
  assert.equal(listed.rules[0]?.expiresInMs, 5000);

  const badRule = await post(JSON.stringify({ action: 'drop' }));
  assert.equal(badRule.status, 400);
  assert.match(((await badRule.json()) as { error: string }).error, /bad fault rule: ttlMs is required/);
  assert.equal((await post('{not json')).status, 400);
  assert.equal((await fetch(base, { method: 'POST' })).status, 400);

  const del = await fetch(`${base}?id=${id}`, { method: 'DELETE' });
  assert.deepEqual(await del.json(), { removed: 1 });
  assert.equal((await fetch(`${base}?id=${id}`, { method: 'DELETE' })).status, 404);
  assert.deepEqual(await (await fetch(base, { method: 'DELETE' })).json(), { removed: 1 });
  assert.equal(faults.size, 0);
});
