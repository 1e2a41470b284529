// Two kube-controller-manager replicas with leader election: SIGKILL the leader in the middle of a
// scale-up; the other takes Lease kube-system/kube-controller-manager within the lease duration
// (fast profile) and finishes the work without creating anything twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Lease, type Pod, TIMING_PROFILES } from '@kemu/api';
import { SharedIndexInformer, WireApiClient } from '@kemu/client';
import { SeededRandom, silentLogger, systemRuntime } from '@kemu/runtime';
import { type ChildProc, TestCluster, waitFor } from '@kemu/testkit';
import { WireClient } from '@kemu/wire';
import { pods, startControllerManager, startScheduler, startSimNodes } from './helpers/e2e.js';

const LEASE = TIMING_PROFILES.fast.leaderElection;

describe('controller-manager leader failover (cross-process)', () => {
  let c: TestCluster;
  let wire: WireClient;
  let api: WireApiClient;
  let podInformer: SharedIndexInformer<Pod>;
  const replicas = new Map<string, ChildProc>();

  before(async () => {
    c = await TestCluster.start({ prefix: 'kemu-cm-failover-' });
    await startSimNodes(c, { workers: 2 });
    startScheduler(c);
    for (const name of ['kcm-a', 'kcm-b'])
      replicas.set(name, startControllerManager(c, name, ['--leader-elect', 'true']));
    wire = new WireClient({ url: `${c.wireUrl}/wire`, identity: 'test/observer', log: silentLogger() }).start();
    api = new WireApiClient({ wire });
    podInformer = new SharedIndexInformer<Pod>({
      listWatcher: api.resource<Pod>('pods'),
      runtime: systemRuntime,
      random: new SeededRandom(9),
    });
    podInformer.start();
  });

  after(async () => {
    podInformer?.stop();
    await wire?.close();
    await c?.destroy();
  });

  const holder = async (): Promise<string | undefined> => {
    try {
      const lease = await api
        .resource<Lease>('leases.coordination.k8s.io', { namespace: 'kube-system' })
        .get('kube-controller-manager');
      const id = lease.spec?.holderIdentity;
      return id ? id.split('_')[0] : undefined;
    } catch {
      return undefined;
    }
  };

  it('hands over within the lease duration and creates nothing twice', async () => {
    const leader = await waitFor('a leader', holder, { timeoutMs: 20_000, intervalMs: 100 });
    const follower = leader === 'kcm-a' ? 'kcm-b' : 'kcm-a';
    const everCreated = new Set<string>();
    podInformer.addEventHandler({
      onAdd: (p) => {
        if (p.metadata.labels?.app === 'web') everCreated.add(p.metadata.name ?? '');
      },
    });
    await c.k(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=6']);
    await waitFor('6 ready pods', async () => (await pods(c, 'app=web')).filter((p) => p.ready).length === 6, {
      timeoutMs: 30_000,
      intervalMs: 250,
    }).catch((err) => assert.fail(`${err}\n${c.dumpLogs()}`));

    // Scale up and kill the leader while it is acting on it.
    await c.k(['scale', 'deployment/web', '--replicas=14']);
    const killedAt = Date.now();
    await replicas.get(leader)?.kill9();
    const newLeader = await waitFor(
      'the follower to take the lease',
      async () => ((await holder()) === follower ? follower : undefined),
      {
        timeoutMs: 20_000,
        intervalMs: 50,
      },
    );
    const handoverMs = Date.now() - killedAt;
    assert.equal(newLeader, follower);
    // The follower waits one lease duration from when it last saw the record change, then one retry period.
    assert.ok(
      handoverMs <= LEASE.leaseDurationMs + 3 * LEASE.retryPeriodMs,
      `handover took ${handoverMs} ms (lease ${LEASE.leaseDurationMs} ms)`,
    );

    await waitFor(
      '14 ready pods',
      async () => (await pods(c, 'app=web')).filter((p) => p.ready && !p.terminating).length === 14,
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    ).catch((err) => assert.fail(`${err}\n${c.dumpLogs()}`));
    // New work after the handover is done by the new leader.
    await c.k(['create', 'job', 'once', '--image=busybox', '--', 'sh', '-c', 'sleep 1']);
    await c.k(['wait', '--for=condition=complete', 'job/once', '--timeout=30s'], { timeoutMs: 35_000 });

    const rs = await c.getJson<{ items: unknown[] }>(['rs', '-l', 'app=web']);
    assert.equal(rs.items.length, 1, 'one ReplicaSet');
    const live = await pods(c, 'app=web');
    assert.equal(live.length, 14, 'no extra pods');
    assert.equal(everCreated.size, 14, `pods ever created: ${[...everCreated].join(' ')}`);
    assert.equal((await pods(c, 'job-name=once')).length, 1, 'the job ran one pod');
    const lease = await api
      .resource<Lease>('leases.coordination.k8s.io', { namespace: 'kube-system' })
      .get('kube-controller-manager');
    assert.ok((lease.spec?.leaseTransitions ?? 0) >= 1, 'the lease changed holder');
    assert.equal(replicas.get(follower)?.running, true);
  });
});
