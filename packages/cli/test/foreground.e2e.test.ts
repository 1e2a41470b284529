/**
 * Foreground `kemu up` (what `npm start` runs): it prints its progress and the KUBECONFIG line, stays
 * up, and Ctrl-C (SIGINT) stops every process of the cluster — no orphans.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAlive, processesOfStateDir, readPidFile } from '../src/pid-files.js';
import { PORT_BLOCK } from '../src/topology.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'bin.js');

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs: number, detail: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freeBlock(): Promise<number> {
  const canListen = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 50) * PORT_BLOCK;
    if ((await Promise.all(Array.from({ length: PORT_BLOCK }, (_, i) => canListen(base + i)))).every(Boolean))
      return base;
  }
  throw new Error('no free port block');
}

test('foreground up: progress, KUBECONFIG line, and Ctrl-C stops every process', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-foreground-'));
  const stateDir = path.join(dir, 'state');
  const portBase = await freeBlock();
  const child = spawn(
    process.execPath,
    [BIN, 'up', '--state-dir', stateDir, '--port-base', String(portBase), '--etcd', '1', '--nodes', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.after(() => {
    child.kill('SIGKILL');
    for (const pid of processesOfStateDir(stateDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await waitFor(
    'the cluster ready',
    () => (/cluster ready in/.test(out) ? true : undefined),
    60_000,
    () => out,
  );
  assert.match(out, /etcd has a leader: etcd-0/);
  assert.match(out, new RegExp(`export KUBECONFIG=${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/kubeconfig`));
  assert.match(out, /Ctrl-C stops it/);
  const sup = readPidFile(path.join(stateDir, 'run', 'supervisor.pid'));
  assert.equal(sup?.pid, child.pid, 'the foreground process is the supervisor');
  const pids = processesOfStateDir(stateDir);
  assert.ok(pids.length >= 2, `components running: ${pids.join(', ')}`);

  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.match(out, /SIGINT: stopping every component/);
  assert.ok(!pids.some(isAlive), 'every component stopped with the supervisor');
  assert.deepEqual(processesOfStateDir(stateDir), []);
  assert.ok(!fs.existsSync(path.join(stateDir, 'run', 'supervisor.pid')));
});
