/**
 * `kemu up --detach` / `status` / `down` as real processes: a detached supervisor, 3 real etcd
 * members (and the apiserver when this build has it), SIGKILLs of a member and of the supervisor.
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
import { bytesToString, EtcdClient, wireConnectionFactory } from '@kemu/etcd';
import { isAlive, readCmdline, readPidFile } from '../src/pid-files.js';
import type { ClusterStatus } from '../src/status.js';
import { APISERVER_MAIN } from '../src/topology.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'bin.js');
const run = promisify(execFile);

async function kemu(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { timeout: 90_000 });
}

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
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port base whose 50-port block is free right now (checked, not assumed). */
async function freeBlock(): Promise<number> {
  const canListen = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 800) * 50;
    const checks = await Promise.all(Array.from({ length: 50 }, (_, i) => canListen(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port block');
}

/** Every pid we can see that runs something from this state dir (cmdline mentions it). */
function processesOf(stateDir: string): number[] {
  const found: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = readCmdline(Number(d));
    if (cmd?.some((a) => a.includes(stateDir))) found.push(Number(d));
  }
  return found;
}

describe('kemu up / status / down', () => {
  let dir: string;
  let stateDir: string;
  let portBase: number;
  const flags = (): string[] => ['--state-dir', stateDir, '--port-base', String(portBase)];
  const status = async (): Promise<ClusterStatus> =>
    JSON.parse((await kemu('status', ...flags(), '-o', 'json')).stdout) as ClusterStatus;
  const etcdClient = (): EtcdClient =>
    new EtcdClient({
      endpoints: [0, 1, 2].map((i) => `127.0.0.1:${portBase + i}`),
      connect: wireConnectionFactory({ identity: 'test/launcher' }),
    });
  const apiserverBuilt = fs.existsSync(APISERVER_MAIN);

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
    // Whatever is still there (a failed test, a hung supervisor): kill its process group.
    for (const pid of processesOf(stateDir)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('up --detach brings 3 etcd members with a leader; status shows them', async (t) => {
    const started = Date.now();
    const up = await kemu('up', '--detach', ...flags(), '--etcd', '3');
    t.diagnostic(`up took ${Date.now() - started} ms`);
    assert.match(up.stdout, /etcd has a leader: etcd-\d \(term \d+\)/);
    assert.match(up.stdout, /not available in this build/);
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
    const apiserver = st.components.find((c) => c.kind === 'kube-apiserver');
    if (apiserverBuilt) {
      assert.equal(apiserver?.state, 'running');
      const kubeconfig = fs.readFileSync(path.join(stateDir, 'kubeconfig'), 'utf8');
      assert.match(kubeconfig, new RegExp(`server: http://127.0.0.1:${portBase + 20}`));
      assert.match(up.stdout, /export KUBECONFIG=/);
    } else {
      assert.equal(apiserver?.state, 'not available');
    }
    // A second supervisor on the same state dir is refused, and the first keeps running.
    await assert.rejects(kemu('up', '--detach', ...flags()), /KEMU_CLUSTER_RUNNING/);
    assert.equal((await status()).supervisor.pid, st.supervisor.pid);
    const table = await kemu('status', ...flags());
    assert.match(table.stdout, /etcd-0 .*running/);
  });

  test('a SIGKILLed etcd member is restarted by the supervisor', async () => {
    const before = await status();
    const victim = before.components.find((c) => c.name === 'etcd-1');
    assert.ok(victim?.pid);
    process.kill(victim.pid, 'SIGKILL');
    const after = await waitFor('etcd-1 restarted', async () => {
      const st = await status();
      const c = st.components.find((x) => x.name === 'etcd-1');
      return c && c.state === 'running' && c.pid !== null && c.pid !== victim.pid ? c : undefined;
    });
    assert.equal(after.restarts, 1);
    const events = fs
      .readFileSync(path.join(stateDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; component: string; signal?: string; planned?: boolean });
    assert.ok(
      events.some((e) => e.event === 'exit' && e.component === 'etcd-1' && e.signal === 'SIGKILL' && !e.planned),
    );
    assert.ok(events.some((e) => e.event === 'restart' && e.component === 'etcd-1'));
  });

  test('SIGKILL of the supervisor, then up again: no orphan, data survives', async () => {
    const client = etcdClient();
    try {
      await client.put('launcher/key', 'survives');
    } finally {
      await client.close();
    }
    const before = await status();
    const oldPids = before.components.filter((c) => c.kind === 'etcd').map((c) => c.pid!);
    const sup = readPidFile(path.join(stateDir, 'run', 'supervisor.pid'));
    assert.ok(sup);
    process.kill(sup.pid, 'SIGKILL');
    await waitFor('supervisor gone', () => (isAlive(sup.pid) ? undefined : true));
    // The members outlive it (own process groups): these are the would-be orphans.
    assert.ok(oldPids.every(isAlive));

    await kemu('up', '--detach', ...flags());
    await waitFor('old members gone', () => (oldPids.some(isAlive) ? undefined : true), 10_000);
    const st = await status();
    assert.equal(st.supervisor.running, true);
    assert.notEqual(st.supervisor.pid, sup.pid);
    for (const c of st.components.filter((x) => x.kind === 'etcd')) {
      assert.equal(c.state, 'running');
      assert.ok(!oldPids.includes(c.pid!));
    }
    const c2 = etcdClient();
    try {
      const kv = await c2.get('launcher/key');
      assert.equal(kv && bytesToString(kv.value), 'survives');
    } finally {
      await c2.close();
    }
  });

  test('down leaves no process', async () => {
    const st = await status();
    const pids = [st.supervisor.pid!, ...st.components.filter((c) => c.pid !== null).map((c) => c.pid!)];
    await kemu('down', ...flags());
    await waitFor('every process gone', () => (pids.some(isAlive) ? undefined : true), 10_000);
    assert.deepEqual(processesOf(stateDir), []);
    const after = await status();
    assert.equal(after.supervisor.running, false);
    assert.ok(after.components.every((c) => c.pid === null));
  });
});
