import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import type { Container, Node, Pod } from '@kemu/api';
import { FakeApi } from '@kemu/client';
import { ManualRuntime, silentLogger } from '@kemu/runtime';
import { containerIdForLogs } from '../src/server/container-logs.js';
import { LOG_FILE_ANNOTATION } from '../src/server/file-logs.js';
import { nodePodHost } from '../src/server/serve-node.js';
import { externalPodStatus, observeProcess, probeReadiness } from '../src/static-pods/external.js';
import {
  CONFIG_HASH_ANNOTATION,
  CONFIG_MIRROR_ANNOTATION,
  CONFIG_SEEN_ANNOTATION,
  CONFIG_SOURCE_ANNOTATION,
  PID_FILE_ANNOTATION,
  parseManifest,
  StaticPodManifestError,
  toStaticPod,
} from '../src/static-pods/manifest.js';
import { MirrorPodManager } from '../src/static-pods/mirror.js';
import { StaticPodSource } from '../src/static-pods/source.js';
import { StaticPods } from '../src/static-pods/static-pods.js';
import { FakePodHost } from './fixtures/fake-pod-host.js';
import { tempDir } from './runtime-helpers.js';

const T0 = 1_700_000_000_000;

const SCHED_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: kube-scheduler
  namespace: kube-system
  labels: {component: kube-scheduler, tier: control-plane}
spec:
  hostNetwork: true
  containers:
  - name: kube-scheduler
    image: registry.k8s.io/kube-scheduler:v1.32.4
`;

test('parseManifest: YAML or JSON, several documents, PodList; clear errors for the rest', () => {
  assert.equal(parseManifest('/m/a.yaml', SCHED_YAML)[0]?.metadata.name, 'kube-scheduler');
  const json = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'j' },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
  });
  assert.equal(parseManifest('/m/j.json', json)[0]?.metadata.name, 'j');
  const multi = `${SCHED_YAML}---\n${SCHED_YAML.replace('name: kube-scheduler\n  namespace', 'name: second\n  namespace')}---\n`;
  assert.deepEqual(
    parseManifest('/m/multi.yaml', multi).map((p) => p.metadata.name),
    ['kube-scheduler', 'second'],
  );
  const list = {
    kind: 'PodList',
    apiVersion: 'v1',
    items: [JSON.parse(json), { ...JSON.parse(json), metadata: { name: 'k' } }],
  };
  assert.equal(parseManifest('/m/l.json', JSON.stringify(list)).length, 2);
  assert.throws(
    () => parseManifest('/m/d.yaml', 'kind: Deployment\n'),
    (err: unknown) => {
      assert.ok(err instanceof StaticPodManifestError);
      assert.equal(err.code, 'STATIC_POD_MANIFEST_INVALID');
      assert.match(err.message, /^static pod manifest \/m\/d\.yaml: document 1: kind is "Deployment", want Pod$/);
      return true;
    },
  );
  assert.throws(
    () => parseManifest('/m/n.yaml', 'kind: Pod\nspec: {containers: [{name: c, image: x}]}\n'),
    /metadata\.name is required/,
  );
  assert.throws(() => parseManifest('/m/c.yaml', 'kind: Pod\nmetadata: {name: x}\nspec: {}\n'), /spec\.containers/);
  assert.throws(() => parseManifest('/m/bad.yaml', 'kind: [\n'), StaticPodManifestError);
});

test('toStaticPod: name-node, namespace, deterministic UID = config.hash, annotations, toleration, nodeName', () => {
  const [m] = parseManifest('/m/a.yaml', SCHED_YAML);
  assert.ok(m);
  const a = toStaticPod(m, { nodeName: 'cp', file: '/m/a.yaml', seen: '2026-11-22T08:00:00.000000000Z' });
  assert.equal(a.metadata.name, 'kube-scheduler-cp');
  assert.equal(a.metadata.namespace, 'kube-system');
  assert.match(a.metadata.uid ?? '', /^[0-9a-f]{32}$/);
  assert.deepEqual(a.metadata.annotations, {
    [CONFIG_HASH_ANNOTATION]: a.metadata.uid,
    [CONFIG_SOURCE_ANNOTATION]: 'file',
    [CONFIG_SEEN_ANNOTATION]: '2026-11-22T08:00:00.000000000Z',
  });
  assert.equal(a.spec.nodeName, 'cp');
  assert.equal(a.spec.restartPolicy, 'Always', 'defaulted like any pod');
  assert.deepEqual(a.spec.tolerations, [{ operator: 'Exists', effect: 'NoExecute' }]);
  assert.equal(a.status?.phase, 'Pending');
  // Same content, key order, other seen time → same UID; other node, file or content → another.
  const reordered = parseManifest(
    '/m/a.yaml',
    JSON.stringify({ spec: m.spec, metadata: m.metadata, kind: 'Pod', apiVersion: 'v1' }),
  )[0];
  assert.ok(reordered);
  const uid = (p: Pod, node = 'cp', file = '/m/a.yaml') =>
    toStaticPod(p, { nodeName: node, file, seen: 'x' }).metadata.uid;
  assert.equal(uid(reordered), a.metadata.uid);
  assert.notEqual(uid(m, 'cp2'), a.metadata.uid);
  assert.notEqual(uid(m, 'cp', '/m/b.yaml'), a.metadata.uid);
  const changed = structuredClone(m);
  changed.spec.containers[0]!.image = 'registry.k8s.io/kube-scheduler:v1.32.5';
  assert.notEqual(uid(changed), a.metadata.uid);
  // An unnamed namespace is `default`.
  const [j] = parseManifest(
    '/m/j.json',
    '{"kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}',
  );
  assert.ok(j);
  assert.equal(toStaticPod(j, { nodeName: 'n', file: 'f', seen: 's' }).metadata.namespace, 'default');
});

test('StaticPodSource: reads the directory, notices changes and removals, skips broken and hidden files', (t) => {
  const dir = tempDir(t);
  const clock = new ManualRuntime(T0);
  const src = new StaticPodSource({ dir, nodeName: 'cp', clock, log: silentLogger() });
  fs.writeFileSync(path.join(dir, 'sched.yaml'), SCHED_YAML);
  fs.writeFileSync(
    path.join(dir, '.hidden.yaml'),
    SCHED_YAML.replace('kube-scheduler\n  namespace', 'hidden\n  namespace'),
  );
  fs.writeFileSync(path.join(dir, 'broken.yaml'), 'kind: [\n');
  assert.equal(src.read(), true);
  assert.deepEqual(
    src.pods().map((p) => p.metadata.name),
    ['kube-scheduler-cp'],
  );
  const first = src.pods()[0]!;
  const seen = first.metadata.annotations?.[CONFIG_SEEN_ANNOTATION];
  clock.advance(5000);
  assert.equal(src.read(), false, 'nothing changed');
  assert.equal(src.pods()[0]?.metadata.annotations?.[CONFIG_SEEN_ANNOTATION], seen, 'seen is the first sighting');
  fs.writeFileSync(path.join(dir, 'sched.yaml'), SCHED_YAML.replace('v1.32.4', 'v1.32.5 '));
  assert.equal(src.read(), true);
  assert.notEqual(src.pods()[0]?.metadata.uid, first.metadata.uid);
  assert.notEqual(src.pods()[0]?.metadata.annotations?.[CONFIG_SEEN_ANNOTATION], seen);
  // The same pod name in a second file: the first file wins.
  fs.writeFileSync(path.join(dir, 'z-dup.yaml'), SCHED_YAML);
  src.read();
  assert.equal(src.pods().length, 1);
  fs.rmSync(path.join(dir, 'sched.yaml'));
  assert.equal(src.read(), true);
  assert.equal(
    src.pods()[0]?.metadata.annotations?.[CONFIG_HASH_ANNOTATION] !== undefined,
    true,
    'z-dup.yaml now counts',
  );
  fs.rmSync(path.join(dir, 'z-dup.yaml'));
  assert.equal(src.read(), true);
  assert.deepEqual(src.pods(), []);
});

async function fakeCluster() {
  const clock = new ManualRuntime(T0);
  const api = new FakeApi({ clock });
  const nodes = api.resource<Node>('nodes');
  const pods = api.resource<Pod>('pods');
  await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'cp' } });
  return { clock, api, nodes, pods };
}

test('MirrorPodManager: creates, recreates when deleted, replaces on a new hash, deletes orphans', async () => {
  const { pods, nodes } = await fakeCluster();
  const mgr = new MirrorPodManager({ nodeName: 'cp', pods, nodes, log: silentLogger() });
  const [m] = parseManifest('/m/a.yaml', SCHED_YAML);
  assert.ok(m);
  const v1 = toStaticPod(m, { nodeName: 'cp', file: '/m/a.yaml', seen: 's' });
  assert.deepEqual((await mgr.sync([v1])).created, ['kube-system/kube-scheduler-cp']);
  const mirror = await pods.get('kube-scheduler-cp', { namespace: 'kube-system' });
  const node = await nodes.get('cp');
  assert.equal(mirror.metadata.annotations?.[CONFIG_MIRROR_ANNOTATION], v1.metadata.uid);
  assert.equal(mirror.metadata.annotations?.[CONFIG_HASH_ANNOTATION], v1.metadata.uid);
  assert.deepEqual(mirror.metadata.ownerReferences, [
    { apiVersion: 'v1', kind: 'Node', name: 'cp', uid: node.metadata.uid, controller: true },
  ]);
  assert.notEqual(mirror.metadata.uid, v1.metadata.uid, 'the API gives the mirror pod its own UID');
  assert.deepEqual(await mgr.sync([v1]), { created: [], deleted: [], statusUpdated: [] }, 'steady state: no writes');

  await pods.delete('kube-scheduler-cp', { namespace: 'kube-system' });
  assert.deepEqual((await mgr.sync([v1])).created, ['kube-system/kube-scheduler-cp'], 'deleted → comes back');

  const changed = structuredClone(m);
  changed.spec.containers[0]!.image = 'registry.k8s.io/kube-scheduler:v1.32.5';
  const v2 = toStaticPod(changed, { nodeName: 'cp', file: '/m/a.yaml', seen: 's' });
  const replaced = await mgr.sync([v2]);
  assert.deepEqual(
    [replaced.deleted, replaced.created],
    [['kube-system/kube-scheduler-cp'], ['kube-system/kube-scheduler-cp']],
  );
  assert.equal(
    (await pods.get('kube-scheduler-cp', { namespace: 'kube-system' })).metadata.annotations?.[
      CONFIG_MIRROR_ANNOTATION
    ],
    v2.metadata.uid,
  );

  // A normal pod on the node is none of its business; a mirror pod without a manifest is removed.
  await pods.create({
    metadata: { name: 'user', namespace: 'default' },
    spec: { nodeName: 'cp', containers: [{ name: 'c', image: 'nginx' }] },
  });
  const gone = await mgr.sync([]);
  assert.deepEqual(gone.deleted, ['kube-system/kube-scheduler-cp']);
  assert.deepEqual(
    (await pods.list()).items.map((p) => p.metadata.name),
    ['user'],
  );
});

test('MirrorPodManager: waits for the Node before creating mirror pods', async () => {
  const clock = new ManualRuntime(T0);
  const api = new FakeApi({ clock });
  const mgr = new MirrorPodManager({
    nodeName: 'cp',
    pods: api.resource<Pod>('pods'),
    nodes: api.resource<Node>('nodes'),
    log: silentLogger(),
  });
  const [m] = parseManifest('/m/a.yaml', SCHED_YAML);
  assert.ok(m);
  const v1 = toStaticPod(m, { nodeName: 'cp', file: '/m/a.yaml', seen: 's' });
  assert.deepEqual((await mgr.sync([v1])).created, []);
  await api.resource<Node>('nodes').create({ metadata: { name: 'cp' } });
  assert.deepEqual((await mgr.sync([v1])).created, ['kube-system/kube-scheduler-cp']);
});

test('observeProcess: alive only while /proc/<pid>/cmdline matches the recorded argv', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'x.pid');
  assert.deepEqual(observeProcess(file), { alive: false, why: `pid file ${file} does not exist` });
  fs.writeFileSync(file, 'nope');
  assert.equal(observeProcess(file).alive, false);
  fs.writeFileSync(file, JSON.stringify({ pid: 4242, argv: ['node', 'main.js'] }));
  const mtime = Math.floor(fs.statSync(file).mtimeMs);
  assert.deepEqual(
    observeProcess(file, () => ['node', 'main.js']),
    {
      alive: true,
      pid: 4242,
      argv: ['node', 'main.js'],
      startedAt: mtime,
    },
  );
  assert.deepEqual(
    observeProcess(file, () => undefined),
    { alive: false, pid: 4242, why: 'process 4242 is not running' },
  );
  assert.equal(observeProcess(file, () => ['bash']).alive, false, 'a recycled pid is not our process');
  // The real /proc: this test process.
  fs.writeFileSync(
    file,
    JSON.stringify({
      pid: process.pid,
      argv: fs.readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').split('\0'),
    }),
  );
  assert.equal(observeProcess(file).alive, true);
});

test('externalPodStatus: Running/Ready with the node IP while alive; not ready, then a restart when a new pid appears', () => {
  const [m] = parseManifest('/m/a.yaml', SCHED_YAML);
  assert.ok(m);
  const pod = toStaticPod(m, { nodeName: 'cp', file: '/m/a.yaml', seen: 's' });
  const alive = externalPodStatus(
    pod,
    { alive: true, pid: 10, argv: ['x'], startedAt: T0 },
    { nodeIP: '127.0.0.1', now: T0 + 1000 },
  );
  assert.equal(alive.phase, 'Running');
  assert.equal(alive.podIP, '127.0.0.1');
  assert.equal(alive.hostIP, '127.0.0.1');
  assert.equal(alive.qosClass, 'BestEffort');
  assert.deepEqual(
    alive.conditions?.map((c) => [c.type, c.status]),
    [
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ],
  );
  const cs = alive.containerStatuses?.[0];
  assert.deepEqual(
    [cs?.ready, cs?.restartCount, cs?.containerID, cs?.state?.running?.startedAt],
    [true, 0, 'kemu-pid://10', '2023-11-14T22:13:20Z'],
  );

  const dead = externalPodStatus(
    pod,
    { alive: false, pid: 10, why: 'process 10 is not running' },
    { nodeIP: '127.0.0.1', now: T0 + 5000, previous: alive },
  );
  assert.equal(dead.phase, 'Running');
  const ready = dead.conditions?.find((c) => c.type === 'Ready');
  assert.deepEqual(
    [ready?.status, ready?.reason, ready?.message],
    ['False', 'ContainersNotReady', 'containers with unready status: [kube-scheduler]'],
  );
  assert.equal(dead.containerStatuses?.[0]?.state?.terminated?.reason, 'ContainerStatusUnknown');
  assert.equal(
    dead.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime,
    alive.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime,
  );

  const back = externalPodStatus(
    pod,
    { alive: true, pid: 11, argv: ['x'], startedAt: T0 + 6000 },
    { nodeIP: '127.0.0.1', now: T0 + 7000, previous: dead },
  );
  const b = back.containerStatuses?.[0];
  assert.deepEqual([b?.ready, b?.restartCount, b?.containerID], [true, 1, 'kemu-pid://11']);
  assert.equal(b?.lastState?.terminated?.reason, 'ContainerStatusUnknown');
});

test('StaticPods: external pods are mirrored with their status, the others go to the sync loop', async (t) => {
  const { clock, pods, nodes } = await fakeCluster();
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, 'sched.yaml'),
    SCHED_YAML.replace('  labels:', `  annotations: {${PID_FILE_ANNOTATION}: /run/sched.pid}\n  labels:`),
  );
  fs.writeFileSync(
    path.join(dir, 'web.yaml'),
    'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: nginx, image: nginx}]}\n',
  );
  let alive = true;
  const sp = new StaticPods({
    dir,
    nodeName: 'cp',
    nodeIP: '127.0.0.1',
    pods,
    nodes,
    runtime: clock,
    log: silentLogger(),
    observe: () =>
      alive ? { alive: true, pid: 7, argv: ['x'], startedAt: T0 } : { alive: false, pid: 7, why: 'gone' },
  });
  let changes = 0;
  sp.onChange(() => changes++);
  await sp.syncNow();
  assert.equal(changes, 1);
  assert.deepEqual(
    sp.pods().map((p) => p.metadata.name),
    ['web-cp'],
  );
  const mirror = await pods.get('kube-scheduler-cp', { namespace: 'kube-system' });
  assert.equal(mirror.status?.phase, 'Running');
  assert.equal(mirror.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.ok(await pods.get('web-cp', { namespace: 'default' }), 'normal static pods are mirrored too');
  alive = false;
  const r = await sp.syncNow();
  assert.deepEqual(r?.statusUpdated, ['kube-system/kube-scheduler-cp']);
  const notReady = await pods.get('kube-scheduler-cp', { namespace: 'kube-system' });
  assert.equal(notReady.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  assert.equal(sp.externalPods()[0]?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  fs.rmSync(path.join(dir, 'web.yaml'));
  await sp.syncNow();
  assert.equal(changes, 2);
  assert.deepEqual(
    (await pods.list()).items.map((p) => p.metadata.name),
    ['kube-scheduler-cp'],
  );
});

test("StaticPods as the kubelet pod source: full set on start and on change; run pods' status goes to the mirror", async (t) => {
  const { clock, pods, nodes } = await fakeCluster();
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, 'web.yaml'),
    'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: nginx, image: nginx}]}\n',
  );
  const sp = new StaticPods({
    dir,
    nodeName: 'cp',
    nodeIP: '127.0.0.1',
    pods,
    nodes,
    runtime: clock,
    log: silentLogger(),
  });
  t.after(() => sp.stop());
  const updates: { name: string | undefined; external: boolean | undefined }[][] = [];
  sp.start((set) => updates.push(set.map((s) => ({ name: s.pod.metadata.name, external: s.external }))));
  assert.deepEqual(updates, [[{ name: 'web-cp', external: false }]]);
  const web = sp.pods()[0];
  assert.ok(web);
  await sp.syncNow();
  sp.onStatus(web, { phase: 'Running', podIP: '127.1.0.9' });
  await sp.syncNow();
  const mirror = await pods.get('web-cp', { namespace: 'default' });
  assert.deepEqual([mirror.status?.phase, mirror.status?.podIP], ['Running', '127.1.0.9']);
  // Deleted: it comes back with the latest status the kubelet reported.
  await pods.delete('web-cp', { namespace: 'default' });
  await sp.syncNow();
  assert.equal((await pods.get('web-cp', { namespace: 'default' })).status?.phase, 'Running');
  fs.writeFileSync(
    path.join(dir, 'sched.yaml'),
    SCHED_YAML.replace('  labels:', `  annotations: {${PID_FILE_ANNOTATION}: /run/none.pid}\n  labels:`),
  );
  await sp.syncNow();
  assert.deepEqual(updates.at(-1), [
    { name: 'kube-scheduler-cp', external: true },
    { name: 'web-cp', external: false },
  ]);
});

test('probeReadiness: httpGet 2xx/3xx and tcpSocket, against real sockets', async (t) => {
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/readyz' ? 200 : 503;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const c = (readinessProbe: Container['readinessProbe']): Container => ({ name: 'c', image: 'x', readinessProbe });
  assert.equal(await probeReadiness(c({ httpGet: { path: '/readyz', port } }), '127.0.0.1'), true);
  assert.equal(await probeReadiness(c({ httpGet: { path: '/nope', port } }), '127.0.0.1'), false);
  assert.equal(await probeReadiness(c({ tcpSocket: { port } }), '127.0.0.1'), true);
  const closed = await freePortLocal();
  assert.equal(await probeReadiness(c({ tcpSocket: { port: closed } }), '127.0.0.1'), false);
  assert.equal(await probeReadiness(c({ httpGet: { path: '/readyz', port: closed } }), '127.0.0.1'), false);
  assert.equal(await probeReadiness(c(undefined), '127.0.0.1'), true, 'no probe: a live process is ready');
});

test('StaticPods: an external pod with a readiness probe is Ready only while the probe passes (failureThreshold)', async (t) => {
  const { clock, pods, nodes } = await fakeCluster();
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, 'api.yaml'),
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: kube-apiserver, namespace: kube-system, annotations: {kemu.dev/pid-file: /run/api.pid}}',
      'spec:',
      '  containers:',
      '  - name: kube-apiserver',
      '    image: registry.k8s.io/kube-apiserver:v1.32.4',
      '    readinessProbe: {httpGet: {path: /readyz, port: 6443}, failureThreshold: 2}',
      '',
    ].join('\n'),
  );
  let healthy = true;
  const sp = new StaticPods({
    dir,
    nodeName: 'cp',
    nodeIP: '127.0.0.1',
    pods,
    nodes,
    runtime: clock,
    log: silentLogger(),
    observe: () => ({ alive: true, pid: 9, argv: ['x'], startedAt: T0 }),
    probe: async () => healthy,
  });
  const readyNow = async () =>
    (await pods.get('kube-apiserver-cp', { namespace: 'kube-system' })).status?.conditions?.find(
      (c) => c.type === 'Ready',
    )?.status;
  await sp.syncNow();
  assert.equal(await readyNow(), 'True');
  healthy = false;
  await sp.syncNow();
  assert.equal(await readyNow(), 'True', 'one failure is below failureThreshold 2');
  await sp.syncNow();
  assert.equal(await readyNow(), 'False');
  const status = sp.externalPods()[0]?.status;
  assert.equal(status?.containerStatuses?.[0]?.state?.running !== undefined, true, 'still running, just not ready');
  healthy = true;
  await sp.syncNow();
  assert.equal(await readyNow(), 'True');
});

/** A port nobody listens on (bound and released). */
async function freePortLocal(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('nodePodHost: external pods come from the static pods (logs from their log file, or why not)', async (t) => {
  const { clock, pods, nodes } = await fakeCluster();
  const dir = tempDir(t);
  const manifest = (name: string, annotations: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: kube-system, annotations: {${annotations}}}\nspec: {containers: [{name: c, image: x}]}\n`;
  fs.writeFileSync(path.join(dir, 'a.yaml'), manifest('a', `${PID_FILE_ANNOTATION}: /run/a.pid`));
  fs.writeFileSync(
    path.join(dir, 'b.yaml'),
    manifest('b', `${PID_FILE_ANNOTATION}: /run/b.pid, ${LOG_FILE_ANNOTATION}: /var/log/b.log`),
  );
  const sp = new StaticPods({
    dir,
    nodeName: 'cp',
    nodeIP: '127.0.0.1',
    pods,
    nodes,
    runtime: clock,
    log: silentLogger(),
    observe: () => ({ alive: true, pid: 5, argv: ['x'], startedAt: T0 }),
  });
  await sp.syncNow();
  const core = new FakePodHost();
  const host = nodePodHost(core, sp);
  assert.deepEqual(
    host.managedPods().map((p) => p.metadata.name),
    ['a-cp', 'b-cp'],
  );
  assert.equal(host.findPod('kube-system', 'a-cp')?.podIP, '127.0.0.1');
  const a = host.findContainer('kube-system', 'a-cp', 'c');
  assert.ok(a);
  assert.throws(
    () => containerIdForLogs(a, 'c', false),
    /is a process the kemu supervisor runs, and its manifest names no log file/,
  );
  assert.equal(host.findContainer('kube-system', 'b-cp', 'c')?.logFile, '/var/log/b.log');
  assert.equal(host.findContainer('kube-system', 'b-cp', 'nope'), null);
  assert.equal(host.findPod('default', 'other'), null);
});
