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
        assert.match(err.message, /etcdserver: (no leader|request timed out)/);
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
