import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import type { ContainerStatus, Pod } from '@kemu/api';
import { ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import WebSocket from 'ws';
import { SimRuntime } from '../src/runtime/sim-runtime.js';
import {
  containerIdForLogs,
  containerRefFromStatus,
  parseContainerLogQuery,
  runtimeLogOptions,
} from '../src/server/container-logs.js';
import { KubeletServerError } from '../src/server/errors.js';
import { fileLogStream } from '../src/server/file-logs.js';
import { KubeletServer, parseKubeletPath } from '../src/server/kubelet-server.js';
import { FakePodHost } from './fixtures/fake-pod-host.js';
import { readAll, tempDir } from './runtime-helpers.js';

const T0 = 1_700_000_000_000;

/** A pod whose status names runtime containers, as the kubelet core reports them. */
function pod(name: string, containers: string[], statuses: ContainerStatus[], extra: Partial<Pod['status']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { nodeName: 'n1', containers: containers.map((c) => ({ name: c, image: 'busybox' })) },
    status: { phase: 'Running', podIP: '127.0.0.1', containerStatuses: statuses, ...extra },
  };
}

function running(name: string, id: string, last?: string): ContainerStatus {
  return {
    name,
    ready: true,
    restartCount: last ? 1 : 0,
    image: 'busybox',
    imageID: '',
    containerID: `kemu-sim://${id}`,
    state: { running: { startedAt: '2023-11-14T22:13:20Z' } },
    ...(last ? { lastState: { terminated: { exitCode: 1, containerID: `kemu-sim://${last}` } } } : {}),
  };
}

async function setup(t: import('node:test').TestContext) {
  const clock = new ManualRuntime(T0);
  const rt = new SimRuntime({
    runtime: clock,
    logger: silentLogger(),
    stateDir: tempDir(t),
    random: new SeededRandom(3),
    startDelayMs: 0,
  });
  t.after(() => rt.close());
  const host = new FakePodHost();
  const server = new KubeletServer({ host, runtime: rt, clock, log: silentLogger() });
  const addr = await server.listen(0);
  t.after(() => server.close());
  const sb = await rt.runPodSandbox({ metadata: { name: 'p1', namespace: 'default', uid: 'uid-p1' } });
  const start = async (name: string, command: string[], attempt = 0) => {
    const id = await rt.createContainer(sb, { metadata: { name, attempt }, image: 'busybox', command });
    await rt.startContainer(id);
    return id;
  };
  return { clock, rt, host, server, base: `http://127.0.0.1:${addr.port}`, start };
}

async function get(url: string): Promise<{ status: number; body: string; type: string | undefined }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? undefined };
}

test('parseKubeletPath: the real kubelet paths, with and without the pod uid', () => {
  assert.deepEqual(parseKubeletPath('/containerLogs/ns/p/c'), {
    verb: 'containerLogs',
    namespace: 'ns',
    pod: 'p',
    container: 'c',
  });
  assert.deepEqual(parseKubeletPath('/exec/ns/p/uid-1/c'), {
    verb: 'exec',
    namespace: 'ns',
    pod: 'p',
    uid: 'uid-1',
    container: 'c',
  });
  assert.deepEqual(parseKubeletPath('/portForward/ns/p'), { verb: 'portForward', namespace: 'ns', pod: 'p' });
  assert.equal(parseKubeletPath('/containerLogs/ns/p'), undefined);
  assert.equal(parseKubeletPath('/exec/ns'), undefined);
  assert.equal(parseKubeletPath('/nope/ns/p/c'), undefined);
});

test('log query: upstream validation messages and the runtime options they become', () => {
  const q = (s: string) => parseContainerLogQuery(new URLSearchParams(s));
  assert.deepEqual(q('follow=true&tailLines=2&timestamps=true&limitBytes=10'), {
    follow: true,
    previous: false,
    timestamps: true,
    tailLines: 2,
    limitBytes: 10,
  });
  assert.throws(() => q('tailLines=-1'), /tailLines: Invalid value: -1: must be greater than or equal to 0/);
  assert.throws(() => q('limitBytes=0'), /limitBytes: Invalid value: 0: must be greater than 0/);
  assert.throws(
    () => q('sinceSeconds=5&sinceTime=2023-11-14T22:13:20Z'),
    /at most one of `sinceTime` or `sinceSeconds` may be specified/,
  );
  assert.throws(() => q('follow=maybe'), KubeletServerError);
  assert.deepEqual(runtimeLogOptions(q('sinceSeconds=5&follow=true'), T0), {
    timestamps: false,
    follow: true,
    sinceTime: T0 - 5000,
  });
  // A previous instance has exited: following it would end at once anyway.
  assert.equal(runtimeLogOptions(q('previous=true&follow=true'), T0).follow, undefined);
});

test('containerIdForLogs: which instance, or the error upstream words', () => {
  const waiting = pod(
    'w',
    ['c'],
    [
      {
        name: 'c',
        ready: false,
        restartCount: 0,
        image: 'busybox',
        imageID: '',
        state: { waiting: { reason: 'ContainerCreating' } },
      },
    ],
  );
  assert.throws(
    () => containerIdForLogs(containerRefFromStatus(waiting, 'c'), 'c', false),
    /^KubeletServerError: container "c" in pod "w" is waiting to start: ContainerCreating$/,
  );
  assert.throws(
    () => containerIdForLogs(containerRefFromStatus(waiting, 'c'), 'c', true),
    /previous terminated container "c" in pod "w" not found/,
  );
  assert.throws(
    () => containerIdForLogs(containerRefFromStatus(pod('x', ['c'], []), 'c'), 'c', false),
    /container "c" in pod "x" is waiting to start: ContainerCreating/,
  );
  const restarted = pod('r', ['c'], [running('c', 'new', 'old')]);
  assert.equal(containerIdForLogs(containerRefFromStatus(restarted, 'c'), 'c', false), 'new');
  assert.equal(containerIdForLogs(containerRefFromStatus(restarted, 'c'), 'c', true), 'old');
  const pulling = pod(
    'i',
    ['c'],
    [
      {
        name: 'c',
        ready: false,
        restartCount: 0,
        image: 'x',
        imageID: '',
        state: { waiting: { reason: 'ErrImagePull' } },
      },
    ],
  );
  assert.throws(
    () => containerIdForLogs(containerRefFromStatus(pulling, 'c'), 'c', false),
    /is waiting to start: image can't be pulled/,
  );
});

test("/healthz and /pods (a PodList of this node's pods)", async (t) => {
  const { host, base } = await setup(t);
  host.put(pod('a', ['c'], []));
  host.put(pod('b', ['c'], []));
  assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: 'ok', type: 'text/plain; charset=utf-8' });
  const list = await get(`${base}/pods`);
  assert.equal(list.status, 200);
  const parsed = JSON.parse(list.body) as { kind: string; items: Pod[] };
  assert.equal(parsed.kind, 'PodList');
  assert.deepEqual(
    parsed.items.map((p) => p.metadata.name),
    ['a', 'b'],
  );
  assert.equal((await get(`${base}/nope`)).status, 404);
});

test('containerLogs: current and previous instance, tailLines, timestamps, limitBytes, errors', async (t) => {
  const { host, base, start } = await setup(t);
  const old = await start('app', ['sh', '-c', 'echo one; echo two; sleep 1; exit 1']);
  const cur = await start('app', ['sh', '-c', 'echo three; echo four; sleep infinity'], 1);
  host.put(pod('p1', ['app'], [running('app', cur, old)]));
  assert.deepEqual(await get(`${base}/containerLogs/default/p1/app`), {
    status: 200,
    body: 'three\nfour\n',
    type: 'text/plain',
  });
  assert.equal((await get(`${base}/containerLogs/default/p1/app?previous=true`)).body, 'one\ntwo\n');
  assert.equal((await get(`${base}/containerLogs/default/p1/app?tailLines=1`)).body, 'four\n');
  assert.equal((await get(`${base}/containerLogs/default/p1/app?limitBytes=3`)).body, 'thr');
  assert.match(
    (await get(`${base}/containerLogs/default/p1/app?timestamps=true&tailLines=1`)).body,
    /^2023-11-14T22:13:20\.000000000Z four\n$/,
  );
  assert.deepEqual(await get(`${base}/containerLogs/default/nope/app`), {
    status: 404,
    body: 'pod "nope" does not exist',
    type: 'text/plain; charset=utf-8',
  });
  assert.equal((await get(`${base}/containerLogs/default/p1/other`)).body, 'container "other" not found in pod "p1"');
  const bad = await get(`${base}/containerLogs/default/p1/app?tailLines=-2`);
  assert.deepEqual([bad.status, bad.body], [400, 'tailLines: Invalid value: -2: must be greater than or equal to 0']);

  host.put(
    pod(
      'p1',
      ['app'],
      [
        {
          name: 'app',
          ready: false,
          restartCount: 0,
          image: 'b',
          imageID: '',
          state: { waiting: { reason: 'ContainerCreating' } },
        },
      ],
    ),
  );
  const waiting = await get(`${base}/containerLogs/default/p1/app`);
  assert.deepEqual(
    [waiting.status, waiting.body],
    [400, 'container "app" in pod "p1" is waiting to start: ContainerCreating'],
  );
  const prev = await get(`${base}/containerLogs/default/p1/app?previous=true`);
  assert.deepEqual([prev.status, prev.body], [400, 'previous terminated container "app" in pod "p1" not found']);
});

test('containerLogs follow: streams until the container exits', async (t) => {
  const { host, base, start, rt } = await setup(t);
  const id = await start('app', ['sh', '-c', 'echo hello; sleep infinity']);
  host.put(pod('p1', ['app'], [running('app', id)]));
  const chunks: string[] = [];
  const ended = new Promise<number>((resolve, reject) => {
    http
      .get(`${base}/containerLogs/default/p1/app?follow=true`, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => chunks.push(d));
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
  const deadline = Date.now() + 10_000;
  while (chunks.join('') !== 'hello\n') {
    assert.ok(Date.now() < deadline, `no first line: ${JSON.stringify(chunks)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  let done = false;
  void ended.then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(done, false, 'a follow stream stays open while the container runs');
  await rt.stopContainer(id, 0);
  assert.equal(await ended, 200);
  assert.equal(chunks.join(''), 'hello\n');
});

/** A v5.channel.k8s.io client: collects output channels and the final status. */
function execClient(
  url: string,
): Promise<{ stdout: string; status: { status: string; reason?: string; details?: unknown } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['v5.channel.k8s.io']);
    let stdout = '';
    let status: { status: string } | undefined;
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) stdout += data.subarray(1).toString();
      if (data[0] === 3) status = JSON.parse(data.subarray(1).toString()) as { status: string };
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(new Error(`${res.statusCode} ${body}`)));
    });
    ws.on('error', reject);
    ws.on('close', () => (status ? resolve({ stdout, status }) : reject(new Error('closed without a status'))));
  });
}

test('exec over WebSocket: runs through the runtime, exit code in the status; refusals before 101', async (t) => {
  const { host, base, start } = await setup(t);
  const id = await start('app', ['sh', '-c', 'sleep infinity']);
  host.put(pod('p1', ['app'], [running('app', id)]));
  const ws = base.replace('http:', 'ws:');
  const ok = await execClient(`${ws}/exec/default/p1/app?command=sh&command=-c&command=echo%20hi&stdout=true`);
  assert.deepEqual(ok, { stdout: 'hi\n', status: { metadata: {}, status: 'Success' } });
  const failed = await execClient(
    `${ws}/exec/default/p1/uid-p1/app?command=sh&command=-c&command=exit%203&stdout=true`,
  );
  assert.equal(failed.status.reason, 'NonZeroExitCode');
  await assert.rejects(
    execClient(`${ws}/exec/default/nope/app?command=ls&stdout=true`),
    /^Error: 404 .*pod does not exist/,
  );
  await assert.rejects(
    execClient(`${ws}/exec/default/p1/other?command=ls&stdout=true`),
    /500 .*container not found \(\\"other\\"\)/,
  );
  await assert.rejects(
    execClient(`${ws}/exec/default/p1/app?stdout=true`),
    /400 .*you must specify at least 1 command/,
  );
});

test("fileLogStream: an external pod's log file with tail, since, limit, timestamps and follow", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'kube-scheduler.log');
  const line = (ms: number, msg: string) => JSON.stringify({ level: 30, time: ms, msg });
  fs.writeFileSync(file, `${line(T0, 'one')}\n${line(T0 + 1000, 'two')}\n${line(T0 + 2000, 'three')}\n`);
  const clock = new ManualRuntime(T0 + 5000);
  const read = (opts: Parameters<typeof fileLogStream>[1]) => readAll(fileLogStream(file, opts, clock));
  assert.equal((await read({})).split('\n').length, 4);
  assert.equal(await read({ tailLines: 1 }), `${line(T0 + 2000, 'three')}\n`);
  assert.equal(
    await read({ sinceTime: T0 + 1000, tailLines: 5 }),
    `${line(T0 + 1000, 'two')}\n${line(T0 + 2000, 'three')}\n`,
  );
  assert.equal(await read({ limitBytes: 5 }), '{"lev');
  assert.equal(
    await read({ timestamps: true, tailLines: 1 }),
    `2023-11-14T22:13:22.000000000Z ${line(T0 + 2000, 'three')}\n`,
  );
  assert.equal(await read({}).then(() => readAll(fileLogStream(path.join(dir, 'none.log'), {}, clock))), '');

  const follow = fileLogStream(file, { follow: true, tailLines: 0 }, clock);
  const got: string[] = [];
  follow.on('data', (d: Buffer) => got.push(d.toString()));
  fs.appendFileSync(file, `${line(T0 + 3000, 'four')}\npartial`);
  clock.advance(250);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, [`${line(T0 + 3000, 'four')}\n`], 'complete lines only');
  fs.appendFileSync(file, ' line\n');
  clock.advance(250);
  await new Promise((r) => setImmediate(r));
  assert.equal(got.join(''), `${line(T0 + 3000, 'four')}\npartial line\n`);
  follow.destroy();
});
