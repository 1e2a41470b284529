import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Lease } from '@kemu/api';
import { freePort, TestCluster } from '@kemu/testkit';
import {
  getNode,
  getPod,
  type KubeletProc,
  nodeReady,
  podCondition,
  podManifest,
  processesOfPod,
  startKubelet,
  testPodCidr,
  waitUntil,
} from './kubelet-e2e-helpers.js';

let c: TestCluster;
let kl: KubeletProc;
const NODE = 'worker-e2e';

before(async () => {
  c = await TestCluster.start({ etcd: 1, apiserverArgs: [] });
  kl = await startKubelet(c, NODE, await freePort(), [
    '--pod-cidr',
    testPodCidr(),
    '--node-labels',
    'node-role.kubernetes.io/worker=,tier=e2e',
    '--register-with-taints',
    'dedicated=e2e:PreferNoSchedule',
    '--port',
    '10299',
  ]);
});

after(async () => {
  await c?.destroy();
});

const dump = () => c.dumpLogs(40);

test('registers its Node with labels, taints, addresses, capacity, nodeInfo; Ready; Lease renewed', async () => {
  const node = await waitUntil(
    'node Ready',
    async () => {
      const n = await getNode(c, NODE);
      return nodeReady(n) === 'True' ? n : undefined;
    },
    { dump },
  );
  const labels = node.metadata.labels ?? {};
  assert.equal(labels['kubernetes.io/hostname'], NODE);
  assert.equal(labels['kubernetes.io/os'], 'linux');
  assert.ok(labels['kubernetes.io/arch']);
  assert.equal(labels['node-role.kubernetes.io/worker'], '');
  assert.equal(labels.tier, 'e2e');
  assert.deepEqual(node.spec?.taints, [{ key: 'dedicated', value: 'e2e', effect: 'PreferNoSchedule' }]);
  assert.deepEqual(node.status?.addresses, [
    { type: 'InternalIP', address: '127.0.0.1' },
    { type: 'Hostname', address: NODE },
  ]);
  assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10299);
  assert.equal(node.status?.capacity?.pods, '110');
  assert.ok(
    node.status?.allocatable?.cpu && node.status.allocatable.memory && node.status.allocatable['ephemeral-storage'],
  );
  assert.match(node.status?.nodeInfo?.kubeletVersion ?? '', /^v1\.32\./);
  assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'kemu-process://0.1.0');
  const ready = node.status?.conditions?.find((x) => x.type === 'Ready');
  assert.equal(ready?.reason, 'KubeletReady');
  assert.equal(ready?.message, 'kubelet is posting ready status');
  for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) {
    assert.equal(node.status?.conditions?.find((x) => x.type === t)?.status, 'False', t);
  }
  const lease1 = await c.getJson<Lease>(['lease', NODE, '-n', 'kube-node-lease']);
  assert.equal(lease1.spec?.holderIdentity, NODE);
  assert.equal(lease1.spec?.leaseDurationSeconds, 4);
  assert.match(lease1.spec?.renewTime ?? '', /\.\d{6}Z$/);
  await waitUntil(
    'lease renewed',
    async () => {
      const l = await c.getJson<Lease>(['lease', NODE, '-n', 'kube-node-lease']);
      return l.spec?.renewTime !== lease1.spec?.renewTime;
    },
    { timeoutMs: 10_000, dump },
  );
  const wide = await c.k(['get', 'nodes', NODE]);
  assert.match(wide, new RegExp(`${NODE}\\s+Ready\\s+worker\\s+\\S+\\s+v1\\.32\\.`));
});

test('nginx pod: Running with a pod IP that answers HTTP; events from the kubelet', async () => {
  await c.k(['apply', '-f', '-'], {
    input: podManifest('web', NODE, {
      containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }],
    }),
  });
  const pod = await waitUntil(
    'web Running and Ready',
    async () => {
      const p = await getPod(c, 'web');
      return p?.status?.phase === 'Running' && podCondition(p, 'Ready') === 'True' ? p : undefined;
    },
    { dump },
  );
  const ip = pod.status?.podIP ?? '';
  assert.match(ip, /^127\./);
  assert.equal(pod.status?.hostIP, '127.0.0.1');
  assert.equal(pod.status?.qosClass, 'BestEffort');
  const cs = pod.status?.containerStatuses?.[0];
  assert.equal(cs?.ready, true);
  assert.equal(cs?.started, true);
  assert.equal(cs?.restartCount, 0);
  assert.match(cs?.containerID ?? '', /^kemu:\/\//);
  assert.ok(cs?.state?.running?.startedAt);
  for (const t of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled']) {
    assert.equal(podCondition(pod, t), 'True', t);
  }
  const res = await fetch(`http://${ip}:80/`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /Welcome to nginx/);
  const events = await waitUntil(
    'kubelet events',
    async () => {
      const out = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'json']);
      const items = (
        JSON.parse(out) as {
          items: { reason: string; message: string; source?: { component?: string; host?: string } }[];
        }
      ).items;
      return items.some((e) => e.reason === 'Started') ? items : undefined;
    },
    { dump },
  );
  const by = (r: string) => events.find((e) => e.reason === r);
  assert.equal(by('Pulling')?.message, 'Pulling image "nginx"');
  assert.match(
    by('Pulled')?.message ?? '',
    /^Successfully pulled image "nginx" in \S+ \(\S+ including waiting\)\. Image size: 0 bytes\.$/,
  );
  assert.equal(by('Created')?.message, 'Created container: nginx');
  assert.equal(by('Started')?.message, 'Started container nginx');
  assert.deepEqual(by('Started')?.source, { component: 'kubelet', host: NODE });
});

test('deleting a pod stops its processes within the grace period and leaves no orphan', async () => {
  await c.k(['apply', '-f', '-'], {
    input: podManifest('sleeper', NODE, {
      terminationGracePeriodSeconds: 3,
      containers: [
        { name: 'main', image: 'busybox', command: ['sh', '-c', 'trap "" TERM; sleep 1000 & sleep 1000; wait'] },
      ],
    }),
  });
  const pod = await waitUntil(
    'sleeper Running',
    async () => {
      const p = await getPod(c, 'sleeper');
      return p?.status?.phase === 'Running' ? p : undefined;
    },
    { dump },
  );
  const uid = pod.metadata.uid ?? '';
  await waitUntil('sleeper processes visible', () => processesOfPod(uid).length >= 2);
  const t0 = Date.now();
  await c.k(['delete', 'pod', 'sleeper', '--wait=false']);
  await waitUntil('sleeper gone from the API', async () => (await getPod(c, 'sleeper')) === undefined, {
    timeoutMs: 20_000,
    dump,
  });
  const took = Date.now() - t0;
  assert.ok(took < 3000 + 4000, `pod deletion took ${took} ms`);
  assert.deepEqual(processesOfPod(uid), [], 'no process of the deleted pod remains');
});
