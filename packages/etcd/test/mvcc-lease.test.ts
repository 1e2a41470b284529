import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKemuError, ManualRuntime } from '@kemu/runtime';
import { LeaseExpiry, MAX_LEASE_TTL, MvccStore, utf8, WatchHub, type WatchResponse } from '../src/mvcc/index.js';

const b = utf8;
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const code = (fn: () => unknown, c: string) => assert.throws(fn, (e: unknown) => isKemuError(e, c));

test('leases: attach on put, revoke deletes attached keys in one revision', () => {
  const s = new MvccStore({ minLeaseTtl: 5 });
  const seen: WatchResponse[] = [];
  // A sink that returns nothing (like a plain `ws.send` wrapper) never signals backpressure.
  const hub = new WatchHub(s, (r) => {
    seen.push(r);
  });
  hub.watch({ key: b('/'), rangeEnd: b('0') });

  assert.deepEqual(s.apply({ type: 'leaseGrant', id: 10, ttl: 2 }), {
    type: 'leaseGrant',
    header: { revision: 1 },
    id: 10,
    ttl: 5,
  });
  s.apply({ type: 'leaseGrant', id: 11, ttl: 60 });
  assert.equal(s.revision, 1, 'leases do not bump the revision');
  s.apply({ type: 'put', key: b('/events/b'), value: b('1'), lease: 10 }); // 2
  s.apply({ type: 'put', key: b('/events/a'), value: b('1'), lease: 10 }); // 3
  s.apply({ type: 'put', key: b('/moved'), value: b('1'), lease: 10 }); // 4
  s.apply({ type: 'put', key: b('/moved'), value: b('2'), lease: 11 }); // 5: re-attached to 11
  s.apply({ type: 'put', key: b('/detached'), value: b('1'), lease: 10 }); // 6
  s.apply({ type: 'deleteRange', key: b('/detached') }); // 7
  s.apply({ type: 'put', key: b('/detached'), value: b('2') }); // 8: new generation, no lease
  s.apply({ type: 'put', key: b('/plain'), value: b('1') }); // 9

  const ttl = s.leaseTimeToLive(10);
  assert.deepEqual(
    ttl.keys.map((k) => text(k)),
    ['/events/a', '/events/b'],
  );
  assert.equal(ttl.ttl, 5);
  assert.deepEqual(
    s.leases().map((l) => l.id),
    [10, 11],
  );

  const revoke = s.apply({ type: 'leaseRevoke', id: 10 });
  assert.equal(revoke.header.revision, 10);
  assert.equal(s.get(b('/events/a')), undefined);
  assert.equal(s.get(b('/events/b')), undefined);
  assert.equal(text(s.get(b('/moved'))!.value), '2');
  assert.equal(text(s.get(b('/detached'))!.value), '2');
  assert.equal(s.get(b('/plain'))!.version, 1);
  const last = seen.at(-1)!;
  assert.deepEqual(
    last.events.map((e) => `${e.type} ${text(e.kv.key)}@${e.kv.modRevision}`),
    ['delete /events/a@10', 'delete /events/b@10'],
    'one revision, key order',
  );

  code(() => s.leaseTimeToLive(10), 'ErrLeaseNotFound');
  code(() => s.apply({ type: 'leaseRevoke', id: 10 }), 'ErrLeaseNotFound');
  assert.throws(() => s.apply({ type: 'leaseRevoke', id: 10 }), /etcdserver: requested lease not found/);
  code(() => s.apply({ type: 'leaseGrant', id: 11, ttl: 5 }), 'ErrLeaseExist');
  code(() => s.apply({ type: 'leaseGrant', id: 12, ttl: MAX_LEASE_TTL + 1 }), 'ErrLeaseTTLTooLarge');
  code(() => s.apply({ type: 'put', key: b('x'), value: b('1'), lease: 10 }), 'ErrLeaseNotFound');

  // A revoke with no attached keys writes nothing.
  s.apply({ type: 'leaseGrant', id: 12, ttl: 5 });
  assert.equal(s.apply({ type: 'leaseRevoke', id: 12 }).header.revision, 10);
  s.apply({
    type: 'leaseCheckpoint',
    checkpoints: [
      { id: 11, remainingTtl: 7 },
      { id: 999, remainingTtl: 1 },
    ],
  });
  assert.deepEqual(s.leases(), [{ id: 11, ttl: 60, remainingTtl: 7 }]);
});

test('lease expiry: only the leader expires leases, after TTL plus the promotion extension', () => {
  const clock = new ManualRuntime(0);
  const exp = new LeaseExpiry(clock, { retryMs: 3000 });
  exp.granted(1, 10); // a follower applied the grant: no deadline
  exp.granted(2, 30);
  clock.advance(60_000);
  assert.deepEqual(exp.expired(), []);
  code(() => exp.renew(1), 'ErrNotPrimary');

  // Promotion restarts every lease at TTL (or checkpointed remaining TTL) + the extension.
  exp.promote(
    [
      { id: 1, ttl: 10, remainingTtl: 0 },
      { id: 2, ttl: 30, remainingTtl: 4 },
    ],
    1000,
  );
  assert.equal(exp.remainingTtl(1), 11);
  clock.advance(4_999);
  assert.deepEqual(exp.expired(), []);
  clock.advance(1);
  assert.deepEqual(exp.expired(), [2]);
  assert.deepEqual(exp.expired(), [], 'offered once per retry interval');
  assert.equal(exp.renew(1), 10);
  assert.equal(exp.remainingTtl(1), 10);
  assert.deepEqual(exp.checkpoints(), [{ id: 1, remainingTtl: 10 }]);
  clock.advance(3_000);
  assert.deepEqual(exp.expired(), [2], 'still not revoked: offered again');
  exp.revoked(2);
  code(() => exp.remainingTtl(2), 'ErrLeaseNotFound');
  clock.advance(7_000);
  assert.deepEqual(exp.expired(), [1]);
  assert.equal(exp.remainingTtl(1), -1);

  // Revokes are rate-limited: the earliest deadlines first, the rest on a later poll.
  exp.granted(20, 1);
  exp.granted(21, 1);
  exp.granted(22, 1);
  clock.advance(1_000);
  assert.deepEqual(exp.expired(2), [20, 21], 'lease 1 waits for its retry interval');
  assert.deepEqual(exp.expired(2), [22]);
  for (const id of [1, 20, 21, 22]) exp.revoked(id);

  exp.granted(3, 5); // on the leader the deadline starts at grant
  exp.demote();
  clock.advance(100_000);
  assert.deepEqual(exp.expired(), []);
  exp.reconcile([{ id: 3, ttl: 5, remainingTtl: 0 }]);
  exp.promote([{ id: 3, ttl: 5, remainingTtl: 0 }], 0);
  clock.advance(5_000);
  assert.deepEqual(exp.expired(), [3]);
});
