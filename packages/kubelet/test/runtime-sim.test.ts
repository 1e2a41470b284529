import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import { ImagePullError, RuntimeUnavailableError } from '../src/runtime/errors.js';
import { createContainerRuntime } from '../src/runtime/factory.js';
import { SimRuntime, type SimRuntimeOptions, simBehaviour } from '../src/runtime/sim-runtime.js';
import { podMeta, readAll, tempDir } from './runtime-helpers.js';

function sim(t: import('node:test').TestContext, opts: Partial<SimRuntimeOptions> = {}) {
  const clock = new ManualRuntime(1_700_000_000_000);
  const rt = new SimRuntime({
    runtime: clock,
    logger: silentLogger(),
    stateDir: tempDir(t),
    random: new SeededRandom(7),
    startDelayMs: 100,
    ...opts,
  });
  t.after(() => rt.close());
  return { clock, rt };
}

/** Lets promise continuations run between clock steps. */
const settle = () => new Promise((r) => setImmediate(r));

test('sim: created → running after the start delay → exited per the command hints', async (t) => {
  const { clock, rt } = sim(t);
  const sb = await rt.runPodSandbox({ metadata: podMeta('job') });
  const id = await rt.createContainer(sb, {
    metadata: { name: 'main' },
    image: 'busybox',
    command: ['sh', '-c', 'echo hi; sleep 2; exit 3'],
  });
  assert.equal((await rt.containerStatus(id)).state, 'created');
  const started = rt.startContainer(id);
  clock.advance(99);
  await settle();
  assert.equal((await rt.containerStatus(id)).state, 'created');
  clock.advance(1);
  await started;
  const running = await rt.containerStatus(id);
  assert.equal(running.state, 'running');
  assert.equal(running.startedAt, 1_700_000_000_100);
  assert.equal(await readAll(await rt.containerLogs(id)), 'hi\n');
  clock.advance(1999);
  assert.equal((await rt.containerStatus(id)).state, 'running');
  clock.advance(1);
  const done = await rt.containerStatus(id);
  assert.deepEqual(
    [done.state, done.exitCode, done.reason, done.finishedAt],
    ['exited', 3, 'Error', 1_700_000_002_100],
  );
});

test('sim: servers run until stopped; grace, SIGKILL and OOM outcomes', async (t) => {
  const { clock, rt } = sim(t, { startDelayMs: 0, stopDelayMs: 5000, oomAfterMs: 500 });
  const sb = await rt.runPodSandbox({ metadata: podMeta('web') });
  const web = await rt.createContainer(sb, { metadata: { name: 'web' }, image: 'nginx:1.25' });
  await rt.startContainer(web);
  clock.advance(3_600_000);
  assert.equal((await rt.containerStatus(web)).state, 'running');
  // Takes 5 s to stop but only gets 2 s: SIGKILL → 137.
  const stopping = rt.stopContainer(web, 2);
  clock.advance(2000);
  await stopping;
  assert.deepEqual([(await rt.containerStatus(web)).exitCode, (await rt.containerStatus(web)).reason], [137, 'Error']);

  const polite = await rt.createContainer(sb, { metadata: { name: 'polite' }, image: 'redis' });
  await rt.startContainer(polite);
  const stop2 = rt.stopContainer(polite, 30);
  clock.advance(5000);
  await stop2;
  assert.equal((await rt.containerStatus(polite)).reason, 'Completed');

  const hog = await rt.createContainer(sb, {
    metadata: { name: 'hog' },
    image: 'kemu/memhog',
    resources: { memoryLimitBytes: 64 << 20 },
  });
  await rt.startContainer(hog);
  clock.advance(500);
  const s = await rt.containerStatus(hog);
  assert.deepEqual([s.exitCode, s.reason], [137, 'OOMKilled']);
});

test('sim: pull errors, exec, runtime stop/start, sandbox IPs', async (t) => {
  const { rt } = sim(t, { startDelayMs: 0 });
  await assert.rejects(rt.pullImage('nope:1'), ImagePullError);
  await rt.pullImage('nginx:1.25');
  await rt.pullImage('docker.io/library/nginx:1.25');
  assert.deepEqual(
    (await rt.listImages()).map((i) => i.ref),
    ['docker.io/library/nginx:1.25'],
  );
  assert.equal(rt.version().runtimeName, 'kemu-sim');
  const a = await rt.runPodSandbox({ metadata: podMeta('a') });
  const b = await rt.runPodSandbox({ metadata: podMeta('b') });
  assert.equal((await rt.podSandboxStatus(a)).ip, '127.1.0.1');
  assert.equal((await rt.podSandboxStatus(b)).ip, '127.1.0.2');
  const id = await rt.createContainer(a, { metadata: { name: 'c' }, image: 'busybox', command: ['sleep', 'infinity'] });
  await rt.startContainer(id);
  const e = await rt.exec(id, ['sh', '-c', 'echo "hello there"; exit 2']);
  assert.equal(await readAll(e.stdout), 'hello there\n');
  assert.equal((await e.exit).exitCode, 2);
  await rt.stop();
  assert.deepEqual([rt.status().ready, rt.status().reason], [false, 'RuntimeStopped']);
  await assert.rejects(rt.containerStatus(id), RuntimeUnavailableError);
  await rt.start();
  assert.equal((await rt.containerStatus(id)).exitCode, 137);
  await rt.removePodSandbox(a);
  await assert.rejects(rt.podSandboxStatus(a), { code: 'SANDBOX_NOT_FOUND' });
  const c = await rt.runPodSandbox({ metadata: podMeta('c') });
  assert.equal((await rt.podSandboxStatus(c)).ip, '127.1.0.3', 'round-robin: a released IP is not reused at once');
});

test('sim: 10,000 containers created and running on one timer', async (t) => {
  const { clock, rt } = sim(t, { startDelayMs: 250 });
  const ids: string[] = [];
  for (let p = 0; p < 1000; p++) {
    const sb = await rt.runPodSandbox({ metadata: podMeta(`pod-${p}`) });
    for (let c = 0; c < 10; c++) {
      ids.push(await rt.createContainer(sb, { metadata: { name: `c${c}` }, image: 'registry.k8s.io/pause:3.10' }));
    }
  }
  const starts = Promise.all(ids.map((id) => rt.startContainer(id)));
  assert.equal(clock.pendingTimers(), 1, 'one runtime timer for all deadlines');
  assert.equal(rt.pendingTransitions(), 10_000);
  clock.advance(250);
  await starts;
  const running = await rt.listContainers({ state: 'running' });
  assert.equal(running.length, 10_000);
  assert.equal(clock.pendingTimers(), 0);
});

test('sim: a container removed while starting never runs; the factory builds either runtime', async (t) => {
  const { clock, rt } = sim(t);
  const sb = await rt.runPodSandbox({ metadata: podMeta('gone') });
  const id = await rt.createContainer(sb, { metadata: { name: 'c' }, image: 'nginx' });
  const starting = rt.startContainer(id);
  await rt.removeContainer(id);
  clock.advance(100);
  await starting;
  assert.equal(rt.pendingTransitions(), 0);
  assert.deepEqual(await rt.listContainers(), []);
  const made = createContainerRuntime({ kind: 'sim', runtime: clock, logger: silentLogger(), stateDir: tempDir(t) });
  t.after(() => made.close());
  assert.equal(made.kind, 'sim');
  assert.equal(made.status().ready, true);
});

test('simBehaviour reads hints from the command line', () => {
  assert.deepEqual(simBehaviour('shell', ['sh'], undefined, 1000), {
    runForMs: 0,
    exitCode: 0,
    output: [],
    oom: false,
  });
  assert.equal(simBehaviour('shell', ['sh', '-c', 'while true; do sleep 1; done'], undefined, 1000).runForMs, null);
  assert.equal(simBehaviour('shell', ['sleep', '1.5'], undefined, 1000).runForMs, 1500);
  assert.deepEqual(simBehaviour('crasher', ['crasher', '--exit-code', '4', '--after-ms', '10'], undefined, 1000), {
    runForMs: 10,
    exitCode: 4,
    output: [],
    oom: false,
  });
  assert.equal(simBehaviour('nginx', ['nginx', '-g', 'daemon off;'], undefined, 1000).runForMs, null);
  assert.equal(simBehaviour('memhog', ['memhog'], undefined, 1000).runForMs, null, 'no limit: no OOM');
});
