/**
 * Linearizability of the real 3-member cluster under faults: concurrent clients run gets, puts and
 * compare-and-swap txns on a few keys while the leader is killed, a follower is killed, the leader
 * is partitioned away and then frozen with SIGSTOP. The recorded history must be linearizable.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { bytesToString, type EtcdClient, NoLeaderError, NotEnoughMembersError } from '@kemu/etcd';
import { check, etcdKvModel, explain, HistoryRecorder, type KvInput, type KvOutput } from '@kemu/lincheck';
import { EtcdTestCluster, waitFor } from './etcd-harness.js';

const KEYS = ['lin/a', 'lin/b', 'lin/c', 'lin/d'];

/** Errors that prove the write was never proposed, so it certainly had no effect. */
function certainlyNotApplied(err: unknown): boolean {
  return err instanceof NoLeaderError || err instanceof NotEnoughMembersError;
}

async function client(
  id: number,
  c: EtcdClient,
  rec: HistoryRecorder<KvInput, KvOutput>,
  stop: () => boolean,
  rand: () => number,
): Promise<void> {
  let seq = 0;
  while (!stop()) {
    const key = KEYS[Math.floor(rand() * KEYS.length)]!;
    const r = rand();
    if (r < 0.4) {
      const op = rec.invoke(id, { type: 'get', key });
      try {
        const res = await c.range(key, { timeoutMs: 3000 });
        const kv = res.kvs[0];
        rec.complete(op, {
          revision: res.header.revision,
          value: kv ? bytesToString(kv.value) : null,
          ...(kv ? { modRevision: kv.modRevision } : {}),
        });
      } catch {
        rec.fail(op, 'not-applied'); // a read has no effect either way
      }
    } else if (r < 0.75) {
      const value = `c${id}-${++seq}`;
      const op = rec.invoke(id, { type: 'put', key, value });
      try {
        const res = await c.put(key, value, { timeoutMs: 3000 });
        rec.complete(op, { revision: res.header.revision });
      } catch (err) {
        rec.fail(op, certainlyNotApplied(err) ? 'not-applied' : 'unknown');
      }
    } else {
      // Kubernetes' GuaranteedUpdate: read the mod_revision, then CAS on it.
      let modRevision = 0;
      try {
        modRevision = (await c.get(key, { timeoutMs: 3000 }))?.modRevision ?? 0;
      } catch {
        continue;
      }
      const value = `c${id}-${++seq}`;
      const op = rec.invoke(id, {
        type: 'txn',
        key,
        compare: { target: 'mod_revision', modRevision },
        onSuccess: { type: 'put', value },
      });
      try {
        const res = await c.putIfModRevision(key, value, modRevision, { timeoutMs: 3000 });
        rec.complete(op, { succeeded: res.succeeded, revision: res.revision });
      } catch (err) {
        rec.fail(op, certainlyNotApplied(err) ? 'not-applied' : 'unknown');
      }
    }
  }
}

let cluster: EtcdTestCluster | undefined;
after(async () => {
  await cluster?.destroy();
});

test('histories recorded under leader kill, follower kill, partition and SIGSTOP are linearizable', async (t) => {
  cluster = await EtcdTestCluster.start({ snapshotCount: 300, snapshotCatchUpEntries: 50 });
  const cl = cluster;
  await cl.waitForLeader();
  const rec = new HistoryRecorder<KvInput, KvOutput>(() => performance.now());
  let stop = false;
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  // Clients 0-2 fail over across all members; clients 3-5 are each pinned to one member, so a
  // member that serves stale state (a deposed leader, a lagging follower) would be caught.
  const clients = Array.from({ length: 6 }, (_, i) => {
    const members = i < 3 ? cl.members : [cl.members[i - 3]!];
    return client(i, cl.client(members, { callTimeoutMs: 3000 }), rec, () => stop, rand);
  });
  const progress = async (n: number): Promise<void> => {
    const start = rec.history().length;
    await waitFor(`${n} more operations`, () => rec.history().length >= start + n, { timeoutMs: 30000 });
  };
  const faults: string[] = [];
  try {
    await progress(100);

    // 1. kill -9 the leader, restart it.
    let leader = await cl.waitForLeader();
    faults.push(`kill -9 leader ${leader.name}`);
    await leader.kill9();
    await progress(100);
    leader.start();
    await cl.waitForLeader(20000, cl.members);

    // 2. kill -9 a follower, restart it.
    leader = await cl.waitForLeader();
    const follower = cl.members.find((m) => m !== leader)!;
    faults.push(`kill -9 follower ${follower.name}`);
    await follower.kill9();
    await progress(100);
    follower.start();
    await cl.waitForLeader(20000, cl.members);

    // 3. partition the leader away from both followers, then heal.
    leader = await cl.waitForLeader();
    faults.push(`partition leader ${leader.name}`);
    await cl.partition(
      [leader],
      cl.members.filter((m) => m !== leader),
    );
    await progress(100);
    await cl.heal();
    await cl.waitForLeader(20000, cl.members);

    // 4. freeze the leader (SIGSTOP) long enough for an election, then thaw it.
    leader = await cl.waitForLeader();
    faults.push(`SIGSTOP leader ${leader.name}`);
    leader.pause();
    await progress(100);
    leader.resume();
    await cl.waitForLeader(20000, cl.members);
    await progress(50);
  } finally {
    stop = true;
    await Promise.all(clients);
  }
  const history = rec.history();
  const model = etcdKvModel({ revisions: 'per-key' });
  const result = check(model, history, { timeoutMs: 60000 });
  t.diagnostic(
    `faults: ${faults.join('; ')}; ${history.length} operations, verdict ${result.result} in ${Math.round(result.elapsedMs)} ms`,
  );
  if (result.result !== 'ok') assert.fail(explain(result, model));
  assert.ok(history.length >= 500, 'enough operations to mean something');
});
