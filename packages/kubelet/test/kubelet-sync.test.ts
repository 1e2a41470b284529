import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigMap, Lease, Pod } from '@kemu/api';
import { startHarness } from './kubelet-harness.js';

test('registers the node, renews its lease, reports Ready', async (t) => {
  const h = await startHarness({
    config: {
      nodeLabels: { 'node-role.kubernetes.io/control-plane': '' },
      registerWithTaints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    },
  });
  t.after(() => h.stop());
  await h.step(100);
  const node = h.node();
  assert.ok(node, 'node registered');
  assert.equal(node.metadata.labels?.['node-role.kubernetes.io/control-plane'], '');
  assert.deepEqual(node.spec?.taints, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
  assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'kemu-sim://0.1.0');
  const lease = h.api.objects<Lease>('leases').find((l) => l.metadata.name === 'n1');
  assert.equal(lease?.metadata.namespace, 'kube-node-lease');
  assert.equal(lease?.spec?.leaseDurationSeconds, 4);
  const renew1 = lease?.spec?.renewTime;
  await h.step(1100);
  const renewed = h.api.objects<Lease>('leases').find((l) => l.metadata.name === 'n1');
  assert.notEqual(renewed?.spec?.renewTime, renew1, 'renewed after one interval');
  assert.equal(renewed?.metadata.ownerReferences?.[0]?.uid, node.metadata.uid, 'owned by the Node');

  // Runtime stop → NotReady at once (not after the next period), with the runtime's reason.
  await h.kubelet.stopRuntime();
  await h.step(50);
  const ready = h.node()?.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'KubeletNotReady');
  assert.match(ready?.message ?? '', /container runtime is down.*RuntimeStopped/);
  await h.kubelet.startRuntime();
  await h.step(50);
  assert.equal(h.node()?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

  // Frozen heartbeats: no renewals.
  h.kubelet.freezeHeartbeats();
  const frozenAt = h.api.objects<Lease>('leases')[0]?.spec?.renewTime;
  await h.step(3000, 200);
  assert.equal(h.api.objects<Lease>('leases')[0]?.spec?.renewTime, frozenAt);
  h.kubelet.resumeHeartbeats();
  await h.step(100);
  assert.notEqual(h.api.objects<Lease>('leases')[0]?.spec?.renewTime, frozenAt);
});

test('node status is not rewritten when nothing changed (except the heartbeat period)', async (t) => {
  const h = await startHarness({ kubelet: { nodeStatusReportFrequencyMs: 60_000 } });
  t.after(() => h.stop());
  await h.step(200);
  const writes = () =>
    h.api.calls.filter((c) => c.resource === 'nodes' && c.verb !== 'get' && c.verb !== 'list' && c.verb !== 'watch')
      .length;
  const before = writes();
  await h.step(10_000, 500);
  assert.equal(writes(), before, 'no node writes while nothing changed');
});

test('a pod runs: sandbox, container, Running + Ready, events, status conditions', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({ spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } });
  await h.step(500);
  const pod = h.pod('p1');
  assert.equal(pod?.status?.phase, 'Running');
  assert.match(pod?.status?.podIP ?? '', /^127\.9\.0\./);
  const cs = pod?.status?.containerStatuses?.[0];
  assert.equal(cs?.ready, true);
  assert.equal(cs?.image, 'nginx:1.27');
  assert.equal(cs?.imageID, 'docker.io/library/nginx:1.27');
  const reasons = h.events('p1').map((e) => e.reason);
  assert.deepEqual(reasons, ['Pulling', 'Pulled', 'Created', 'Started']);
  assert.equal(h.events('p1')[0]?.message, 'Pulling image "nginx:1.27"');
  const types = pod?.status?.conditions?.map((c) => `${c.type}=${c.status}`);
  assert.deepEqual(types, [
    'PodReadyToStartContainers=True',
    'Initialized=True',
    'Ready=True',
    'ContainersReady=True',
    'PodScheduled=True',
  ]);
  const lookup = h.kubelet.findContainer('default', 'p1', 'web');
  assert.ok(lookup?.containerId);
  assert.equal(lookup?.running, true);
  assert.equal(lookup?.previousContainerId, null);
  assert.equal(h.kubelet.findContainer('default', 'p1', 'nope'), null);
});

test('status is written only when it changes', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({ spec: { containers: [{ name: 'web', image: 'nginx' }] } });
  await h.step(1000);
  const statusWrites = () => h.api.calls.filter((c) => c.resource === 'pods' && c.verb === 'updateStatus').length;
  const n = statusWrites();
  assert.ok(n >= 1 && n <= 3, `a few writes to reach Running, got ${n}`);
  await h.step(30_000, 1000); // several resyncs and PLEG relists
  assert.equal(statusWrites(), n);
});

test('CrashLoopBackOff: restarts at once, then waits initial, 2×initial … (profile back-off)', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({
    spec: { containers: [{ name: 'c', image: 'kemu/crasher', args: ['--exit-code', '2', '--after-ms', '100'] }] },
  });
  const starts: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    await h.step(50);
    const cs = h.pod('p1')?.status?.containerStatuses?.[0];
    const id = cs?.containerID;
    if (cs?.state?.running && id && !seen.has(id)) {
      seen.add(id);
      starts.push(h.clock.now());
    }
  }
  // Each instance runs 200 ms (start delay + run); the exit is seen by the next relist (≤ 1 s);
  // then the back-off since the exit: none, 1 s, 2 s (fast profile: initial 1 s, doubling).
  const gaps = starts.slice(1).map((s, i) => s - (starts[i] as number));
  assert.ok(gaps.length >= 3, `restarts seen: ${gaps.length}`);
  const within = (gap: number | undefined, min: number, max: number) => gap !== undefined && gap >= min && gap <= max;
  assert.ok(within(gaps[0], 200, 1300), `first restart at once, gap ${gaps[0]}`);
  assert.ok(within(gaps[1], 1200, 1500), `second after a 1 s back-off, gap ${gaps[1]}`);
  assert.ok(within(gaps[2], 2200, 2500), `third after a 2 s back-off, gap ${gaps[2]}`);
  const cs = h.pod('p1')?.status?.containerStatuses?.[0];
  assert.ok((cs?.restartCount ?? 0) >= 3);
  assert.equal(cs?.lastState?.terminated?.exitCode, 2);
  const backoff = h.events('p1').find((e) => e.reason === 'BackOff');
  assert.match(backoff?.message ?? '', /^Back-off restarting failed container c in pod p1_default\(.+\)$/);
});

test('restart policies: Never → Failed, OnFailure with exit 0 → Succeeded, Always restarts completed', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod(
    {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 1; exit 1'] }],
      },
    },
    'never',
  );
  await h.createPod(
    {
      spec: {
        restartPolicy: 'OnFailure',
        containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 1'] }],
      },
    },
    'onfail',
  );
  await h.createPod(
    {
      spec: {
        restartPolicy: 'Always',
        containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 1'] }],
      },
    },
    'always',
  );
  await h.step(3000);
  const never = h.pod('never');
  assert.equal(never?.status?.phase, 'Failed');
  assert.equal(never?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
  assert.equal(never?.status?.containerStatuses?.[0]?.restartCount, 0);
  const onfail = h.pod('onfail');
  assert.equal(onfail?.status?.phase, 'Succeeded');
  assert.equal(onfail?.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  assert.equal(onfail?.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  const always = h.pod('always');
  assert.equal(always?.status?.phase, 'Running');
  assert.ok((always?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
});

test('init containers run in order before app containers; a failing one with Never fails the pod', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({
    spec: {
      initContainers: [
        { name: 'i1', image: 'busybox', command: ['sh', '-c', 'sleep 1'] },
        { name: 'i2', image: 'busybox', command: ['sh', '-c', 'sleep 1'] },
      ],
      containers: [{ name: 'app', image: 'nginx' }],
    },
  });
  await h.step(600);
  let pod = h.pod('p1');
  assert.equal(pod?.status?.phase, 'Pending');
  assert.ok(pod?.status?.initContainerStatuses?.[0]?.state?.running);
  assert.equal(pod?.status?.initContainerStatuses?.[1]?.state?.waiting?.reason, 'PodInitializing');
  assert.equal(pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'PodInitializing');
  assert.equal(
    pod?.status?.conditions?.find((c) => c.type === 'Initialized')?.message,
    'containers with incomplete status: [i1 i2]',
  );
  await h.step(5000);
  pod = h.pod('p1');
  assert.equal(pod?.status?.phase, 'Running');
  assert.equal(pod?.status?.initContainerStatuses?.[1]?.state?.terminated?.reason, 'Completed');

  await h.createPod(
    {
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'bad', image: 'busybox', command: ['sh', '-c', 'exit 4'] }],
        containers: [{ name: 'app', image: 'nginx' }],
      },
    },
    'p2',
  );
  await h.step(2000);
  assert.equal(h.pod('p2')?.status?.phase, 'Failed');
});

test('image pulls: ErrImagePull then ImagePullBackOff with back-off; IfNotPresent uses the present image', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({ spec: { containers: [{ name: 'x', image: 'nope.example/nope:1' }] } });
  await h.step(100);
  let w = h.pod('p1')?.status?.containerStatuses?.[0]?.state?.waiting;
  assert.equal(w?.reason, 'ErrImagePull');
  assert.match(w?.message ?? '', /^Failed to pull image "nope\.example\/nope:1": /);
  await h.step(500); // halfway through the first 1 s back-off
  w = h.pod('p1')?.status?.containerStatuses?.[0]?.state?.waiting;
  assert.equal(w?.reason, 'ImagePullBackOff');
  assert.equal(w?.message, 'Back-off pulling image "nope.example/nope:1"');
  const ev = h.events('p1');
  assert.ok(ev.some((e) => e.reason === 'Failed' && e.message === 'Error: ErrImagePull'));
  assert.ok(ev.some((e) => e.reason === 'Failed' && e.message === 'Error: ImagePullBackOff'));

  await h.createPod({ spec: { containers: [{ name: 'a', image: 'nginx:1.25' }] } }, 'q1');
  await h.step(300);
  await h.createPod({ spec: { containers: [{ name: 'a', image: 'nginx:1.25' }] } }, 'q2');
  await h.step(300);
  assert.equal(
    h.events('q2').find((e) => e.reason === 'Pulled')?.message,
    'Container image "nginx:1.25" already present on machine',
  );
});

test('missing ConfigMap → CreateContainerConfigError; creating it lets the container start', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({
    spec: {
      containers: [
        { name: 'c', image: 'nginx', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } }] },
      ],
    },
  });
  await h.step(200);
  const w = h.pod('p1')?.status?.containerStatuses?.[0]?.state?.waiting;
  assert.equal(w?.reason, 'CreateContainerConfigError');
  assert.equal(w?.message, 'configmap "cfg" not found');
  const cm: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: 'default' },
    data: { a: '1' },
  };
  await h.api.resource<ConfigMap>('configmaps').create(cm);
  await h.step(1500);
  assert.equal(h.pod('p1')?.status?.phase, 'Running');
});

test('graceful deletion: containers stopped, final status, pod deleted with grace 0, sandbox removed', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  // FakeApi has no graceful pod deletion; a finalizer gives the pod a deletionTimestamp the same way.
  await h.createPod({
    metadata: { name: 'p1', finalizers: ['test/hold'] },
    spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'web', image: 'nginx' }] },
  });
  await h.step(500);
  assert.equal((await h.rt.listPodSandboxes()).length, 1);
  const pods = h.api.resource<Pod>('pods');
  await pods.delete('p1', { namespace: 'default' });
  await h.step(500);
  const terminated = h.pod('p1');
  assert.ok(
    h.api.calls.filter((c) => c.resource === 'pods' && c.verb === 'delete').length >= 2,
    'the kubelet deleted it',
  );
  // FakeApi's finalizer deletion has deletionGracePeriodSeconds 0: SIGKILL at once.
  assert.equal(terminated?.status?.phase, 'Failed', 'final status: terminal phase');
  assert.equal(terminated?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 137);
  const [sandbox] = await h.rt.listPodSandboxes();
  assert.equal(sandbox?.state, 'notready', 'sandbox stopped');
  assert.ok(terminated);
  await pods.update({ ...terminated, metadata: { ...terminated.metadata, finalizers: [] } });
  await h.step(200);
  assert.equal(h.pod('p1'), undefined);
  assert.equal((await h.rt.listPodSandboxes()).length, 0, 'sandbox removed once the pod is gone');
  assert.ok(h.events('p1').some((e) => e.reason === 'Killing' && e.message === 'Stopping container web'));
  assert.equal(h.kubelet.findPod('default', 'p1'), null);
});

test('activeDeadlineSeconds: the pod is killed and Failed with DeadlineExceeded', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({ spec: { activeDeadlineSeconds: 3, containers: [{ name: 'web', image: 'nginx' }] } });
  await h.step(1000);
  assert.equal(h.pod('p1')?.status?.phase, 'Running');
  await h.step(2500);
  const pod = h.pod('p1');
  assert.equal(pod?.status?.phase, 'Failed');
  assert.equal(pod?.status?.reason, 'DeadlineExceeded');
  assert.equal(pod?.status?.message, 'Pod was active on the node longer than the specified deadline');
  assert.ok(pod?.status?.containerStatuses?.[0]?.state?.terminated);
  await h.step(3000);
  assert.equal(h.pod('p1')?.status?.phase, 'Failed', 'terminal: nothing restarts');
});

test('a failing postStart hook kills the container and the restart policy applies', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({
    spec: {
      containers: [
        { name: 'c', image: 'nginx', lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 1'] } } } },
      ],
    },
  });
  await h.step(2500);
  assert.ok(h.events('p1').some((e) => e.reason === 'FailedPostStartHook'));
  assert.ok((h.pod('p1')?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'killed and restarted');
});

test('runtime stop and start: pods get a new sandbox and their containers come back', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({ spec: { containers: [{ name: 'web', image: 'nginx' }] } });
  await h.step(500);
  const before = h.pod('p1')?.status?.containerStatuses?.[0];
  await h.kubelet.stopRuntime();
  await h.step(2000);
  await h.kubelet.startRuntime();
  await h.step(1000);
  const after = h.pod('p1')?.status?.containerStatuses?.[0];
  assert.ok(after?.state?.running, 'running again');
  assert.equal(after?.restartCount, (before?.restartCount ?? 0) + 1);
  assert.notEqual(after?.containerID, before?.containerID);
  assert.equal(after?.lastState?.terminated?.exitCode, 137, 'the killed instance shows as lastState');
  assert.ok(h.events('p1').some((e) => e.reason === 'SandboxChanged'));
});

test('pod sources: source pods run, status goes to the source, external pods are skipped, removal stops', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  const statuses: string[] = [];
  let push: ((pods: import('../src/pod-source.js').SourcedPod[]) => void) | undefined;
  h.kubelet.addPodSource({
    name: 'file',
    start: (update) => {
      push = update;
    },
    stop: () => {},
    onStatus: (_pod, status) => statuses.push(status.phase ?? ''),
  });
  const mk = (name: string, uid: string): Pod => ({
    metadata: { name, namespace: 'kube-system', uid },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
  });
  push?.([{ pod: mk('etcd-n1', 's-1') }, { pod: mk('kube-apiserver-n1', 's-2'), external: true }]);
  await h.step(500);
  assert.ok(statuses.includes('Running'));
  assert.ok(h.kubelet.findContainer('kube-system', 'etcd-n1', 'c')?.running);
  assert.equal(h.kubelet.findContainer('kube-system', 'kube-apiserver-n1', 'c')?.containerId ?? null, null);
  assert.equal(h.api.objects('pods').length, 0, 'the kubelet writes nothing to the API for source pods');
  assert.equal((await h.rt.listPodSandboxes()).length, 1, 'external pods are not run');
  push?.([]);
  await h.step(500);
  assert.equal((await h.rt.listPodSandboxes()).length, 0, 'removed from the source: stopped and removed');
  assert.equal(h.kubelet.findPod('kube-system', 'etcd-n1'), null);
});

test('a changed container image replaces the running instance (no back-off)', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({ spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } });
  await h.step(500);
  const before = h.pod('p1');
  assert.ok(before?.status?.containerStatuses?.[0]?.state?.running);
  const pods = h.api.resource<Pod>('pods');
  assert.ok(before);
  await pods.update({ ...before, spec: { ...before.spec, containers: [{ name: 'web', image: 'nginx:1.27' }] } });
  await h.step(500);
  const cs = h.pod('p1')?.status?.containerStatuses?.[0];
  assert.ok(cs?.state?.running);
  assert.equal(cs?.image, 'nginx:1.27');
  assert.equal(cs?.imageID, 'docker.io/library/nginx:1.27');
  assert.equal(cs?.restartCount, 1);
  assert.ok(
    h
      .events('p1')
      .some((e) => e.reason === 'Killing' && e.message === 'Container web definition changed, will be restarted'),
  );
});

test('a status changed by someone else is written back promptly (not only at the next resync)', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({ spec: { containers: [{ name: 'web', image: 'nginx' }] } });
  await h.step(500);
  const pod = h.pod('p1');
  assert.ok(pod?.status);
  // What the node lifecycle controller does to the pods of a node it considers lost.
  const conditions = (pod.status.conditions ?? []).map((c) =>
    c.type === 'Ready' ? { ...c, status: 'False' as const, reason: 'NodeNotReady' } : c,
  );
  await h.api.resource<Pod>('pods').updateStatus({ ...pod, status: { ...pod.status, conditions } });
  await h.step(300);
  assert.equal(h.pod('p1')?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  const writes = h.api.calls.filter((c) => c.resource === 'pods' && c.verb === 'updateStatus').length;
  await h.step(5000, 500);
  assert.equal(
    h.api.calls.filter((c) => c.resource === 'pods' && c.verb === 'updateStatus').length,
    writes,
    'no write loop',
  );
});

test('native sidecars (init containers with restartPolicy Always) run beside the app; the pod completes without them', async (t) => {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.createPod({
    spec: {
      restartPolicy: 'Never',
      initContainers: [{ name: 'proxy', image: 'nginx', restartPolicy: 'Always' }],
      containers: [{ name: 'job', image: 'busybox', command: ['sh', '-c', 'sleep 2'] }],
    },
  });
  await h.step(1500);
  let pod = h.pod('p1');
  assert.equal(pod?.status?.phase, 'Running');
  assert.ok(pod?.status?.initContainerStatuses?.[0]?.state?.running, 'sidecar running');
  assert.ok(pod?.status?.containerStatuses?.[0]?.state?.running, 'app running beside it');
  assert.equal(pod?.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  await h.step(3000);
  pod = h.pod('p1');
  assert.equal(pod?.status?.phase, 'Succeeded');
  assert.ok(pod?.status?.initContainerStatuses?.[0]?.state?.terminated, 'sidecar stopped once the app completed');
});
