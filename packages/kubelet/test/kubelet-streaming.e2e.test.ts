// A real kubelet process (process runtime) behind a real apiserver, driven with the real kubectl:
// logs, logs -f, logs --previous after a restart, exec, port-forward.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMPONENT_MAINS, freePort, TestCluster, waitFor } from '@kemu/testkit';
import { uniquePodCidr } from './runtime-helpers.js';

interface PodJson {
  metadata: { name: string; uid: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { name: string; restartCount: number; state?: { running?: unknown } }[];
  };
}

const NODE = 'worker-1';

describe('kubelet server behind the apiserver, with the real kubectl', () => {
  let c: TestCluster;
  let rootDir: string;

  const pod = (name: string, containers: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers, ...extra },
    });

  const get = async (name: string) => c.getJson<PodJson>(['pod', name]);

  before(async () => {
    c = await TestCluster.start({ prefix: 'kemu-kstream-' });
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-kstream-root-'));
    c.startComponent('kubelet', COMPONENT_MAINS.kubelet, [
      '--apiserver',
      c.wireUrl,
      '--node-name',
      NODE,
      '--runtime',
      'process',
      '--root-dir',
      rootDir,
      '--node-ip',
      '127.0.0.1',
      // Ephemeral: the Node must report the port the server really bound.
      '--port',
      '0',
      '--pod-cidr',
      uniquePodCidr(),
      '--profile',
      'fast',
    ]);
    await waitFor(
      'the node Ready',
      async () => {
        const n = await c.getJson<{ status?: { conditions?: { type: string; status: string }[] } }>(['node', NODE]);
        return n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await c.k(['apply', '-f', '-'], {
      input: pod('ticker', [
        {
          name: 'app',
          image: 'busybox',
          command: ['sh', '-c', 'echo start; i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.2; done'],
        },
      ]),
    });
    await c.k(['apply', '-f', '-'], {
      input: pod('crasher', [
        { name: 'app', image: 'busybox', command: ['sh', '-c', 'echo "run at $(date +%s%N)"; sleep 0.5; exit 1'] },
      ]),
    });
    await c.k(['apply', '-f', '-'], {
      input: pod('web', [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 8080 }] }]),
    });
    await waitFor(
      'ticker and web Running',
      async () => (await get('ticker')).status?.phase === 'Running' && (await get('web')).status?.phase === 'Running',
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  test('sim nodes share one server: kubectl logs and exec reach sim pods', async () => {
    c.startComponent('kubelet-sim', COMPONENT_MAINS.kubelet, [
      '--apiserver',
      c.wireUrl,
      '--runtime',
      'sim',
      '--sim-nodes',
      '3',
      '--sim-node-prefix',
      'sim-',
      '--root-dir',
      path.join(rootDir, 'sim'),
      '--node-ip',
      '127.0.0.1',
      '--port',
      '0',
      '--profile',
      'fast',
    ]);
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'simpod' },
        spec: {
          nodeName: 'sim-2',
          containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo hello-sim; sleep 3600'] }],
        },
      }),
    });
    await waitFor('the sim pod Running', async () => (await get('simpod')).status?.phase === 'Running', {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    assert.equal(await c.k(['logs', 'simpod']), 'hello-sim\n');
    assert.equal(await c.k(['exec', 'simpod', '--', 'sh', '-c', 'echo hi']), 'hi\n');
  });

  after(async () => {
    await c?.destroy();
    if (rootDir) fs.rmSync(rootDir, { recursive: true, force: true });
  });

  test('kubectl logs and logs --tail', async () => {
    const out = await c.k(['logs', 'ticker']);
    assert.match(out, /^start\nline 1\n/, c.dumpLogs());
    assert.match(await c.k(['logs', 'ticker', '--tail=1']), /^line \d+\n$/);
    assert.match(
      await c.k(['logs', 'ticker', '--timestamps', '--tail=1']),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line \d+\n$/,
    );
  });

  test('kubectl logs -f keeps reading until stopped', async (t) => {
    const child = spawn('kubectl', [`--cache-dir=${c.cacheDir}`, 'logs', '-f', 'ticker', '--tail=1'], {
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
    await waitFor('three lines through the follow stream', () => (out.match(/line \d+/g)?.length ?? 0) >= 3, {
      timeoutMs: 20_000,
    });
    const numbers = (out.match(/line (\d+)/g) ?? []).map((l) => Number(l.slice(5)));
    assert.deepEqual(
      numbers.slice(0, 3),
      [numbers[0], (numbers[0] ?? 0) + 1, (numbers[0] ?? 0) + 2],
      'consecutive live lines',
    );
    assert.equal(child.exitCode, null, 'still following');
  });

  test('kubectl logs --previous after a restart', async () => {
    await waitFor(
      'crasher restarted',
      async () => ((await get('crasher')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const previous = await c.k(['logs', 'crasher', '--previous']);
    assert.match(previous, /^run at \d+\n$/, c.dumpLogs());
    const never = await c.kubectl(['logs', 'ticker', '--previous']);
    assert.match(never.stderr, /previous terminated container "app" in pod "ticker" not found/);
  });

  test('kubectl exec prints what the command prints, with its exit code', async () => {
    assert.equal(await c.k(['exec', 'ticker', '--', 'sh', '-c', 'echo hi']), 'hi\n');
    assert.equal(await c.k(['exec', 'ticker', '--', 'sh', '-c', 'echo $HOSTNAME']), 'ticker\n');
    const r = await c.kubectl(['exec', 'ticker', '--', 'sh', '-c', 'echo oops >&2; exit 4']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /oops/);
  });

  test("kubectl attach follows the container's output", async (t) => {
    const child = spawn('kubectl', [`--cache-dir=${c.cacheDir}`, 'attach', 'ticker', '-c', 'app'], {
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
    await waitFor('two live lines through attach', () => (out.match(/line \d+/g)?.length ?? 0) >= 2, {
      timeoutMs: 20_000,
    });
    assert.doesNotMatch(out, /^start/, 'attach shows output from now on, not the backlog');
  });

  test('kubectl port-forward reaches nginx in the pod', async (t) => {
    const local = await freePort();
    const child = spawn('kubectl', [`--cache-dir=${c.cacheDir}`, 'port-forward', 'pod/web', `${local}:8080`], {
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
    await waitFor('port-forward listening', () => out.includes('Forwarding from') || child.exitCode !== null, {
      timeoutMs: 20_000,
    });
    assert.match(out, /Forwarding from/);
    const res = await fetch(`http://127.0.0.1:${local}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Welcome to nginx!/);
  });
});
