import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Lease } from '@kemu/api';
import { type ChildProc, freePort, TestCluster } from '@kemu/testkit';
import {
  getNode,
  getPod,
  type KubeletProc,
  nodeReady,
  podCondition,
  podManifest,
  processesOfContainer,
  processesOfPod,
  startKubelet,
  testPodCidr,
  tmpDir,
  waitUntil,
} from './kubelet-e2e-helpers.js';

let c: TestCluster;
let kl: KubeletProc & { proc: ChildProc };
let klArgs: string[];
const NODE = 'worker-e2e';

before(async () => {
  c = await TestCluster.start({ etcd: 1, apiserverArgs: [] });
  klArgs = [
    '--pod-cidr',
    testPodCidr(),
    '--node-labels',
    'node-role.kubernetes.io/worker=,tier=e2e',
    '--register-with-taints',
    'dedicated=e2e:PreferNoSchedule',
    '--port',
    '10299',
  ];
  kl = await startKubelet(c, NODE, await freePort(), klArgs);
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
  // Running means started, not listening yet (no readiness probe), as on a real node: retry briefly.
  const body = await waitUntil(
    'nginx answers on the pod IP',
    async () => {
      const res = await fetch(`http://${ip}:80/`);
      return res.status === 200 ? res.text() : undefined;
    },
    { timeoutMs: 10_000, dump },
  );
  assert.match(body, /Welcome to nginx/);
  // Status is written only on change: a settled pod's resourceVersion stays put (relists, resyncs).
  const rv = (await getPod(c, 'web'))?.metadata.resourceVersion;
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await getPod(c, 'web'))?.metadata.resourceVersion, rv, 'no status rewrite of a settled pod');
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

test('deleting a pod runs preStop, stops its processes within the grace period and leaves no orphan', async () => {
  const hookDir = tmpDir('kemu-prestop-');
  await c.k(['apply', '-f', '-'], {
    input: podManifest('sleeper', NODE, {
      terminationGracePeriodSeconds: 3,
      volumes: [{ name: 'hook', hostPath: { path: hookDir, type: 'DirectoryOrCreate' } }],
      containers: [
        {
          name: 'main',
          image: 'busybox',
          command: ['sh', '-c', 'trap "" TERM; sleep 1000 & sleep 1000; wait'],
          volumeMounts: [{ name: 'hook', mountPath: '/hook' }],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo bye > /hook/prestop'] } } },
        },
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
  assert.equal(fs.readFileSync(path.join(hookDir, 'prestop'), 'utf8'), 'bye\n', 'the preStop hook ran');
});

async function eventsOf(pod: string): Promise<{ reason: string; message: string; type: string; count?: number }[]> {
  const out = await c.k(['get', 'events', '--field-selector', `involvedObject.name=${pod}`, '-o', 'json']);
  return (JSON.parse(out) as { items: { reason: string; message: string; type: string; count?: number }[] }).items;
}

test('readiness probe failing keeps the pod Running but not Ready', async () => {
  await c.k(['apply', '-f', '-'], {
    input: podManifest('unready', NODE, {
      containers: [
        {
          name: 'nginx',
          image: 'nginx',
          readinessProbe: { httpGet: { path: '/healthz-missing', port: 80 }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    }),
  });
  const notFound = 'Readiness probe failed: HTTP probe failed with statuscode: 404';
  const pod = await waitUntil(
    'unready Running with a 404 readiness event',
    async () => {
      const p = await getPod(c, 'unready');
      if (p?.status?.phase !== 'Running') return undefined;
      const ev = await eventsOf('unready');
      return ev.some((e) => e.reason === 'Unhealthy' && e.message === notFound) ? p : undefined;
    },
    { dump },
  );
  assert.equal(podCondition(pod, 'Ready'), 'False');
  assert.equal(podCondition(pod, 'ContainersReady'), 'False');
  const ready = pod.status?.conditions?.find((x) => x.type === 'Ready');
  assert.equal(ready?.reason, 'ContainersNotReady');
  assert.equal(ready?.message, 'containers with unready status: [nginx]');
  assert.equal(pod.status?.containerStatuses?.[0]?.ready, false);
  const ev = (await eventsOf('unready')).find((e) => e.message === notFound);
  assert.equal(ev?.type, 'Warning');
});

test('failing liveness probe: the container is killed and restarted (restartCount grows)', async () => {
  await c.k(['apply', '-f', '-'], {
    input: podManifest('unlive', NODE, {
      containers: [
        {
          name: 'nginx',
          image: 'nginx',
          livenessProbe: { tcpSocket: { port: 81 }, periodSeconds: 1, failureThreshold: 2 },
        },
      ],
    }),
  });
  const pod = await waitUntil(
    'unlive restarted twice',
    async () => {
      const p = await getPod(c, 'unlive');
      return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? p : undefined;
    },
    { timeoutMs: 40_000, dump },
  );
  const cs = pod.status?.containerStatuses?.[0];
  assert.ok(cs?.lastState?.terminated, 'lastState shows the killed instance');
  const ev = await eventsOf('unlive');
  const unhealthy = ev.find((e) => e.reason === 'Unhealthy');
  assert.match(unhealthy?.message ?? '', /^Liveness probe failed: dial tcp 127\.\S+:81: connect: connection refused$/);
  assert.equal(
    ev.find((e) => e.reason === 'Killing')?.message,
    'Container nginx failed liveness probe, will be restarted',
  );
});

test('a crashing container goes into CrashLoopBackOff', async () => {
  await c.k(['apply', '-f', '-'], {
    input: podManifest('crash', NODE, {
      containers: [{ name: 'crash', image: 'busybox', command: ['sh', '-c', 'echo bye; exit 3'] }],
    }),
  });
  const pod = await waitUntil(
    'crash in CrashLoopBackOff',
    async () => {
      const p = await getPod(c, 'crash');
      return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    },
    { dump },
  );
  const cs = pod.status?.containerStatuses?.[0];
  const uid = pod.metadata.uid ?? '';
  assert.match(
    cs?.state?.waiting?.message ?? '',
    new RegExp(`^back-off \\S+ restarting failed container=crash pod=crash_default\\(${uid}\\)$`),
  );
  assert.equal(cs?.lastState?.terminated?.exitCode, 3);
  assert.equal(cs?.lastState?.terminated?.reason, 'Error');
  assert.equal(pod.status?.phase, 'Running');
  const ev = await eventsOf('crash');
  assert.equal(
    ev.find((e) => e.reason === 'BackOff')?.message,
    `Back-off restarting failed container crash in pod crash_default(${uid})`,
  );
});

test('a memory hog over its limit is OOMKilled (exit 137)', async () => {
  await c.k(['apply', '-f', '-'], {
    input: podManifest('hog', NODE, {
      restartPolicy: 'Never',
      containers: [{ name: 'hog', image: 'kemu/memhog', resources: { limits: { memory: '48Mi' } } }],
    }),
  });
  const pod = await waitUntil(
    'hog Failed',
    async () => {
      const p = await getPod(c, 'hog');
      return p?.status?.phase === 'Failed' ? p : undefined;
    },
    { dump },
  );
  const t = pod.status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(t?.reason, 'OOMKilled');
  assert.equal(t?.exitCode, 137);
  assert.equal(pod.status?.qosClass, 'Burstable');
});

test('an unknown image: ErrImagePull, then ImagePullBackOff', async () => {
  await c.k(['apply', '-f', '-'], {
    input: podManifest('nope', NODE, { containers: [{ name: 'x', image: 'nope.example/nope:1' }] }),
  });
  const seen = new Set<string>();
  await waitUntil(
    'ErrImagePull and ImagePullBackOff both seen',
    async () => {
      const p = await getPod(c, 'nope');
      const r = p?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      if (r) seen.add(r);
      return seen.has('ErrImagePull') && seen.has('ImagePullBackOff');
    },
    { intervalMs: 100, dump },
  );
  const ev = await eventsOf('nope');
  assert.ok(ev.some((e) => e.reason === 'Failed' && e.message === 'Error: ErrImagePull'));
  assert.ok(ev.some((e) => e.reason === 'BackOff' && e.message === 'Back-off pulling image "nope.example/nope:1"'));
});

test('init container, env (ConfigMap, fieldRef, $(VAR)) and emptyDir volume', async () => {
  await c.k(['create', 'configmap', 'greet', '--from-literal=GREETING=hello']);
  await c.k(['apply', '-f', '-'], {
    input: podManifest('envpod', NODE, {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        {
          name: 'init',
          image: 'busybox',
          command: ['sh', '-c', 'echo ready > /work/init'],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
      ],
      containers: [
        {
          name: 'main',
          image: 'busybox',
          command: ['sh', '-c', 'echo "$MSG $(cat /work/init)" > /work/out; sleep 1000'],
          env: [
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'greet', key: 'GREETING' } } },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MSG', value: '$(GREETING) from $(POD)' },
          ],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
      ],
    }),
  });
  const pod = await waitUntil(
    'envpod Running',
    async () => {
      const p = await getPod(c, 'envpod');
      return p?.status?.phase === 'Running' ? p : undefined;
    },
    { dump },
  );
  assert.equal(pod.status?.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  assert.equal(podCondition(pod, 'Initialized'), 'True');
  const { default: fs } = await import('node:fs');
  const out = `${kl.rootDir}/pods/${pod.metadata.uid}/volumes/kubernetes.io~empty-dir/work/out`;
  const text = await waitUntil('output file', () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : undefined));
  assert.equal(text, 'hello from envpod ready\n');
});

test('runtime stop: node NotReady with the runtime reason; start: Ready again and pods run again', async () => {
  const before = await getPod(c, 'web');
  const restarts = before?.status?.containerStatuses?.[0]?.restartCount ?? 0;
  const stop = await fetch(`${kl.adminUrl}/runtime/stop`, { method: 'POST' });
  assert.equal(stop.status, 200);
  assert.equal(((await stop.json()) as { ready: boolean }).ready, false);
  const node = await waitUntil(
    'node NotReady',
    async () => {
      const n = await getNode(c, NODE);
      return nodeReady(n) === 'False' ? n : undefined;
    },
    { timeoutMs: 10_000, dump },
  );
  const ready = node.status?.conditions?.find((x) => x.type === 'Ready');
  assert.equal(ready?.reason, 'KubeletNotReady');
  assert.match(ready?.message ?? '', /^container runtime is down: .*RuntimeStopped/);
  const start = await fetch(`${kl.adminUrl}/runtime/start`, { method: 'POST' });
  assert.equal(start.status, 200);
  await waitUntil('node Ready again', async () => nodeReady(await getNode(c, NODE)) === 'True', {
    timeoutMs: 10_000,
    dump,
  });
  const pod = await waitUntil(
    'web running again in a new sandbox',
    async () => {
      const p = await getPod(c, 'web');
      const cs = p?.status?.containerStatuses?.[0];
      return cs?.state?.running && cs.restartCount > restarts ? p : undefined;
    },
    { timeoutMs: 20_000, dump },
  );
  await waitUntil('nginx answers again', async () => (await fetch(`http://${pod.status?.podIP}:80/`)).status === 200, {
    timeoutMs: 10_000,
    dump,
  });
});

test('heartbeats freeze stops Lease renewals; resume restarts them', async () => {
  const r = await fetch(`${kl.adminUrl}/heartbeats/freeze`, { method: 'POST' });
  assert.equal(r.status, 200);
  await new Promise((res) => setTimeout(res, 1500)); // let an in-flight renewal land
  const l1 = await c.getJson<Lease>(['lease', NODE, '-n', 'kube-node-lease']);
  await new Promise((res) => setTimeout(res, 2500));
  const l2 = await c.getJson<Lease>(['lease', NODE, '-n', 'kube-node-lease']);
  assert.equal(l2.spec?.renewTime, l1.spec?.renewTime, 'no renewal while frozen');
  await fetch(`${kl.adminUrl}/heartbeats/resume`, { method: 'POST' });
  await waitUntil(
    'lease renewed after resume',
    async () => {
      const l = await c.getJson<Lease>(['lease', NODE, '-n', 'kube-node-lease']);
      return l.spec?.renewTime !== l1.spec?.renewTime;
    },
    { timeoutMs: 10_000, dump },
  );
  const bad = await fetch(`${kl.adminUrl}/runtime?node=other`);
  assert.equal(bad.status, 404);
});

test('a deleted Node is registered again', async () => {
  await c.k(['delete', 'node', NODE, '--wait=false']);
  await waitUntil('node back', async () => nodeReady(await getNode(c, NODE)) === 'True', { timeoutMs: 15_000, dump });
});

test('kubelet killed and restarted: its old containers are reaped, pods run again, restart counts continue', async () => {
  const before = await getPod(c, 'web');
  const cs = before?.status?.containerStatuses?.[0];
  const oldId = (cs?.containerID ?? '').replace(/^kemu:\/\//, '');
  assert.ok(oldId && cs?.state?.running, 'web is running');
  assert.ok(processesOfContainer(oldId).length > 0, 'its process is alive');
  await kl.proc.kill9();
  // Like containers under a dead kubelet, the process keeps running until the kubelet is back.
  assert.ok(processesOfContainer(oldId).length > 0, 'container survives the kubelet being killed');
  const adminPort = Number(new URL(kl.adminUrl).port);
  kl = await startKubelet(c, NODE, adminPort, klArgs, kl.rootDir);
  const pod = await waitUntil(
    'web running in a new container',
    async () => {
      const p = await getPod(c, 'web');
      const s = p?.status?.containerStatuses?.[0];
      return s?.state?.running && s.containerID !== cs?.containerID ? p : undefined;
    },
    { timeoutMs: 20_000, dump },
  );
  assert.deepEqual(processesOfContainer(oldId), [], 'the old container was reaped');
  assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, (cs?.restartCount ?? 0) + 1);
  await waitUntil(
    'nginx answers after the kubelet restart',
    async () => (await fetch(`http://${pod.status?.podIP}:80/`)).status === 200,
    {
      timeoutMs: 10_000,
      dump,
    },
  );
});
