/**
 * The real `kemu` bin against a real cluster (3 etcd members, the apiserver, and whatever other
 * components this build has) in a temp state dir on a free port block: up --detach, status, the chaos
 * verbs, partition/heal, down/up keeping data, and no orphans after a SIGKILLed supervisor.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COMPONENT_MAINS } from '../src/component-mains.js';
import { isAlive, processesOfStateDir, readPidFile } from '../src/pid-files.js';
import type { ClusterStatus } from '../src/status.js';
import { PORT_BLOCK } from '../src/topology.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'bin.js');
const run = promisify(execFile);

async function kemu(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { timeout: 90_000 });
}

/** Runs kemu expecting failure; returns its exit code and stderr. */
async function kemuFails(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await kemu(...args);
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
  throw new Error(`kemu ${args.join(' ')} succeeded, expected a failure`);
}

/** Log tails of the cluster under test, for failure messages (set once the state dir is known). */
let clusterLogs: () => string = () => '';

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n${clusterLogs()}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** A port base whose whole block is free right now (checked, not assumed). */
async function freeBlock(): Promise<number> {
  const canListen = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 50) * PORT_BLOCK;
    const checks = await Promise.all(Array.from({ length: PORT_BLOCK }, (_, i) => canListen(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port block');
}

describe('kemu up / chaos / down', () => {
  let dir: string;
  let stateDir: string;
  let portBase: number;
  const flags = (): string[] => ['--state-dir', stateDir];
  const status = async (): Promise<ClusterStatus> =>
    JSON.parse((await kemu('status', ...flags(), '-o', 'json')).stdout) as ClusterStatus;
  const comp = (st: ClusterStatus, name: string) => {
    const c = st.components.find((x) => x.name === name);
    assert.ok(c, `no ${name} in status`);
    return c;
  };
  const kubectl = (...args: string[]) =>
    run('kubectl', [...args, '--request-timeout=5s', '--cache-dir', path.join(dir, 'kube-cache')], {
      env: { ...process.env, KUBECONFIG: path.join(stateDir, 'kubeconfig') },
      timeout: 30_000,
    });
  clusterLogs = (): string => {
    const out: string[] = [];
    for (const f of ['supervisor.log', 'kube-apiserver.log', 'etcd-0.log']) {
      try {
        out.push(
          `--- ${f}\n${fs
            .readFileSync(path.join(stateDir, 'logs', f), 'utf8')
            .split('\n')
            .slice(-15)
            .join('\n')}`,
        );
      } catch {
        // not written
      }
    }
    return out.join('\n');
  };
  const apiserverBuilt = fs.existsSync(COMPONENT_MAINS.apiserver);
  const kubeletBuilt = apiserverBuilt && fs.existsSync(COMPONENT_MAINS.kubelet);
  /** Static/mirror pods exist once the kubelet's main starts its static-pod source (`--static-pod-dir`). */
  const mirrorPodsBuilt = kubeletBuilt && fs.readFileSync(COMPONENT_MAINS.kubelet, 'utf8').includes('staticPodDir');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-launcher-'));
    stateDir = path.join(dir, 'state');
    portBase = await freeBlock();
  });

  after(async () => {
    try {
      await kemu('down', ...flags());
    } catch {
      // fall through to the hard cleanup
    }
    // Whatever is still there (a failed test, a hung supervisor): kill it.
    for (const pid of processesOfStateDir(stateDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const sup = readPidFile(path.join(stateDir, 'run', 'supervisor.pid'));
    if (sup && isAlive(sup.pid)) process.kill(sup.pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('up --detach brings the cluster up; status shows every component; a second up is refused', async (t) => {
    const started = Date.now();
    // One worker: the default topology is the unit tests' business; each node is two more processes.
    const up = await kemu('up', '--detach', ...flags(), '--port-base', String(portBase), '--etcd', '3', '--nodes', '1');
    t.diagnostic(`up took ${Date.now() - started} ms`);
    assert.match(up.stdout, /etcd has a leader: etcd-\d \(term \d+\)/);
    assert.match(up.stdout, /cluster ready in/);
    const st = await status();
    assert.equal(st.supervisor.running, true);
    const etcd = st.components.filter((c) => c.kind === 'etcd');
    assert.equal(etcd.length, 3);
    for (const c of etcd) {
      assert.equal(c.state, 'running');
      assert.ok(c.pid !== null && isAlive(c.pid));
      assert.equal(c.restarts, 0);
    }
    assert.match(st.etcd.leader ?? '', /^etcd-\d$/);
    assert.ok((st.etcd.term ?? 0) >= 1);
    for (const c of st.components) {
      const built = fs.existsSync(path.join(stateDir, 'run', `${c.name}.pid`));
      assert.equal(c.state === 'running', built, `${c.name}: ${c.state}`);
    }
    if (apiserverBuilt) {
      assert.equal(comp(st, 'kube-apiserver').state, 'running');
      const kubeconfig = fs.readFileSync(path.join(stateDir, 'kubeconfig'), 'utf8');
      assert.match(kubeconfig, new RegExp(`server: http://127.0.0.1:${portBase + 10}`));
      assert.match(up.stdout, /export KUBECONFIG=/);
      // The pid file a static manifest points at: {pid, argv} of the live process.
      const rec = readPidFile(path.join(stateDir, 'run', 'kube-apiserver.pid'));
      assert.equal(rec?.pid, comp(st, 'kube-apiserver').pid);
      assert.ok(fs.existsSync(path.join(stateDir, 'nodes', 'control-plane', 'manifests', 'kube-apiserver.yaml')));
    }
    if (kubeletBuilt) {
      // up --detach returned once every node was Ready.
      assert.match(up.stdout, /all 2 node\(s\) Ready/);
      assert.deepEqual(
        st.nodes.map((n) => [n.name, n.ready]),
        ['control-plane', 'worker-1'].map((n) => [n, 'True']),
      );
      const out = await kemu('runtime', 'stop', 'worker-1', ...flags());
      assert.match(out.stdout, /runtime stopped on node worker-1 \(kubelet-worker-1\)/);
      await kemu('runtime', 'start', 'worker-1', ...flags());
    }
    if (mirrorPodsBuilt) {
      // The control plane as pods on the control-plane node (kubeadm's static/mirror pods).
      const pods = await waitFor('mirror pods Running', async () => {
        const { stdout } = await kubectl('get', 'pods', '-n', 'kube-system', '-o', 'json');
        const items = (
          JSON.parse(stdout) as { items: Array<{ metadata: { name: string }; status: { phase: string } }> }
        ).items;
        const running = items.filter((p) => p.status.phase === 'Running').map((p) => p.metadata.name);
        const want = ['etcd-0-control-plane', 'kube-apiserver-control-plane', 'kube-proxy-worker-1'];
        return want.every((w) => running.includes(w)) ? running : undefined;
      });
      assert.ok(pods.includes('etcd-2-control-plane'), pods.join(', '));
    }
    const again = await kemuFails('up', '--detach', ...flags());
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: a kemu supervisor \(pid \d+\) already runs the cluster/);
    assert.equal((await status()).supervisor.pid, st.supervisor.pid);
    const table = await kemu('status', ...flags());
    assert.match(table.stdout, /etcd-0 .*running/);
    const bad = await kemuFails('kill', 'foo', ...flags());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: unknown component "foo"; known: etcd-0, etcd-1, etcd-2/);
  });

  test('kill etcd-leader: restarted by the supervisor, a new leader, writes resume', {
    skip: !apiserverBuilt,
  }, async () => {
    const before = await status();
    const oldLeader = before.etcd.leader!;
    const victim = comp(before, oldLeader);
    const out = await kemu('kill', 'etcd-leader', ...flags());
    assert.match(out.stdout, new RegExp(`killed etcd-leader \\(${oldLeader}\\) \\(pid ${victim.pid}\\)`));
    await waitFor('a leader again', async () => ((await status()).etcd.leader ? true : undefined));
    // kubectl retries nothing on a 5xx: the write succeeds once the apiserver's etcd client has a leader.
    await waitFor(
      'a write through kubectl',
      async () => (await kubectl('create', 'configmap', 'after-leader-kill', '--from-literal=k=v')).stdout,
    );
    const after = await waitFor('the old leader restarted', async () => {
      const c = comp(await status(), oldLeader);
      return c.state === 'running' && c.pid !== victim.pid ? c : undefined;
    });
    assert.equal(after.restarts, 1);
    const events = fs
      .readFileSync(path.join(stateDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; component: string; signal?: string; planned?: boolean });
    assert.ok(
      events.some((e) => e.event === 'exit' && e.component === oldLeader && e.signal === 'SIGKILL' && !e.planned),
    );
  });

  test('stop kube-apiserver: kubectl cannot connect and it stays down; start: kubectl works', {
    skip: !apiserverBuilt,
  }, async () => {
    await kemu('stop', 'kube-apiserver', ...flags());
    const st = await status();
    assert.equal(comp(st, 'kube-apiserver').state, 'stopped');
    assert.equal(st.apiserver.reachable, false);
    const refused = await kubectl('get', 'configmaps').then(
      () => undefined,
      (e: { stderr?: string }) => e.stderr ?? '',
    );
    assert.match(refused ?? 'kubectl succeeded', /connection refused|was refused/);
    // Stopped on purpose: not restarted behind our back.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(comp(await status(), 'kube-apiserver').state, 'stopped');
    await kemu('start', 'kube-apiserver', ...flags());
    const got = await waitFor(
      'kubectl works again',
      async () => (await kubectl('get', 'configmap', 'after-leader-kill', '-o', 'name')).stdout,
    );
    assert.equal(got.trim(), 'configmap/after-leader-kill');
  });

  test('pause/resume an etcd member; partition one from the others, then heal', async () => {
    await kemu('pause', 'etcd-0', ...flags());
    assert.equal(comp(await status(), 'etcd-0').state, 'paused');
    await kemu('resume', 'etcd-0', ...flags());
    assert.equal(comp(await status(), 'etcd-0').state, 'running');

    const st = await status();
    const follower = st.components.find((c) => c.kind === 'etcd' && !c.etcd?.isLeader)!;
    const others = st.components.filter((c) => c.kind === 'etcd' && c.name !== follower.name).map((c) => c.name);
    const out = await kemu('partition', follower.name, '--from', others.join(','), '--for', '60s', ...flags());
    assert.equal(out.stdout.match(/^partitioned /gm)?.length, 3);
    const rules = async (port: number) =>
      (
        (await (await fetch(`http://127.0.0.1:${port}/faults`)).json()) as {
          rules: Array<{ action: string; a: string[]; b: string[] }>;
        }
      ).rules;
    const r = await rules(portBase + 5 + Number(follower.name.slice(5)));
    assert.deepEqual(
      r.map((x) => [x.action, x.a, x.b]),
      [['partition', [`etcd/${follower.name}`], others.map((n) => `etcd/${n}`)]],
    );
    // Cut off, the follower campaigns (pre-vote keeps the others' term) and learns no new leader.
    await waitFor('the partitioned member loses its leader', async () => {
      const c = comp(await status(), follower.name);
      return c.etcd && c.etcd.leaderName === '' ? true : undefined;
    });
    if (apiserverBuilt) await kubectl('create', 'configmap', 'during-partition', '--from-literal=k=v');
    const healed = await kemu('heal', ...flags());
    assert.match(healed.stdout, /healed: removed 3 fault rule\(s\)/);
    assert.deepEqual(await rules(portBase + 5 + Number(follower.name.slice(5))), []);
    await waitFor('the member follows the leader again', async () => {
      const s = await status();
      const c = comp(s, follower.name);
      return c.etcd && c.etcd.leaderName === s.etcd.leader ? true : undefined;
    });
  });

  test('SIGKILL of the supervisor, then up again: no orphan, data survives', async () => {
    const before = await status();
    const oldPids = before.components.filter((c) => c.pid !== null).map((c) => c.pid!);
    const sup = readPidFile(path.join(stateDir, 'run', 'supervisor.pid'));
    assert.ok(sup);
    process.kill(sup.pid, 'SIGKILL');
    await waitFor('supervisor gone', () => (isAlive(sup.pid) ? undefined : true));
    // The components outlive it (own process groups): these are the would-be orphans.
    assert.ok(oldPids.every(isAlive));
    assert.equal((await status()).components.find((c) => c.pid !== null)?.state, 'unsupervised');

    await kemu('up', '--detach', ...flags());
    await waitFor('old processes gone', () => (oldPids.some(isAlive) ? undefined : true), 10_000);
    const st = await status();
    assert.equal(st.supervisor.running, true);
    assert.notEqual(st.supervisor.pid, sup.pid);
    for (const c of st.components.filter((x) => x.state !== 'not available')) {
      assert.equal(c.state, 'running', c.name);
      assert.ok(!oldPids.includes(c.pid!));
    }
    // Exactly the new components carry the state dir: nothing from the old run is left.
    const current = st.components.filter((c) => c.pid !== null).map((c) => c.pid!);
    assert.deepEqual(processesOfStateDir(stateDir).sort(), [...current].sort());
    if (apiserverBuilt) {
      const got = await waitFor(
        'the configmap',
        async () => (await kubectl('get', 'configmap', 'during-partition', '-o', 'name')).stdout,
      );
      assert.equal(got.trim(), 'configmap/during-partition');
    }
  });

  test('down leaves no process; up again on the same state dir keeps the data', async () => {
    const st = await status();
    const pids = [st.supervisor.pid!, ...st.components.filter((c) => c.pid !== null).map((c) => c.pid!)];
    await kemu('down', ...flags());
    await waitFor('every process gone', () => (pids.some(isAlive) ? undefined : true), 10_000);
    assert.deepEqual(processesOfStateDir(stateDir), []);
    const after = await status();
    assert.equal(after.supervisor.running, false);
    assert.ok(after.components.every((c) => c.pid === null));
    assert.equal(
      (await kemuFails('kill', 'etcd-0', ...flags())).stderr.trim(),
      `error: no kemu supervisor is running for ${stateDir}; start the cluster with 'kemu up'`,
    );
    if (!apiserverBuilt) return;
    await kemu('up', '--detach', ...flags());
    const got = await kubectl('get', 'configmaps', '-o', 'name');
    assert.match(got.stdout, /configmap\/after-leader-kill/);
    assert.match(got.stdout, /configmap\/during-partition/);
    await kemu('down', ...flags());
  });
});
