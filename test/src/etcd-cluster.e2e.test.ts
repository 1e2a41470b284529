/**
 * Cross-process acceptance for the etcd member: three real `kemu etcd` processes on loopback, killed,
 * paused and partitioned for real, driven through the real client over the wire.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bytesToString, type EtcdClient, EtcdError, type WatchResponse } from '@kemu/etcd';
import { EtcdTestCluster, waitFor } from './etcd-harness.js';

async function writeLoop(
  client: EtcdClient,
  prefix: string,
  stop: () => boolean,
  acked: Map<string, string>,
  errors: string[],
): Promise<void> {
  for (let i = 0; !stop(); i++) {
    const key = `${prefix}/${i}`;
    const value = `v-${prefix}-${i}`;
    try {
      await client.put(key, value);
      acked.set(key, value);
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
}

describe('etcd: 3 members as real processes', () => {
  let cluster: EtcdTestCluster;

  before(async () => {
    cluster = await EtcdTestCluster.start({ snapshotCount: 200, snapshotCatchUpEntries: 20 });
    await cluster.waitForLeader();
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('kill -9 of the leader under concurrent writes loses no acknowledged write', async (t) => {
    t.diagnostic(`data dir ${cluster.dir}`);
    const acked = new Map<string, string>();
    const errors: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 6 }, (_, w) =>
      writeLoop(cluster.client(), `kill/w${w}`, () => stop, acked, errors),
    );
    await waitFor('some writes', () => acked.size >= 60);
    const leader = await cluster.waitForLeader();
    await leader.kill9();
    const before = acked.size;
    await waitFor('writes after the kill', () => acked.size >= before + 60, { timeoutMs: 20000 });
    stop = true;
    await Promise.all(writers);
    t.diagnostic(`acknowledged ${acked.size} writes, ${errors.length} failed (unknown outcome allowed)`);

    leader.start();
    await cluster.waitForLeader(20000, cluster.members);
    // Every acknowledged write is visible, on every member (the restarted one caught up too).
    for (const m of cluster.members) {
      const c = cluster.client([m]);
      await waitFor(`${m.name} caught up`, async () => {
        const res = await c.range('kill/', { prefix: true, serializable: true });
        const got = new Map(res.kvs.map((kv) => [bytesToString(kv.key), bytesToString(kv.value)]));
        for (const [k, v] of acked) if (got.get(k) !== v) return false;
        return true;
      });
    }
  });

  test('a member restarted from its data dir catches up through a snapshot when it fell behind', async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.members.find((m) => m !== leader && m.running)!;
    await follower.kill9();
    const c = cluster.client(cluster.members.filter((m) => m !== follower));
    // More than --snapshot-count entries, so the leader compacts past the follower's log.
    const puts: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) {
      puts.push(c.put(`snap/${String(i).padStart(4, '0')}`, `value-${i}`));
      if (puts.length >= 32) await Promise.all(puts.splice(0));
    }
    await Promise.all(puts);
    follower.start();
    const fc = cluster.client([follower]);
    await waitFor('restarted follower has every key', async () => {
      const res = await fc.range('snap/', { prefix: true, serializable: true, countOnly: true });
      return res.count === 400;
    });
    assert.match(follower.logs(), /restored the store from a snapshot/);
    const last = await fc.get('snap/0399', { serializable: true });
    assert.equal(last && bytesToString(last.value), 'value-399');
  });

  test('a partition leaves the majority writable and the minority refusing writes with a clear error', async () => {
    const leader = await cluster.waitForLeader();
    const others = cluster.members.filter((m) => m !== leader);
    await cluster.partition([leader], others, 60000);
    try {
      const majority = cluster.client(others);
      await waitFor('majority elects a leader and takes writes', async () => {
        await majority.put('part/majority', 'yes', { timeoutMs: 2000 });
        return true;
      });
      const minority = cluster.client([leader], { callTimeoutMs: 4000, attemptTimeoutMs: 4000 });
      await assert.rejects(minority.put('part/minority', 'no'), (err: unknown) => {
        assert.ok(err instanceof EtcdError, `typed error, got ${String(err)}`);
        assert.match(err.message, /etcdserver: (no leader|leader changed|request timed out)/);
        return true;
      });
      // Once the old leader has stepped down (check-quorum), it says plainly that it has no leader.
      await assert.rejects(minority.put('part/minority', 'no'), (err: unknown) => {
        assert.ok(err instanceof EtcdError, `typed error, got ${String(err)}`);
        assert.match(err.message, /etcdserver: no leader/);
        return true;
      });
      const check = await majority.get('part/minority');
      assert.equal(check, undefined);
    } finally {
      await cluster.heal();
    }
    await cluster.waitForLeader(20000, cluster.members);
    const c = cluster.client();
    await waitFor('healed cluster writable', async () => {
      await c.put('part/healed', 'yes', { timeoutMs: 2000 });
      return true;
    });
  });

  test('client API for the apiserver: pages, count, compare-and-swap, watch progress; admin metrics', async () => {
    const c = cluster.client();
    for (let i = 0; i < 25; i++) await c.put(`api/pods/p${String(i).padStart(2, '0')}`, `v${i}`);
    const first = await c.rangePage('api/pods/', { limit: 10 });
    assert.equal(first.kvs.length, 10);
    assert.equal(first.count, 25);
    await c.put('api/pods/p00', 'changed'); // later pages still read the first page's revision
    const keys = first.kvs.map((kv) => bytesToString(kv.key));
    let page = first;
    while (page.nextKey) {
      page = await c.rangePage('api/pods/', { from: page.nextKey, limit: 10, revision: first.revision });
      keys.push(...page.kvs.map((kv) => bytesToString(kv.key)));
    }
    assert.equal(keys.length, 25);
    assert.equal(new Set(keys).size, 25);
    assert.equal(await c.count('api/pods/'), 25);

    const cur = (await c.get('api/pods/p01'))!;
    const ok = await c.putIfModRevision('api/pods/p01', 'v1-updated', cur.modRevision);
    assert.equal(ok.succeeded, true);
    const stale = await c.putIfModRevision('api/pods/p01', 'lost-update', cur.modRevision);
    assert.equal(stale.succeeded, false);
    assert.equal(stale.succeeded === false && stale.current && bytesToString(stale.current.value), 'v1-updated');
    assert.equal((await c.putIfModRevision('api/pods/new', 'x', 0)).succeeded, true, '0 = create only');
    assert.equal((await c.putIfModRevision('api/pods/new', 'y', 0)).succeeded, false);
    const fresh = (await c.get('api/pods/new'))!;
    assert.equal((await c.deleteIfModRevision('api/pods/new', fresh.modRevision)).succeeded, true);

    const w = c.watch('api/nodes/', { prefix: true });
    await w.ready();
    const rev = (await c.put('api/other', 'bump')).header.revision;
    await w.requestProgress();
    const it = w[Symbol.asyncIterator]();
    const progress = await it.next();
    assert.equal(progress.done, false);
    assert.equal(progress.value?.events.length, 0);
    assert.ok((progress.value?.header.revision ?? 0) >= rev, 'progress covers the latest revision');
    w.close();

    const m = cluster.members.find((x) => x.running)!;
    const metrics = String(await m.admin('GET', '/metrics'));
    for (const name of [
      'etcd_server_term',
      'etcd_server_leader_changes_seen_total',
      'etcd_server_proposals_committed_total',
      'etcd_server_proposals_failed_total',
      'etcd_disk_wal_fsync_duration_seconds_bucket',
      'etcd_server_apply_duration_seconds_bucket',
      'etcd_debugging_mvcc_watcher_total',
    ]) {
      assert.match(metrics, new RegExp(`^${name}`, 'm'), name);
    }
    assert.equal(String(await m.admin('GET', '/readyz')).trim(), 'ok');
  });

  test('leases: keep-alive through a follower, expiry by the leader, revoke deletes attached keys', async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.members.find((m) => m !== leader && m.running)!;
    const c = cluster.client([follower]); // lease calls reach the leader through the follower
    const grant = await c.leaseGrant(3);
    assert.ok(grant.id > 0);
    await c.put('lease/a', '1', { lease: grant.id });
    const ttl = await c.leaseTimeToLive(grant.id, { keys: true });
    assert.equal(ttl.grantedTtl, 3);
    assert.ok(ttl.ttl > 0 && ttl.ttl <= 3);
    assert.deepEqual(ttl.keys.map(bytesToString), ['lease/a']);
    assert.equal((await c.leaseKeepAlive(grant.id)).ttl, 3);
    await waitFor('the lease expires and takes its key', async () => (await c.get('lease/a')) === undefined, {
      timeoutMs: 10000,
    });
    assert.equal((await c.leaseTimeToLive(grant.id)).ttl, -1);

    const other = await c.leaseGrant(60);
    await c.put('lease/b', '1', { lease: other.id });
    await c.leaseRevoke(other.id);
    assert.equal(await c.get('lease/b'), undefined);
    assert.ok(!(await c.leaseLeases()).leases.some((l) => l.id === other.id));
  });

  test('a watch resumes without gaps when its member is killed', async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.members.find((m) => m !== leader && m.running)!;
    // The watcher prefers the follower first, then fails over to the others.
    const ordered = [follower, ...cluster.members.filter((m) => m !== follower)];
    const wc = cluster.client(ordered);
    const start = (await wc.put('watch/start', '0')).header.revision;
    const watcher = wc.watch('watch/', { prefix: true, startRevision: start + 1 });
    await watcher.ready();
    const seen: number[] = [];
    const consume = (async () => {
      for await (const res of watcher as AsyncIterable<WatchResponse>) {
        for (const ev of res.events) seen.push(Number(bytesToString(ev.kv.value)));
        if (seen.length >= 200) break;
      }
    })();
    const writer = cluster.client(cluster.members.filter((m) => m !== follower));
    for (let i = 1; i <= 200; i++) {
      await writer.put(`watch/k${i % 7}`, String(i));
      if (i === 80) await follower.kill9();
    }
    await consume;
    watcher.close();
    assert.deepEqual(
      seen,
      Array.from({ length: 200 }, (_, i) => i + 1),
      'every event once, in order',
    );
    follower.start();
    await cluster.waitForLeader(20000, cluster.members);
  });
});

describe('etcd: membership change with real processes', () => {
  let cluster: EtcdTestCluster;
  before(async () => {
    cluster = await EtcdTestCluster.start({ snapshotCount: 50, snapshotCatchUpEntries: 10 });
    await cluster.waitForLeader();
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('member add: a new member joins, gets the data; member remove: it leaves', async () => {
    const c = cluster.client(cluster.members.slice());
    for (let i = 0; i < 120; i++) await c.put(`mem/${i}`, String(i));
    const joining = await cluster.joiningMember('etcd-3');
    const added = await c.memberAdd('etcd-3', [`ws://127.0.0.1:${joining.port}`]);
    assert.equal(added.member.name, 'etcd-3');
    assert.equal(added.members.length, 4);
    joining.start();
    const jc = cluster.client([joining]);
    await waitFor('the new member has every key', async () => {
      const res = await jc.range('mem/', { prefix: true, serializable: true, countOnly: true });
      return res.count === 120;
    });
    await c.put('mem/after-join', 'x');
    await waitFor(
      'the new member follows new writes',
      async () => (await jc.get('mem/after-join', { serializable: true })) !== undefined,
    );
    const removed = await c.memberRemove('etcd-3');
    assert.deepEqual(removed.members.map((m) => m.name).sort(), ['etcd-0', 'etcd-1', 'etcd-2']);
    assert.equal((await c.memberList()).members.length, 3);
    await c.put('mem/after-remove', 'y');
  });
});
