import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKemuError, type Random, SeededRandom } from '@kemu/runtime';
import { type EtcdRequest, type KeyValue, MvccStore, utf8 } from '../src/mvcc/index.js';

const b = utf8;

/** A random but valid-or-deliberately-invalid request stream over a small key space. */
function randomRequests(rnd: Random, count: number): EtcdRequest[] {
  const reqs: EtcdRequest[] = [];
  const key = () => b(`/registry/${['pods', 'svc', 'cm'][rnd.int(0, 3)]}/ns/${rnd.int(0, 15)}`);
  let nextLease = 1;
  let rev = 1; // a lower bound guess is enough: bad compacts are rejected and that is deterministic too
  for (let i = 0; i < count; i++) {
    const r = rnd.next();
    if (r < 0.4) {
      const lease = rnd.next() < 0.2 ? rnd.int(0, nextLease + 1) : 0;
      const value = new Uint8Array(rnd.int(0, 40)).map(() => rnd.int(0, 256));
      reqs.push({ type: 'put', key: key(), value, lease, prevKv: rnd.next() < 0.5 });
      rev++;
    } else if (r < 0.5) {
      reqs.push({ type: 'deleteRange', key: key(), ...(rnd.next() < 0.3 ? { rangeEnd: b('/registry/q') } : {}) });
    } else if (r < 0.7) {
      const k = key();
      reqs.push({
        type: 'txn',
        compare: [
          { key: k, target: 'version', result: rnd.next() < 0.5 ? 'greater' : 'equal', version: rnd.int(0, 3) },
        ],
        success: [
          { type: 'put', key: k, value: b(`s${i}`) },
          { type: 'range', key: b('/registry/'), rangeEnd: b('/registry0'), limit: 3 },
        ],
        failure: [{ type: 'deleteRange', key: b('/registry/cm/'), rangeEnd: b('/registry/cm0') }],
      });
      rev++;
    } else if (r < 0.78) {
      reqs.push({ type: 'leaseGrant', id: nextLease++, ttl: rnd.int(1, 100) });
    } else if (r < 0.84) {
      reqs.push({ type: 'leaseRevoke', id: rnd.int(1, nextLease + 1) });
    } else if (r < 0.87) {
      reqs.push({ type: 'compact', revision: Math.max(1, rev - rnd.int(0, 30)) });
    } else {
      reqs.push({ type: 'put', key: key(), value: new Uint8Array(0), ignoreValue: true });
    }
  }
  return reqs;
}

/** Applies a request; invalid ones must fail with a typed error, as on every member. */
function applyAll(store: MvccStore, reqs: EtcdRequest[]): string[] {
  return reqs.map((req) => {
    try {
      store.apply(req);
      return 'ok';
    } catch (err) {
      assert.ok(isKemuError(err), `untyped error ${String(err)}`);
      return err.code;
    }
  });
}

test('determinism: two stores applying the same random requests hold equal state and hash', () => {
  for (const seed of [11, 12, 13]) {
    const reqs = randomRequests(new SeededRandom(seed), 600);
    const a = new MvccStore();
    const c = new MvccStore();
    const outcomesA = applyAll(a, reqs);
    // The other member decodes its own copy of each entry.
    const outcomesC = applyAll(c, structuredClone(reqs));
    assert.deepEqual(outcomesA, outcomesC);
    assert.ok(outcomesA.includes('ok') && outcomesA.some((o) => o !== 'ok'), 'both paths exercised');
    assert.equal(a.hash(), c.hash());
    assert.deepEqual(a.serialize(), c.serialize());
    assert.deepEqual(a.hashKV(), c.hashKV());
  }
  const x = new MvccStore();
  const y = new MvccStore();
  applyAll(x, randomRequests(new SeededRandom(1), 100));
  applyAll(y, randomRequests(new SeededRandom(2), 100));
  assert.notEqual(x.hash(), y.hash(), 'different histories hash differently');
});

test('snapshot: serialize/restore round trip keeps history, leases and hash; both continue identically', () => {
  const reqs = randomRequests(new SeededRandom(7), 800);
  const original = new MvccStore();
  applyAll(original, reqs.slice(0, 500));
  const bytes = original.serialize();
  const restored = MvccStore.restore(bytes);
  assert.equal(restored.hash(), original.hash());
  assert.deepEqual(restored.serialize(), bytes);
  assert.equal(restored.revision, original.revision);
  assert.equal(restored.compactRevision, original.compactRevision);
  assert.deepEqual(restored.leases(), original.leases());
  for (const l of original.leases()) assert.deepEqual(restored.leaseTimeToLive(l.id), original.leaseTimeToLive(l.id));
  for (let rev = Math.max(1, original.compactRevision); rev <= original.revision; rev++) {
    const all = { type: 'range' as const, key: b('\0'), rangeEnd: b('\0'), revision: rev };
    assert.deepEqual(restored.range(all), original.range(all), `range at ${rev}`);
  }
  assert.deepEqual(applyAll(restored, reqs.slice(500)), applyAll(original, reqs.slice(500)));
  assert.equal(restored.hash(), original.hash());

  // restoreFrom replaces an existing store's state in place.
  const other = new MvccStore();
  other.apply({ type: 'put', key: b('stale'), value: b('x') });
  other.restoreFrom(original.serialize());
  assert.equal(other.hash(), original.hash());
  assert.equal(other.get(b('stale')), undefined);
});

test('snapshot: corrupt or foreign bytes are rejected with a typed error', () => {
  const s = new MvccStore();
  s.apply({ type: 'put', key: b('k'), value: b('v') });
  const bytes = s.serialize();
  const flipped = bytes.slice();
  flipped[10] = flipped[10]! ^ 0xff;
  for (const bad of [new Uint8Array(0), b('not a snapshot at all'), flipped, bytes.subarray(0, bytes.length - 1)]) {
    assert.throws(
      () => MvccStore.restore(bad),
      (e: unknown) => isKemuError(e, 'ErrSnapshotCorrupt'),
    );
  }
});

test('hashKV compares members at a common revision even when one is ahead', () => {
  const reqs = randomRequests(new SeededRandom(21), 300).filter((r) => r.type !== 'compact');
  const behind = new MvccStore();
  const ahead = new MvccStore();
  applyAll(behind, reqs.slice(0, 200));
  applyAll(ahead, reqs);
  assert.ok(ahead.revision > behind.revision);
  assert.equal(ahead.hashKV(behind.revision).hash, behind.hashKV().hash);
  assert.notEqual(ahead.hashKV().hash, behind.hashKV().hash);
});

test('model check: every revision reads exactly what a naive copy-on-write model says', () => {
  const rnd = new SeededRandom(99);
  const store = new MvccStore();
  type Entry = { value: string; version: number; createRevision: number; modRevision: number };
  const snapshots = new Map<number, Map<string, Entry>>([[1, new Map()]]);
  let model = new Map<string, Entry>();
  const keyName = () => `k${rnd.int(0, 20).toString().padStart(2, '0')}`;
  for (let i = 0; i < 500; i++) {
    const before = store.revision;
    const next = new Map(model);
    const rev = before + 1;
    const r = rnd.next();
    if (r < 0.55) {
      const k = keyName();
      const prev = next.get(k);
      next.set(k, {
        value: `v${i}`,
        version: (prev?.version ?? 0) + 1,
        createRevision: prev?.createRevision ?? rev,
        modRevision: rev,
      });
      store.apply({ type: 'put', key: b(k), value: b(`v${i}`) });
    } else if (r < 0.75) {
      const lo = keyName();
      const hi = keyName();
      for (const k of [...next.keys()]) if (k >= lo && k < hi) next.delete(k);
      store.apply({ type: 'deleteRange', key: b(lo), rangeEnd: b(hi) });
    } else if (r < 0.97) {
      const ks = [...new Set([keyName(), keyName()])];
      for (const k of ks) {
        const prev = next.get(k);
        next.set(k, {
          value: `t${i}`,
          version: (prev?.version ?? 0) + 1,
          createRevision: prev?.createRevision ?? rev,
          modRevision: rev,
        });
      }
      store.apply({
        type: 'txn',
        compare: [],
        success: ks.map((k) => ({ type: 'put' as const, key: b(k), value: b(`t${i}`) })),
        failure: [],
      });
    } else if (store.revision - 10 > store.compactRevision) {
      store.apply({ type: 'compact', revision: store.revision - 10 });
    }
    if (store.revision !== before) {
      assert.equal(store.revision, rev);
      model = next;
      snapshots.set(rev, model);
    } else assert.equal(next.size, model.size, 'a write that changed the model must bump the revision');
  }
  const view = (kvs: KeyValue[]) =>
    kvs.map((kv) => [
      Buffer.from(kv.key).toString(),
      {
        value: Buffer.from(kv.value).toString(),
        version: kv.version,
        createRevision: kv.createRevision,
        modRevision: kv.modRevision,
      },
    ]);
  let checked = 0;
  for (let rev = 1; rev <= store.revision; rev++) {
    const req = { type: 'range' as const, key: b('k'), rangeEnd: b('l'), revision: rev };
    if (rev < store.compactRevision) {
      assert.throws(
        () => store.range(req),
        (e: unknown) => isKemuError(e, 'ErrCompacted'),
      );
      continue;
    }
    const expected = [...snapshots.get(rev)!].sort(([x], [y]) => (x < y ? -1 : 1));
    assert.deepEqual(view(store.range(req).kvs), expected, `revision ${rev}`);
    checked++;
  }
  assert.ok(checked >= 10);
});
