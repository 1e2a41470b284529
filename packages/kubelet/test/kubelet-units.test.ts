import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ConfigMap, Pod, Secret, Service } from '@kemu/api';
import { ManualRuntime } from '@kemu/runtime';
import { Backoff, goDuration } from '../src/backoff.js';
import { parseKubeletFlags, parseLabels, parseTaints } from '../src/config.js';
import { expandVars, resolveEnv, serviceEnv } from '../src/env.js';
import { KubeletFlagError } from '../src/errors.js';
import { nodeConditions, readinessOf } from '../src/node-status.js';
import { newPodRecord } from '../src/pod-record.js';
import { computePodStatus, podPhase } from '../src/pod-status.js';
import { ProbeWorker, resolvePort } from '../src/probes.js';
import { containerMounts, preparePodVolumes } from '../src/volumes.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function pod(spec: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod {
  return {
    metadata: {
      name: 'p',
      namespace: 'ns',
      uid: 'u-1',
      labels: { app: 'x', tier: 'web' },
      annotations: { a: '1' },
      ...meta,
    },
    spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [{ name: 'c', image: 'busybox' }], ...spec },
  };
}

const net = { nodeName: 'n1', hostIP: '127.0.0.1', podIP: '127.1.0.5', nodeAllocatable: { cpu: '8', memory: '32Gi' } };

function sources(cms: ConfigMap[], secrets: Secret[], services: Service[] = []) {
  return {
    configMap: async (ns: string, name: string) =>
      cms.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    secret: async (ns: string, name: string) =>
      secrets.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    services: (ns: string) =>
      services.filter(
        (s) => s.metadata.namespace === ns || (s.metadata.namespace === 'default' && s.metadata.name === 'kubernetes'),
      ),
    pvc: async () => undefined,
    pv: async () => undefined,
  };
}

test('expandVars: $(VAR), $$ escapes, unknown names kept', () => {
  const env = new Map([
    ['A', 'x'],
    ['B', 'y'],
  ]);
  const lookup = (n: string) => env.get(n);
  assert.equal(expandVars('$(A)-$(B)', lookup), 'x-y');
  assert.equal(expandVars('$$(A)', lookup), '$(A)');
  assert.equal(expandVars('$(C) $A $(A', lookup), '$(C) $A $(A');
});

test('resolveEnv: envFrom with prefix, valueFrom (configMap, secret, fieldRef, resourceFieldRef), optional, order', async () => {
  const cm: ConfigMap = { metadata: { name: 'cfg', namespace: 'ns' }, data: { MODE: 'prod', 'bad name': 'skip' } };
  const sec: Secret = { metadata: { name: 's', namespace: 'ns' }, data: { PASSWORD: b64('hunter2') } };
  const p = pod({
    containers: [
      {
        name: 'c',
        image: 'busybox',
        resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } },
        envFrom: [
          { configMapRef: { name: 'cfg' }, prefix: 'CFG_' },
          { secretRef: { name: 'missing', optional: true } },
        ],
        env: [
          { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'PASSWORD' } } },
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
          { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'CPU_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
          { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope', optional: true } } },
          { name: 'MSG', value: '$(CFG_MODE) on $(NODE)' },
        ],
      },
    ],
  });
  const env = await resolveEnv(p, p.spec.containers[0] as Pod['spec']['containers'][0], sources([cm], [sec]), net);
  const m = Object.fromEntries(env.map((e) => [e.name, e.value]));
  assert.equal(m.CFG_MODE, 'prod');
  assert.equal(m['CFG_bad name'], undefined, 'invalid names skipped');
  assert.equal(m.PW, 'hunter2');
  assert.equal(m.NAME, 'p');
  assert.equal(m.NS, 'ns');
  assert.equal(m.UID, 'u-1');
  assert.equal(m.APP, 'x');
  assert.equal(m.NODE, 'n1');
  assert.equal(m.SA, 'sa');
  assert.equal(m.IP, '127.1.0.5');
  assert.equal(m.HOST, '127.0.0.1');
  assert.equal(m.MEM_MI, '64');
  assert.equal(m.CPU_M, '250');
  assert.equal(m.CPU_LIMIT, '8', 'no limit: node allocatable');
  assert.equal('OPT' in m, false);
  assert.equal(m.MSG, 'prod on n1');
});

test('resolveEnv: missing ConfigMap/Secret/key errors are worded like upstream', async () => {
  const c = (env: NonNullable<Pod['spec']['containers'][0]['env']>) => ({ name: 'c', image: 'x', env });
  const cm: ConfigMap = { metadata: { name: 'cfg', namespace: 'ns' }, data: {} };
  await assert.rejects(
    resolveEnv(
      pod(),
      c([{ name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }]),
      sources([], []),
      net,
    ),
    { code: 'KUBELET_CONTAINER_CONFIG', message: 'configmap "nope" not found' },
  );
  await assert.rejects(
    resolveEnv(
      pod(),
      c([{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }]),
      sources([cm], []),
      net,
    ),
    { message: "couldn't find key k in ConfigMap ns/cfg" },
  );
  await assert.rejects(
    resolveEnv(pod(), c([{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]), sources([], []), net),
    { message: 'secret "s" not found' },
  );
});

test('Service links: _SERVICE_HOST/_PORT, named ports, docker links; enableServiceLinks false keeps only kubernetes', async () => {
  const svc = (
    ns: string,
    name: string,
    ip: string,
    ports: Service['spec'] extends infer S ? (S extends { ports?: infer P } ? P : never) : never,
  ): Service => ({
    metadata: { name, namespace: ns },
    spec: { clusterIP: ip, ports },
  });
  const services = [
    svc('ns', 'my-db', '10.96.0.20', [{ name: 'sql', port: 5432, protocol: 'TCP' }]),
    svc('ns', 'headless', 'None', [{ port: 80 }]),
    svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443 }]),
  ];
  const env = serviceEnv(services.filter((s) => s.metadata.namespace === 'ns'));
  const m = Object.fromEntries(env.map((e) => [e.name, e.value]));
  assert.equal(m.MY_DB_SERVICE_HOST, '10.96.0.20');
  assert.equal(m.MY_DB_SERVICE_PORT, '5432');
  assert.equal(m.MY_DB_SERVICE_PORT_SQL, '5432');
  assert.equal(m.MY_DB_PORT, 'tcp://10.96.0.20:5432');
  assert.equal(m.MY_DB_PORT_5432_TCP_ADDR, '10.96.0.20');
  assert.equal(m.HEADLESS_SERVICE_HOST, undefined, 'headless services get no variables');
  const all = await resolveEnv(
    pod(),
    { name: 'c', image: 'x', env: [{ name: 'MY_DB_SERVICE_HOST', value: 'mine' }] },
    sources([], [], services),
    net,
  );
  const am = Object.fromEntries(all.map((e) => [e.name, e.value]));
  assert.equal(am.MY_DB_SERVICE_HOST, 'mine', 'the pod’s own definition wins');
  assert.equal(am.KUBERNETES_SERVICE_HOST, '10.96.0.1');
  const off = await resolveEnv(
    pod({ enableServiceLinks: false }),
    { name: 'c', image: 'x' },
    sources([], [], services),
    net,
  );
  const om = Object.fromEntries(off.map((e) => [e.name, e.value]));
  assert.equal(om.MY_DB_SERVICE_HOST, undefined);
  assert.equal(om.KUBERNETES_SERVICE_HOST, '10.96.0.1');
});

test('volumes: emptyDir, configMap (items), secret, downwardAPI, projected, subPath; missing configMap', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-vol-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cm: ConfigMap = { metadata: { name: 'cfg', namespace: 'ns' }, data: { 'a.conf': 'A', 'b.conf': 'B' } };
  const sec: Secret = { metadata: { name: 's', namespace: 'ns' }, data: { token: b64('t0k') } };
  const p = pod({
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'conf', configMap: { name: 'cfg', items: [{ key: 'a.conf', path: 'sub/a.conf' }] } },
      { name: 'sec', secret: { secretName: 's' } },
      {
        name: 'info',
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
          ],
        },
      },
      { name: 'proj', projected: { sources: [{ configMap: { name: 'cfg' } }, { secret: { name: 's' } }] } },
    ],
  });
  const vols = await preparePodVolumes(p, dir, sources([cm], [sec]), net);
  const read = (name: string, rel: string) => fs.readFileSync(path.join(vols.get(name)?.hostPath ?? '', rel), 'utf8');
  assert.equal(read('conf', 'sub/a.conf'), 'A');
  assert.equal(fs.existsSync(path.join(vols.get('conf')?.hostPath ?? '', 'b.conf')), false, 'only listed items');
  assert.equal(read('sec', 'token'), 't0k');
  assert.equal(read('info', 'labels'), 'app="x"\ntier="web"');
  assert.equal(read('info', 'name'), 'p');
  assert.equal(read('proj', 'b.conf'), 'B');
  assert.equal(read('proj', 'token'), 't0k');
  assert.ok(fs.statSync(vols.get('scratch')?.hostPath ?? '').isDirectory());
  const mounts = containerMounts(
    {
      name: 'c',
      volumeMounts: [
        { name: 'scratch', mountPath: '/data', subPath: 'x' },
        { name: 'conf', mountPath: '/etc/app' },
      ],
    },
    vols,
  );
  assert.equal(mounts[0]?.hostPath, path.join(vols.get('scratch')?.hostPath ?? '', 'x'));
  assert.equal(mounts[1]?.readOnly, true);
  // An edited ConfigMap reaches the files; a key that is gone disappears.
  cm.data = { 'a.conf': 'A2' };
  const again = await preparePodVolumes(p, dir, sources([cm], [sec]), net);
  assert.equal(fs.readFileSync(path.join(again.get('conf')?.hostPath ?? '', 'sub/a.conf'), 'utf8'), 'A2');
  assert.equal(fs.existsSync(path.join(again.get('proj')?.hostPath ?? '', 'b.conf')), false);
  await assert.rejects(preparePodVolumes(p, dir, sources([], [sec]), net), { message: 'configmap "cfg" not found' });
  assert.throws(
    () => containerMounts({ name: 'c', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }, vols),
    /cannot find volume "nope"/,
  );
});

test('pod phase follows upstream getPhase', () => {
  const run = { name: 'a', ready: true, restartCount: 0, image: '', imageID: '', state: { running: {} } };
  const done0 = { ...run, state: { terminated: { exitCode: 0 } } };
  const done1 = { ...run, state: { terminated: { exitCode: 1 } } };
  const wait = { ...run, state: { waiting: { reason: 'ContainerCreating' } } };
  const crash = {
    ...run,
    state: { waiting: { reason: 'CrashLoopBackOff' } },
    lastState: { terminated: { exitCode: 1 } },
  };
  const p = (policy: 'Always' | 'OnFailure' | 'Never') => pod({ restartPolicy: policy });
  assert.equal(podPhase(p('Always'), [], [run, wait], true), 'Pending');
  assert.equal(podPhase(p('Always'), [], [run, done0], true), 'Running');
  assert.equal(podPhase(p('Always'), [], [crash], true), 'Running');
  assert.equal(podPhase(p('Always'), [], [done0], true), 'Running');
  assert.equal(podPhase(p('Never'), [], [done0, done0], true), 'Succeeded');
  assert.equal(podPhase(p('Never'), [], [done0, done1], true), 'Failed');
  assert.equal(podPhase(p('OnFailure'), [], [done1], true), 'Running');
  assert.equal(podPhase(p('OnFailure'), [], [done0], true), 'Succeeded');
  assert.equal(podPhase(p('Never'), [done1], [wait], false), 'Failed');
  assert.equal(podPhase(p('Always'), [done1], [wait], false), 'Pending');
});

test('computePodStatus: container states, lastState, conditions keep transition times, qosClass', () => {
  const p = pod({ containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '1', memory: '1Gi' } } }] });
  const rec = newPodRecord(p, 'api', false);
  rec.sandboxId = 'sb';
  rec.podIP = '127.1.0.9';
  rec.startTime = Date.parse('2026-11-22T08:00:00Z');
  rec.attempts.set('c', 1);
  rec.terminations.set('c', [
    {
      id: 'old',
      attempt: 0,
      exitCode: 137,
      reason: 'OOMKilled',
      message: '',
      startedAt: rec.startTime,
      finishedAt: rec.startTime + 5000,
    },
  ]);
  rec.instances.set('c', [
    {
      id: 'new',
      sandboxId: 'sb',
      metadata: { name: 'c', attempt: 1 },
      image: 'nginx',
      imageRef: 'docker.io/library/nginx:latest',
      state: 'running',
      createdAt: 0,
      startedAt: rec.startTime + 6000,
      finishedAt: null,
      exitCode: null,
      reason: '',
      message: '',
      pid: 1,
      logPath: '',
      labels: {},
      annotations: {},
    },
  ]);
  const probes = { ready: () => true, started: () => true };
  const s1 = computePodStatus({ rec, probes, nodeIP: '127.0.0.1', now: rec.startTime + 7000, current: undefined });
  assert.equal(s1.phase, 'Running');
  assert.equal(s1.qosClass, 'Guaranteed');
  assert.equal(s1.podIP, '127.1.0.9');
  assert.deepEqual(s1.podIPs, [{ ip: '127.1.0.9' }]);
  assert.equal(s1.startTime, '2026-11-22T08:00:00Z');
  const cs = s1.containerStatuses?.[0];
  assert.equal(cs?.restartCount, 1);
  assert.equal(cs?.containerID, 'kemu://new');
  assert.equal(cs?.state?.running?.startedAt, '2026-11-22T08:00:06Z');
  assert.deepEqual(cs?.lastState?.terminated, {
    exitCode: 137,
    reason: 'OOMKilled',
    containerID: 'kemu://old',
    startedAt: '2026-11-22T08:00:00Z',
    finishedAt: '2026-11-22T08:00:05Z',
  });
  // Later, readiness fails: Ready flips with a new transition time; the others keep theirs.
  const s2 = computePodStatus({
    rec,
    probes: { ready: () => false, started: () => true },
    nodeIP: '127.0.0.1',
    now: rec.startTime + 60_000,
    current: s1,
  });
  const cond = (s: typeof s1, type: string) => s.conditions?.find((c) => c.type === type);
  assert.equal(cond(s2, 'Ready')?.status, 'False');
  assert.equal(cond(s2, 'Ready')?.lastTransitionTime, '2026-11-22T08:01:00Z');
  assert.equal(cond(s2, 'Initialized')?.lastTransitionTime, cond(s1, 'Initialized')?.lastTransitionTime);
  assert.equal(s2.containerStatuses?.[0]?.ready, false);
});

test('probe worker: thresholds, initial delay, liveness goes on hold after failing', async () => {
  const clock = new ManualRuntime(0);
  let ok = true;
  let probes = 0;
  const results: string[] = [];
  const failures: string[] = [];
  const w = new ProbeWorker({
    kind: 'liveness',
    probe: {
      exec: { command: ['check'] },
      initialDelaySeconds: 2,
      periodSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
    },
    container: { name: 'c' },
    containerId: 'id1',
    startedAtMs: 0,
    runtime: clock,
    target: {
      podIP: '127.0.0.1',
      simulated: false,
      exec: async () => {
        probes++;
        return { exitCode: ok ? 0 : 1, output: ok ? '' : 'not healthy', timedOut: false };
      },
    },
    gate: () => true,
    onResult: (_k, r) => results.push(r),
    onFailure: (_k, out) => failures.push(out),
  });
  const tick = async (ms: number) => {
    clock.advance(ms);
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  };
  w.start();
  await tick(1999);
  assert.equal(probes, 0, 'nothing before initialDelaySeconds');
  await tick(1);
  assert.equal(probes, 1);
  assert.equal(w.result, 'success');
  ok = false;
  await tick(1000);
  await tick(1000);
  assert.equal(w.result, 'success', 'two failures < failureThreshold 3');
  await tick(1000);
  assert.equal(w.result, 'failure');
  assert.deepEqual(results, ['failure']);
  assert.deepEqual(failures, ['not healthy', 'not healthy', 'not healthy']);
  const before = probes;
  await tick(5000);
  assert.equal(probes, before, 'on hold until the container is restarted (a new worker)');
  w.stop();
  assert.equal(resolvePort('http', { name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }), 8080);
  assert.equal(resolvePort('9090', { name: 'c' }), 9090);
});

test('back-off: upstream flowcontrol semantics and Go duration strings', () => {
  const clock = new ManualRuntime(0);
  const b = new Backoff(clock, 1000, 8000);
  assert.equal(b.remaining('k', 0), 0, 'unknown key: no wait');
  b.next('k', 0);
  clock.advance(500);
  assert.equal(b.remaining('k', 0), 500);
  b.next('k', 1000);
  b.next('k', 2000);
  b.next('k', 3000);
  b.next('k', 4000);
  assert.equal(b.get('k'), 8000, 'capped at max');
  assert.equal(b.remaining('k', 4000 + 2 * 8000 + 1), 0, 'expired after 2×max');
  b.next('k', 4000 + 2 * 8000 + 1);
  assert.equal(b.get('k'), 1000, 'reset to initial');
  assert.equal(goDuration(12), '12ms');
  assert.equal(goDuration(10_000), '10s');
  assert.equal(goDuration(80_000), '1m20s');
  assert.equal(goDuration(1234), '1.234s');
  assert.equal(goDuration(300_000), '5m0s');
});

test('flags: defaults, taints, labels, errors', () => {
  const r = parseKubeletFlags(['--apiserver', 'ws://127.0.0.1:6444', '--node-name', 'w1']);
  assert.equal(r.help, false);
  if (r.help) return;
  assert.equal(r.config.runtimeKind, 'process');
  assert.equal(r.config.port, 10250);
  assert.equal(r.config.profile.name, 'fast');
  assert.deepEqual(parseTaints('a=b:NoSchedule,c:NoExecute'), [
    { key: 'a', value: 'b', effect: 'NoSchedule' },
    { key: 'c', effect: 'NoExecute' },
  ]);
  assert.deepEqual(parseLabels('node-role.kubernetes.io/worker=,x=y'), {
    'node-role.kubernetes.io/worker': '',
    x: 'y',
  });
  assert.throws(() => parseTaints('a=b:Sometimes'), KubeletFlagError);
  assert.throws(() => parseKubeletFlags(['--node-name', 'w1']), /--apiserver is required/);
  assert.throws(() => parseKubeletFlags(['--apiserver', 'http://x', '--node-name', 'w1']), /ws:\/\//);
  assert.throws(() => parseKubeletFlags(['--apiserver', 'ws://x:1', '--runtime', 'docker']), /process or sim/);
  assert.throws(() => parseKubeletFlags(['--apiserver', 'ws://x:1', '--sim-nodes', '5']), /needs --runtime sim/);
  assert.throws(() => parseKubeletFlags(['--apiserver', 'ws://x:1', '--pod-cidr', '10.0.0.0/8']), /127\.0\.0\.0\/8/);
  assert.throws(() => parseKubeletFlags(['--apiserver', 'ws://x:1', '--bogus']), KubeletFlagError);
  assert.deepEqual(parseKubeletFlags(['--help']), { help: true });
});

test('node conditions: readiness from the runtime, transition times kept', () => {
  const ready = readinessOf({
    ready: true,
    reason: '',
    message: '',
    conditions: [],
    privilegedPorts: { allowed: true, reason: '' },
  });
  const c1 = nodeConditions(undefined, ready, 1000);
  const c2 = nodeConditions(c1, ready, 61_000);
  assert.equal(
    c2.find((c) => c.type === 'Ready')?.lastTransitionTime,
    c1.find((c) => c.type === 'Ready')?.lastTransitionTime,
  );
  assert.notEqual(
    c2.find((c) => c.type === 'Ready')?.lastHeartbeatTime,
    c1.find((c) => c.type === 'Ready')?.lastHeartbeatTime,
  );
  const down = readinessOf({
    ready: false,
    reason: 'RuntimeStopped',
    message: 'the container runtime was stopped',
    conditions: [
      { type: 'RuntimeReady', status: false, reason: 'RuntimeStopped', message: 'the container runtime was stopped' },
    ],
    privilegedPorts: { allowed: true, reason: '' },
  });
  assert.deepEqual(down, {
    ready: false,
    reason: 'KubeletNotReady',
    message:
      'container runtime is down: container runtime not ready: RuntimeReady=false reason:RuntimeStopped message:the container runtime was stopped',
  });
});
