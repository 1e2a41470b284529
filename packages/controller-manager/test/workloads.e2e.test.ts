// Issue 6 acceptance (workloads) against real processes: etcd + apiserver + kube-scheduler +
// kube-controller-manager, nodes from real sim kubelets, driven with the real kubectl.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from '@kemu/api';
import { SharedIndexInformer, WireApiClient } from '@kemu/client';
import { SeededRandom, silentLogger, systemRuntime } from '@kemu/runtime';
import { TestCluster, waitFor } from '@kemu/testkit';
import { WireClient } from '@kemu/wire';
import { pods, startControllerManager, startScheduler, startSimNodes } from './helpers/e2e.js';

const WORKERS = ['worker-1', 'worker-2', 'worker-3'];

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 9
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        resources:
          requests: {cpu: 100m, memory: 64Mi}
`;

const STATEFULSET = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 3
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: redis
        image: redis:7
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 1Gi}
`;

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: busybox
        command: [sh, -c, "sleep 1"]
`;

const DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: busybox
        command: [sh, -c, "while true; do sleep 5; done"]
`;

describe('workload controllers (cross-process)', () => {
  let c: TestCluster;
  let wire: WireClient;
  let podInformer: SharedIndexInformer<Pod>;

  before(async () => {
    c = await TestCluster.start({ prefix: 'kemu-cm-work-' });
    await startSimNodes(c, { workers: 3, controlPlane: true });
    startScheduler(c);
    startControllerManager(c, 'kcm-0');
    wire = new WireClient({ url: `${c.wireUrl}/wire`, identity: 'test/observer', log: silentLogger() }).start();
    podInformer = new SharedIndexInformer<Pod>({
      listWatcher: new WireApiClient({ wire }).resource<Pod>('pods'),
      runtime: systemRuntime,
      random: new SeededRandom(5),
    });
    podInformer.start();
  });

  after(async () => {
    podInformer?.stop();
    await wire?.close();
    await c?.destroy();
  });

  it('a Deployment of 9 lands 3/3/3 on the workers and none on the tainted control plane', async () => {
    await c.k(['apply', '-f', '-'], { input: DEPLOYMENT });
    await waitFor(
      '9 ready web pods',
      async () => (await pods(c, 'app=web')).filter((p) => p.ready && !p.terminating).length === 9,
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch((err) => assert.fail(`${err}\n${c.dumpLogs()}`));
    const placed = await pods(c, 'app=web');
    const perNode = Object.fromEntries(WORKERS.map((w) => [w, placed.filter((p) => p.node === w).length]));
    assert.deepEqual(
      perNode,
      { 'worker-1': 3, 'worker-2': 3, 'worker-3': 3 },
      JSON.stringify(placed.map((p) => p.node)),
    );
    assert.equal(placed.filter((p) => p.node === 'control-plane').length, 0);
    const status = await c.k(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    assert.match(status, /deployment "web" successfully rolled out/);
  });

  it('a rolling update keeps ≥ replicas - maxUnavailable available, then rollout undo returns to the old ReplicaSet', async () => {
    const rsBefore = await c.getJson<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>([
      'rs',
      '-l',
      'app=web',
    ]);
    assert.equal(rsBefore.items.length, 1);
    const oldRS = rsBefore.items[0]?.metadata.name ?? '';
    const oldHash = rsBefore.items[0]?.metadata.labels['pod-template-hash'];
    // Record availability on every pod event from now until the rollout completes.
    let minAvailable = Number.POSITIVE_INFINITY;
    const available = () =>
      podInformer
        .list({ namespace: 'default' })
        .filter(
          (p) =>
            p.metadata.labels?.app === 'web' &&
            !p.metadata.deletionTimestamp &&
            (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
        ).length;
    const watch = () => {
      minAvailable = Math.min(minAvailable, available());
    };
    podInformer.addEventHandler({ onAdd: watch, onUpdate: watch, onDelete: watch });
    watch();
    await c.k(['set', 'image', 'deployment/web', 'nginx=nginx:1.28']);
    const rollout = await c.k(['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    assert.match(
      rollout,
      /Waiting for deployment "web" rollout to finish: \d+ (out of 9 new replicas have been updated|old replicas are pending termination|of 9 updated replicas are available)\.\.\./,
    );
    assert.match(rollout, /deployment "web" successfully rolled out\n$/);
    // default maxUnavailable 25% of 9 rounds down to 2
    assert.ok(minAvailable >= 7, `available pods dropped to ${minAvailable}`);
    const after1 = await pods(c, 'app=web');
    assert.equal(after1.filter((p) => !p.terminating).length, 9);
    assert.ok(after1.filter((p) => !p.terminating).every((p) => p.image === 'nginx:1.28'));
    const history = await c.k(['rollout', 'history', 'deployment/web']);
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);

    await c.k(['rollout', 'undo', 'deployment/web']);
    await c.k(['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    await waitFor('only old-template pods', async () => {
      const live = (await pods(c, 'app=web')).filter((p) => !p.terminating);
      return (
        live.length === 9 && live.every((p) => p.image === 'nginx:1.27' && p.labels['pod-template-hash'] === oldHash)
      );
    }).catch(async (err) =>
      assert.fail(`${err}\n${await c.k(['get', 'rs,pods', '-o', 'wide', '--show-labels'])}\n${c.dumpLogs()}`),
    );
    const rs = await c.getJson<{
      items: { metadata: { name: string; annotations: Record<string, string> }; spec: { replicas: number } }[];
    }>(['rs', '-l', 'app=web']);
    assert.equal(rs.items.length, 2, 'undo reuses the old ReplicaSet');
    const back = rs.items.find((r) => r.metadata.name === oldRS);
    assert.equal(back?.spec.replicas, 9);
    assert.equal(back?.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    const d = await c.getJson<{
      metadata: { annotations: Record<string, string> };
      status: { conditions: { type: string; reason: string }[] };
    }>(['deployment', 'web']);
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    const reasons = Object.fromEntries(d.status.conditions.map((x) => [x.type, x.reason]));
    assert.deepEqual(reasons, { Available: 'MinimumReplicasAvailable', Progressing: 'NewReplicaSetAvailable' });
    const events = await c.k([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=web',
      '-o',
      'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
    ]);
    assert.match(events, new RegExp(`ScalingReplicaSet: Scaled up replica set ${oldRS} from 0 to 9`));
    assert.match(events, /ScalingReplicaSet: Scaled down replica set web-\w+ from \d+ to \d+/);
  });

  it('a StatefulSet starts db-0, db-1, db-2 in order, each with its own PVC', async () => {
    const seen: string[] = [];
    podInformer.addEventHandler({
      onAdd: (p) => {
        if (p.metadata.labels?.app === 'db' && !seen.includes(p.metadata.name ?? '')) seen.push(p.metadata.name ?? '');
      },
    });
    await c.k(['apply', '-f', '-'], { input: STATEFULSET });
    await waitFor('3 ready db pods', async () => (await pods(c, 'app=db')).filter((p) => p.ready).length === 3, {
      timeoutMs: 30_000,
      intervalMs: 250,
    }).catch((err) => assert.fail(`${err}\n${c.dumpLogs()}`));
    assert.deepEqual(seen, ['db-0', 'db-1', 'db-2']);
    const pvcs = await c.getJson<{ items: { metadata: { name: string } }[] }>(['pvc']);
    assert.deepEqual(pvcs.items.map((p) => p.metadata.name).sort(), ['data-db-0', 'data-db-1', 'data-db-2']);
    const sts = await c.getJson<{ status: { readyReplicas: number; currentRevision: string; updateRevision: string } }>(
      ['sts', 'db'],
    );
    assert.equal(sts.status.readyReplicas, 3);
    assert.equal(sts.status.currentRevision, sts.status.updateRevision);
    const created = await c.k([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=db,reason=SuccessfulCreate',
      '-o',
      'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
    ]);
    assert.match(created, /create Pod db-0 in StatefulSet db successful/);
    assert.match(created, /create Claim data-db-0 Pod db-0 in StatefulSet db success/);
  });

  it('a Job with completions 5 and parallelism 2 completes', async () => {
    let maxActive = 0;
    podInformer.addEventHandler({
      onUpdate: () => {
        const active = podInformer
          .list({ namespace: 'default' })
          .filter(
            (p) =>
              p.metadata.labels?.['job-name'] === 'pi' &&
              p.status?.phase !== 'Succeeded' &&
              p.status?.phase !== 'Failed',
          );
        maxActive = Math.max(maxActive, active.length);
      },
    });
    await c.k(['apply', '-f', '-'], { input: JOB });
    await c
      .k(['wait', '--for=condition=complete', 'job/pi', '--timeout=45s'], { timeoutMs: 50_000 })
      .catch((err) => assert.fail(`${err}\n${c.dumpLogs()}`));
    const job = await c.getJson<{ status: { succeeded: number; failed?: number } }>(['job', 'pi']);
    assert.equal(job.status.succeeded, 5);
    const jobPods = await pods(c, 'job-name=pi');
    assert.equal(jobPods.length, 5);
    assert.ok(jobPods.every((p) => p.phase === 'Succeeded'));
    assert.ok(maxActive <= 2, `${maxActive} job pods ran at once`);
    const describe = await c.k(['describe', 'job', 'pi']);
    assert.match(describe, /Completed/);
  });

  it('a DaemonSet runs one pod on each worker, placed by the scheduler through matchFields, none on the control plane', async () => {
    await c.k(['apply', '-f', '-'], { input: DAEMONSET });
    const status = await c
      .k(['rollout', 'status', 'daemonset/agent', '--timeout=30s'], { timeoutMs: 35_000 })
      .catch((err) => assert.fail(`${err}\n${c.dumpLogs()}`));
    assert.match(status, /daemon set "agent" successfully rolled out/);
    const placed = await pods(c, 'app=agent');
    assert.deepEqual(placed.map((p) => p.node).sort(), WORKERS);
    const ds = await c.getJson<{ status: Record<string, number> }>(['ds', 'agent']);
    assert.equal(ds.status.desiredNumberScheduled, 3);
    assert.equal(ds.status.numberReady, 3);
    assert.equal(ds.status.updatedNumberScheduled, 3);
  });
});
