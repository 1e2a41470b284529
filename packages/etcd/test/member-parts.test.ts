import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualRuntime } from '@kemu/runtime';
import { decodeSnapshotPayload, encodeSnapshotPayload } from '../src/member/codec.js';
import { LeaseClock } from '../src/member/lease-clock.js';
import { ReadIndexBatcher } from '../src/member/read-index.js';

test('concurrent linearizable reads share one ReadIndex round; a lost round is re-sent', async () => {
  const rt = new ManualRuntime();
  const asked: string[] = [];
  const b = new ReadIndexBatcher(rt, 'm', (ctx) => asked.push(ctx), 200);
  const r1 = b.read();
  const r2 = b.read();
  const r3 = b.read();
  assert.deepEqual(asked, ['m:1'], 'one round for the first read');
  b.onReadState('m:1', 10);
  assert.deepEqual(await Promise.all([r1]), [10]);
  // r2 and r3 arrived while round 1 was in flight: they share round 2.
  assert.deepEqual(asked, ['m:1', 'm:2']);
  rt.advance(250); // round 2 answer lost: re-sent as round 3
  assert.deepEqual(asked, ['m:1', 'm:2', 'm:3']);
  b.onReadState('m:2', 11); // stale answer ignored
  b.onReadState('m:3', 12);
  assert.deepEqual(await Promise.all([r2, r3]), [12, 12]);
});

test('lease clock: expiry by the leader clock only; a new leader restarts the full TTL', () => {
  const rt = new ManualRuntime();
  const c = new LeaseClock(rt);
  c.renew(1, 5);
  assert.deepEqual(c.expired(), [], 'a follower never expires leases');
  c.promote([{ id: 1, ttl: 5, remainingTtl: 0 }]);
  rt.advance(4000);
  assert.equal(c.remainingSeconds(1, 5), 1);
  c.renew(1, 5);
  rt.advance(4999);
  assert.deepEqual(c.expired(), []);
  rt.advance(1);
  assert.deepEqual(c.expired(), [1]);
  c.markRevoking(1);
  assert.deepEqual(c.expired(), [], 'one revoke proposal at a time');
  c.demote();
  c.promote([{ id: 1, ttl: 5, remainingTtl: 0 }]);
  assert.equal(c.remainingSeconds(1, 5), 5);
});

test('snapshot payload round-trips members and store bytes', () => {
  const store = new Uint8Array([1, 2, 3, 250]);
  const members = [{ name: 'etcd-0', url: 'ws://127.0.0.1:1', learner: false }];
  const back = decodeSnapshotPayload(encodeSnapshotPayload({ store, members }));
  assert.deepEqual(back.members, members);
  assert.deepEqual([...back.store], [...store]);
  assert.throws(() => decodeSnapshotPayload(new Uint8Array([0, 0, 1])), /too short/);
  assert.throws(() => decodeSnapshotPayload(new Uint8Array([0, 0, 0, 99, 1])), /truncated/);
});
