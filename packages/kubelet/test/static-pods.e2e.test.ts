// Static pods with a real kubelet process: a pid-file pod for a process this test runs (as the kemu
// supervisor runs the control plane) and a normal static nginx pod. Mirror pods come back when
// deleted, follow the process's liveness, stay Terminating while the kubelet is down and are
// recreated when it returns.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ChildProc, COMPONENT_MAINS, freePort, TestCluster, waitFor } from '@kemu/testkit';
import { killContainersUnder } from './fixtures/sweep-containers.js';
import { uniquePodCidr } from './runtime-helpers.js';

const NODE = 'cp-1';

interface PodJson {
  metadata: {
    name: string;
    uid: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
  };
}

const ready = (p: PodJson | undefined) =>
  p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

describe('static pods and mirror pods with a real kubelet', () => {
  let c: TestCluster;
  let dir: string;
  let manifests: string;
  let kubelet: ChildProc;
  let kubeletArgs: string[];
  let sleeper: ChildProcess | undefined;
  const sleepers: ChildProcess[] = [];
  const pidFile = () => path.join(dir, 'scheduler.pid');

  async function pod(ns: string, name: string): Promise<PodJson | undefined> {
    const r = await c.kubectl(['get', 'pod', name, '-n', ns, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as PodJson) : undefined;
  }

  function startSleeper(): void {
    sleeper = spawn('sleep', ['3600'], { detached: true, stdio: 'ignore' });
    sleepers.push(sleeper);
    fs.writeFileSync(pidFile(), `${JSON.stringify({ pid: sleeper.pid, argv: ['sleep', '3600'] })}\n`);
  }

  before(async () => {
    c = await TestCluster.start({ prefix: 'kemu-static-' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-static-pods-'));
    manifests = path.join(dir, 'manifests');
    fs.mkdirSync(manifests);
    startSleeper();
    fs.writeFileSync(path.join(dir, 'scheduler.log'), '{"level":30,"time":1700000000000,"msg":"scheduler started"}\n');
    fs.writeFileSync(
      path.join(manifests, 'kube-scheduler.yaml'),
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: kube-scheduler',
        '  namespace: kube-system',
        '  labels: {component: kube-scheduler, tier: control-plane}',
        `  annotations: {kemu.dev/pid-file: ${pidFile()}, kemu.dev/log-file: ${path.join(dir, 'scheduler.log')}}`,
        'spec:',
        '  hostNetwork: true',
        '  priorityClassName: system-node-critical',
        '  containers:',
        '  - name: kube-scheduler',
        '    image: registry.k8s.io/kube-scheduler:v1.32.4',
        '    command: [kube-scheduler, --leader-elect=true]',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(manifests, 'web.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web' },
        spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 8080 }] }] },
      }),
    );
    kubeletArgs = [
      '--apiserver',
      c.wireUrl,
      '--node-name',
      NODE,
      '--runtime',
      'process',
      '--root-dir',
      path.join(dir, 'root'),
      '--node-ip',
      '127.0.0.1',
      '--port',
      String(await freePort()),
      '--pod-cidr',
      uniquePodCidr(),
      '--static-pod-dir',
      manifests,
      '--profile',
      'fast',
    ];
    kubelet = c.startComponent('kubelet', COMPONENT_MAINS.kubelet, kubeletArgs);
  });

  after(async () => {
    for (const s of sleepers) {
      try {
        if (s.pid !== undefined) process.kill(s.pid, 'SIGKILL');
      } catch {}
    }
    // A kubelet stopped gracefully stops its containers; the sweep catches what a failure left.
    await Promise.all((c?.components ?? []).map((p) => p.stopGracefully()));
    await c?.destroy();
    if (dir) {
      killContainersUnder(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the pid-file pod is mirrored Running and Ready in kube-system, owned by the Node', async () => {
    const p = await waitFor(
      'kube-scheduler mirror pod Ready',
      async () => {
        const m = await pod('kube-system', `kube-scheduler-${NODE}`);
        return ready(m) ? m : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: unknown) => assert.fail(`${String(err)}\n${c.dumpLogs()}`));
    const a = p.metadata.annotations ?? {};
    assert.equal(a['kubernetes.io/config.source'], 'file');
    assert.match(a['kubernetes.io/config.hash'] ?? '', /^[0-9a-f]{32}$/);
    assert.equal(a['kubernetes.io/config.mirror'], a['kubernetes.io/config.hash']);
    assert.ok(a['kubernetes.io/config.seen']);
    assert.deepEqual(
      p.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
      [['Node', NODE, true]],
    );
    assert.equal(p.status?.podIP, '127.0.0.1');
    // Its logs are the supervisor's log file (annotation kemu.dev/log-file).
    assert.match(await c.k(['logs', '-n', 'kube-system', `kube-scheduler-${NODE}`]), /"msg":"scheduler started"/);
    const wide = await c.k(['get', 'pods', '-n', 'kube-system', '-o', 'wide']);
    assert.match(wide, new RegExp(`kube-scheduler-${NODE}\\s+1/1\\s+Running`));
  });

  test('a normal static pod runs, and its mirror pod shows the status', async () => {
    const p = await waitFor(
      'web mirror pod Running',
      async () => {
        const m = await pod('default', `web-${NODE}`);
        return m?.status?.phase === 'Running' && ready(m) ? m : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    ).catch((err: unknown) => assert.fail(`${String(err)}\n${c.dumpLogs()}`));
    // Ready without a readiness probe means started, not yet listening: wait for the page as a client would.
    const page = await waitFor('the static nginx answering', async () => {
      const res = await fetch(`http://${p.status?.podIP}:8080/`);
      return res.ok ? res.text() : undefined;
    });
    assert.match(page, /Welcome to nginx!/);
    // The static pod is reachable under its mirror name for exec and logs.
    assert.equal(await c.k(['exec', `web-${NODE}`, '--', 'sh', '-c', 'echo $KEMU_POD_NAME']), `web-${NODE}\n`);
    assert.match(await c.k(['logs', `web-${NODE}`]), /GET \/ HTTP\/1\.1" 200/);
  });

  test('kubectl delete pod: the mirror pod comes back', async () => {
    const before = await pod('kube-system', `kube-scheduler-${NODE}`);
    assert.ok(before);
    await c.k(['delete', 'pod', `kube-scheduler-${NODE}`, '-n', 'kube-system', '--timeout=30s']);
    const back = await waitFor(
      'a new mirror pod',
      async () => {
        const m = await pod('kube-system', `kube-scheduler-${NODE}`);
        return m !== undefined && m.metadata.uid !== before.metadata.uid && ready(m) ? m : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(back.metadata.deletionTimestamp, undefined);
  });

  test('the process dies: the mirror pod is not ready; it returns: ready again', async () => {
    sleeper?.kill('SIGKILL');
    await waitFor(
      'mirror pod not ready',
      async () => {
        const m = await pod('kube-system', `kube-scheduler-${NODE}`);
        return m !== undefined && !ready(m);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    startSleeper();
    await waitFor('mirror pod ready again', async () => ready(await pod('kube-system', `kube-scheduler-${NODE}`)), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  });

  test('kubelet stopped: a deleted mirror pod stays Terminating; kubelet back: it is recreated', async () => {
    const before = await pod('kube-system', `kube-scheduler-${NODE}`);
    assert.ok(before);
    await kubelet.stopGracefully();
    await c.k(['delete', 'pod', `kube-scheduler-${NODE}`, '-n', 'kube-system', '--wait=false']);
    const terminating = await pod('kube-system', `kube-scheduler-${NODE}`);
    assert.ok(terminating?.metadata.deletionTimestamp, 'marked for deletion, not removed');
    // Nobody completes the deletion while the kubelet is down (the apiserver waits for it).
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const p = await pod('kube-system', `kube-scheduler-${NODE}`);
      assert.equal(p?.metadata.uid, before.metadata.uid, 'still the same pod, Terminating');
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.match(await c.k(['get', 'pods', '-n', 'kube-system']), /Terminating/);
    kubelet = c.startComponent('kubelet-2', COMPONENT_MAINS.kubelet, kubeletArgs);
    await waitFor(
      'the mirror pod recreated',
      async () => {
        const m = await pod('kube-system', `kube-scheduler-${NODE}`);
        return (
          m !== undefined &&
          m.metadata.uid !== before.metadata.uid &&
          m.metadata.deletionTimestamp === undefined &&
          ready(m)
        );
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: unknown) => assert.fail(`${String(err)}\n${c.dumpLogs()}`));
  });

  test('the manifest goes away: the mirror pod is deleted', async () => {
    fs.rmSync(path.join(manifests, 'kube-scheduler.yaml'));
    await waitFor('mirror pod gone', async () => (await pod('kube-system', `kube-scheduler-${NODE}`)) === undefined, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  });
});
