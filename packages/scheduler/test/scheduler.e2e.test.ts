// The kube-scheduler as a real process against a real etcd + apiserver: Nodes are plain API objects
// (no kubelet is needed to bind), pods are created with kubectl, and what a user sees (kubectl get,
// describe, events) is what is checked.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ChildProc, COMPONENT_MAINS, freePort, TestCluster, waitFor } from '@kemu/testkit';

interface PodJson {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
}
interface EventJson {
  reason: string;
  message: string;
  type: string;
  count?: number;
  involvedObject: { name: string };
  source?: { component?: string };
}
interface LeaseJson {
  spec: { holderIdentity?: string; leaseTransitions?: number };
}

const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

function nodeJson(name: string, controlPlane: boolean): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        ...(controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
    },
    spec: controlPlane ? { taints: [CONTROL_PLANE_TAINT] } : {},
    status: {
      capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
    },
  };
}

let c: TestCluster;
let rsUid = '';

async function createJson(obj: object): Promise<void> {
  await c.k(['create', '-f', '-'], { input: JSON.stringify(obj) });
}

function podJson(name: string, cpu: string, labels: Record<string, string> = {}, owned = false): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels,
      ...(owned
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d4f7', uid: rsUid, controller: true },
            ],
          }
        : {}),
    },
    spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu, memory: '64Mi' } } }] },
  };
}

async function pods(): Promise<PodJson[]> {
  return (await c.getJson<{ items: PodJson[] }>(['pods'])).items;
}

async function events(): Promise<EventJson[]> {
  return (await c.getJson<{ items: EventJson[] }>(['events'])).items;
}

function startScheduler(name: string, adminPort: number): ChildProc {
  return c.startComponent(name, COMPONENT_MAINS.scheduler, [
    '--apiserver',
    c.wireUrl,
    '--name',
    name,
    '--admin-port',
    String(adminPort),
    '--profile',
    'fast',
  ]);
}

async function metric(port: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}

const BOUND = /^scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} (\d+)$/m;

before(async () => {
  c = await TestCluster.start({ etcd: 1, prefix: 'kemu-sched-e2e-' });
  await createJson(nodeJson('control-plane', true));
  for (const w of ['worker-1', 'worker-2', 'worker-3']) await createJson(nodeJson(w, false));
  // Nodes register with their status (as a kubelet does); make sure the apiserver kept it.
  const nodes = await c.getJson<{ items: { status?: { allocatable?: Record<string, string> } }[] }>(['nodes']);
  assert.equal(nodes.items.length, 4);
  assert.ok(
    nodes.items.every((n) => n.status?.allocatable?.cpu === '2'),
    'nodes keep their allocatable',
  );
  // A ReplicaSet to own the replicas (no controller-manager runs here: it is only an owner).
  await createJson({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-5d4f7', labels: { app: 'web' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  });
  rsUid = (await c.getJson<{ metadata: { uid: string } }>(['replicaset', 'web-5d4f7'])).metadata.uid;
});

after(async () => {
  await c?.destroy();
});

let leaderPort = 0;
let leader: ChildProc;

test('replicas land 3/3/3 on the workers; a pod too big for any node gets upstream FailedScheduling text and lands when room is freed', async () => {
  leaderPort = await freePort();
  leader = startScheduler('kube-scheduler-0', leaderPort);
  for (let i = 0; i < 9; i++) await createJson(podJson(`web-${i}`, '500m', { app: 'web' }, true));
  const placed = await waitFor(
    'all 9 replicas bound',
    async () => {
      const ps = await pods();
      return ps.length === 9 && ps.every((p) => (p.spec.nodeName ?? '') !== '') ? ps : undefined;
    },
    { timeoutMs: 30000, intervalMs: 200 },
  ).catch((err: unknown) => assert.fail(`${(err as Error).message}\n${c.dumpLogs()}`));
  const perNode: Record<string, number> = {};
  for (const p of placed) perNode[p.spec.nodeName as string] = (perNode[p.spec.nodeName as string] ?? 0) + 1;
  assert.deepEqual(perNode, { 'worker-1': 3, 'worker-2': 3, 'worker-3': 3 }, c.dumpLogs());
  const wide = await c.k(['get', 'pods', '-o', 'wide']);
  assert.doesNotMatch(wide, /control-plane/);

  const scheduledEvent = await waitFor('Scheduled event for web-0', async () =>
    (await events()).find((e) => e.reason === 'Scheduled' && e.involvedObject.name === 'web-0'),
  );
  const web0 = placed.find((p) => p.metadata.name === 'web-0') as PodJson;
  assert.equal(scheduledEvent.message, `Successfully assigned default/web-0 to ${web0.spec.nodeName}`);
  assert.equal(scheduledEvent.source?.component, 'default-scheduler');

  // Every worker has 1500m of 2 cpus requested: a 1-cpu pod fits nowhere.
  await createJson(podJson('big', '1'));
  const expected =
    '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, ' +
    '3 Insufficient cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, ' +
    '3 No preemption victims found for incoming pod..';
  const failed = await waitFor('FailedScheduling for big', async () =>
    (await events()).find((e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'big'),
  );
  assert.equal(failed.message, expected);
  assert.equal(failed.type, 'Warning');
  const describe = await c.k(['describe', 'pod', 'big']);
  assert.ok(describe.includes(`FailedScheduling  `), describe);
  assert.ok(describe.includes(expected), describe);
  assert.match(describe, /PodScheduled\s+False/);
  const cond = await c.k([
    'get',
    'pod',
    'big',
    '-o',
    'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}|{.status.conditions[?(@.type=="PodScheduled")].message}',
  ]);
  assert.equal(cond, `Unschedulable|${expected}`);
  assert.ok((await c.k(['get', 'events'])).includes(expected));
  const bigPod = (await pods()).find((p) => p.metadata.name === 'big');
  assert.equal(bigPod?.spec.nodeName, undefined);

  // Free 500m on web-4's node: big (1 cpu) now fits there and only there.
  const freed = placed.find((p) => p.metadata.name === 'web-4')?.spec.nodeName;
  // No kubelet runs here to finish a graceful deletion: force it, as the pod's resources are held until then.
  await c.k(['delete', 'pod', 'web-4', '--grace-period=0', '--force']);
  const bigNode = await waitFor(
    'big bound after a pod was deleted',
    async () => (await pods()).find((p) => p.metadata.name === 'big')?.spec.nodeName,
    { timeoutMs: 30000, intervalMs: 200 },
  ).catch((err: unknown) => assert.fail(`${(err as Error).message}\n${c.dumpLogs()}`));
  assert.equal(bigNode, freed);
});

test('two replicas: only the leader binds; after kill -9 the standby takes over within the lease duration and no pod is bound twice', async () => {
  const standbyPort = await freePort();
  const standby = startScheduler('kube-scheduler-1', standbyPort);
  await waitFor('standby ready (informers synced)', async () => {
    const r = await fetch(`http://127.0.0.1:${standbyPort}/readyz`);
    return r.status === 200;
  });
  const lease = await c.getJson<LeaseJson>(['lease', 'kube-scheduler', '-n', 'kube-system']);
  assert.match(lease.spec.holderIdentity ?? '', /^kube-scheduler-0_/);

  await createJson(podJson('before-kill', '10m'));
  await waitFor(
    'before-kill bound',
    async () => (await pods()).find((p) => p.metadata.name === 'before-kill')?.spec.nodeName,
  );
  assert.equal(await metric(standbyPort, BOUND), 0, 'the standby has bound nothing');

  await leader.kill9();
  const killedAt = Date.now();
  for (let i = 0; i < 5; i++) await createJson(podJson(`after-kill-${i}`, '10m'));
  await waitFor(
    'pods created after the kill bound by the new leader',
    async () => {
      const ps = (await pods()).filter((p) => p.metadata.name.startsWith('after-kill-'));
      return ps.length === 5 && ps.every((p) => (p.spec.nodeName ?? '') !== '');
    },
    { timeoutMs: 20000, intervalMs: 100 },
  ).catch((err: unknown) => assert.fail(`${(err as Error).message}\n${c.dumpLogs()}`));
  const takeoverMs = Date.now() - killedAt;
  // fast profile: lease 4 s; the standby waits one full lease after its last observed renewal, then
  // retries every 0.5 s × up to 2.2 (jitter): inside 4 s + 5 s of slack on a busy machine.
  assert.ok(takeoverMs < 9000, `takeover took ${takeoverMs} ms`);
  const newLease = await c.getJson<LeaseJson>(['lease', 'kube-scheduler', '-n', 'kube-system']);
  assert.match(newLease.spec.holderIdentity ?? '', /^kube-scheduler-1_/);
  assert.equal(newLease.spec.leaseTransitions, 1);
  assert.equal(await metric(standbyPort, BOUND), 5, 'the new leader bound exactly the 5 new pods');

  // No pod was bound twice: one Scheduled event (count 1) per bound pod, and no binding conflicts.
  const all = await pods();
  const evs = (await events()).filter((e) => e.reason === 'Scheduled');
  for (const p of all) {
    const mine = evs.filter((e) => e.involvedObject.name === p.metadata.name);
    assert.equal(mine.length, 1, `one Scheduled event for ${p.metadata.name}`);
    assert.equal(mine[0]?.count ?? 1, 1);
    assert.ok(mine[0]?.message.endsWith(` to ${p.spec.nodeName}`));
  }
  assert.doesNotMatch(standby.logs() + leader.logs(), /already assigned|binding no longer needed/);
});
