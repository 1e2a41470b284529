// The real kubectl → real apiserver process → this test's KubeletServer (process runtime, real
// containers): logs, logs -f, --previous, exec, port-forward and the apiserver's errors, before the
// kubelet core exists (the pod lookup is a fake fed from the runtime's own state).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ContainerStatus } from '@kemu/api';
import { silentLogger, systemRuntime } from '@kemu/runtime';
import { freePort, TestCluster, waitFor } from '@kemu/testkit';
import { ProcessRuntime } from '../src/runtime/process-runtime.js';
import { KubeletServer } from '../src/server/kubelet-server.js';
import { FakePodHost } from './fixtures/fake-pod-host.js';
import { uniquePodCidr } from './runtime-helpers.js';

function runningStatus(name: string, id: string, previous?: string): ContainerStatus {
  return {
    name,
    ready: true,
    restartCount: previous ? 1 : 0,
    image: 'busybox',
    imageID: '',
    containerID: `kemu-process://${id}`,
    state: { running: { startedAt: new Date().toISOString() } },
    ...(previous ? { lastState: { terminated: { exitCode: 1, containerID: `kemu-process://${previous}` } } } : {}),
  };
}

describe('apiserver → kubelet proxy with the real kubectl', () => {
  let c: TestCluster;
  let rt: ProcessRuntime;
  let server: KubeletServer;
  const host = new FakePodHost();
  const cleanups: (() => void)[] = [];

  async function api(method: string, path: string, body?: unknown, type = 'application/json') {
    const res = await fetch(`${c.apiserverUrl}${path}`, {
      method,
      headers: { 'content-type': type },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.text() };
  }

  async function node(name: string, port: number) {
    await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
    const r = await api(
      'PATCH',
      `/api/v1/nodes/${name}/status`,
      {
        status: {
          addresses: [
            { type: 'InternalIP', address: '127.0.0.1' },
            { type: 'Hostname', address: name },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: port } },
        },
      },
      'application/merge-patch+json',
    );
    assert.equal(r.status, 200, r.body);
  }

  async function apiPod(name: string, containers: string[], nodeName?: string) {
    const r = await api('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { ...(nodeName ? { nodeName } : {}), containers: containers.map((n) => ({ name: n, image: 'busybox' })) },
    });
    assert.equal(r.status, 201, r.body);
  }

  before(async () => {
    c = await TestCluster.start({ prefix: 'kemu-kproxy-' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-kproxy-rt-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    rt = new ProcessRuntime({
      runtime: systemRuntime,
      logger: silentLogger(),
      stateDir: dir,
      podCidr: uniquePodCidr(),
    });
    server = new KubeletServer({ host, runtime: rt, clock: systemRuntime, log: silentLogger() });
    const { port } = await server.listen(0);
    await node('n1', port);
    await node('n2', await freePort()); // nobody listens there: its kubelet is "down"

    const sb = await rt.runPodSandbox({ metadata: { name: 'p1', namespace: 'default', uid: 'uid-p1' } });
    const first = await rt.createContainer(sb, {
      metadata: { name: 'app', attempt: 0 },
      image: 'busybox',
      command: ['sh', '-c', 'echo first; exit 1'],
    });
    await rt.startContainer(first);
    await waitFor('the first instance to exit', async () => (await rt.containerStatus(first)).state === 'exited');
    const second = await rt.createContainer(sb, {
      metadata: { name: 'app', attempt: 1 },
      image: 'busybox',
      command: ['sh', '-c', 'echo second; echo oops >&2; while true; do sleep 0.2; echo tick; done'],
    });
    await rt.startContainer(second);
    const web = await rt.createContainer(sb, {
      metadata: { name: 'web' },
      image: 'kemu/echo',
      ports: [{ containerPort: 8080 }],
    });
    await rt.startContainer(web);
    const ip = (await rt.podSandboxStatus(sb)).ip;
    await apiPod('p1', ['app', 'web'], 'n1');
    host.put({
      metadata: { name: 'p1', namespace: 'default', uid: 'uid-p1' },
      spec: {
        nodeName: 'n1',
        containers: [
          { name: 'app', image: 'busybox' },
          { name: 'web', image: 'kemu/echo' },
        ],
      },
      status: {
        phase: 'Running',
        podIP: ip,
        containerStatuses: [runningStatus('app', second, first), runningStatus('web', web)],
      },
    });
    // kubectl port-forward refuses pods that are not Running; nobody else reports status here.
    const st = await api(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1/status',
      { status: { phase: 'Running', podIP: ip } },
      'application/merge-patch+json',
    );
    assert.equal(st.status, 200, st.body);
    await apiPod('unbound', ['app']);
    // Two containers, the second named by kubectl's default-container annotation.
    const annotated = await api('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p2', annotations: { 'kubectl.kubernetes.io/default-container': 'b' } },
      spec: {
        nodeName: 'n1',
        containers: [
          { name: 'a', image: 'busybox' },
          { name: 'b', image: 'busybox' },
        ],
      },
    });
    assert.equal(annotated.status, 201, annotated.body);
    host.put({
      metadata: { name: 'p2', namespace: 'default', uid: 'uid-p2' },
      spec: {
        nodeName: 'n1',
        containers: [
          { name: 'a', image: 'busybox' },
          { name: 'b', image: 'busybox' },
        ],
      },
      status: { phase: 'Running', podIP: ip, containerStatuses: [runningStatus('a', web), runningStatus('b', first)] },
    });
    await apiPod('far', ['app'], 'n2');
  });

  after(async () => {
    await server?.close();
    await rt?.close();
    await c?.destroy();
    for (const f of cleanups) f();
  });

  test('kubectl logs: current and --previous instance, tail, and the container errors', async () => {
    assert.match(await c.k(['logs', 'p1', '-c', 'app', '--tail=-1']), /^second\noops\n(tick\n)*$/);
    assert.equal(await c.k(['logs', 'p1', '-c', 'app', '--previous']), 'first\n');
    const r = await api('GET', '/api/v1/namespaces/default/pods/p1/log');
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).message, 'a container name must be specified for pod p1, choose one of: [app web]');
    const byAnnotation = await api('GET', '/api/v1/namespaces/default/pods/p2/log');
    assert.deepEqual(
      [byAnnotation.status, byAnnotation.body],
      [200, 'first\n'],
      'the default-container annotation picks b',
    );
    const bad = await c.kubectl(['logs', 'p1', '-c', 'nope']);
    assert.match(bad.stderr, /container nope is not valid for pod p1/);
    const prev = await c.kubectl(['logs', 'p1', '-c', 'web', '--previous']);
    assert.match(prev.stderr, /previous terminated container "web" in pod "p1" not found/);
    assert.equal(await c.k(['logs', 'unbound']), '');
    const down = await c.kubectl(['logs', 'far']);
    assert.notEqual(down.code, 0);
    assert.match(
      down.stderr,
      /Error from server: Get "http:\/\/127\.0\.0\.1:\d+\/containerLogs\/default\/far\/app": dial tcp 127\.0\.0\.1:\d+: connect: connection refused/,
    );
    const missing = await c.kubectl(['logs', 'nope']);
    assert.match(missing.stderr, /pods "nope" not found/);
  });

  test('kubectl logs -f keeps streaming until stopped', async (t) => {
    const child = spawn('kubectl', [`--cache-dir=${c.cacheDir}`, 'logs', '-f', 'p1', '-c', 'app'], {
      env: { ...process.env, KUBECONFIG: c.kubeconfig },
      detached: true,
    });
    t.after(() => {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {}
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // Lines keep arriving after the backlog: the stream is live.
    await waitFor('the backlog and a live line', () => /tick/.test(out), { timeoutMs: 20_000 });
    const seen = out.match(/tick/g)?.length ?? 0;
    await waitFor('more lines', () => (out.match(/tick/g)?.length ?? 0) > seen, { timeoutMs: 10_000 });
    assert.equal(child.exitCode, null, 'kubectl logs -f is still running');
    assert.match(out, /^second\noops\n/);
  });

  test('kubectl exec runs in the container; exit codes and errors come through', async () => {
    assert.equal(await c.k(['exec', 'p1', '-c', 'app', '--', 'sh', '-c', 'echo hi']), 'hi\n');
    assert.equal(
      await c.k(['exec', 'p1', '-c', 'app', '--', 'sh', '-c', 'echo $KEMU_POD_NAME $KEMU_CONTAINER_NAME']),
      'p1 app\n',
    );
    const three = await c.kubectl(['exec', 'p1', '-c', 'app', '--', 'sh', '-c', 'exit 3']);
    assert.equal(three.code, 3, three.stderr);
    assert.equal(await c.k(['exec', '-i', 'p1', '-c', 'app', '--', 'cat'], { input: 'piped\n' }), 'piped\n');
    const unbound = await c.kubectl(['exec', 'unbound', '--', 'true']);
    assert.match(unbound.stderr, /pod unbound does not have a host assigned/);
    const down = await c.kubectl(['exec', 'far', '--', 'true']);
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /connection refused/);
  });

  test('kubectl exec interrupted: the command is killed (through the apiserver and the kubelet)', async (t) => {
    const child = spawn(
      'kubectl',
      [`--cache-dir=${c.cacheDir}`, 'exec', 'p1', '-c', 'app', '--', 'sh', '-c', 'echo $$; exec sleep 1000'],
      { env: { ...process.env, KUBECONFIG: c.kubeconfig }, detached: true },
    );
    const killKubectl = () => {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {}
    };
    t.after(killKubectl);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const pid = Number(await waitFor("the command's pid", () => /^(\d+)\n/.exec(out)?.[1], { timeoutMs: 20_000 }));
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(alive(), true);
    killKubectl();
    await waitFor("the exec's process gone", () => !alive(), { timeoutMs: 20_000 });
  });

  test('kubectl port-forward reaches the pod IP', async (t) => {
    const local = await freePort();
    const child = spawn('kubectl', [`--cache-dir=${c.cacheDir}`, 'port-forward', 'pod/p1', `${local}:8080`], {
      env: { ...process.env, KUBECONFIG: c.kubeconfig },
      detached: true,
    });
    t.after(() => {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {}
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor('port-forward ready', () => out.includes('Forwarding from') || child.exitCode !== null, {
      timeoutMs: 20_000,
    });
    assert.match(out, /Forwarding from/);
    const body = await waitFor(
      'an answer through the tunnel',
      async () => {
        const res = await fetch(`http://127.0.0.1:${local}/hello`);
        return res.status === 200 ? await res.text() : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.match(body, /Hostname: p1/);
  });
});
