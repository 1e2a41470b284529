/**
 * Drill 6 through the real CLI, plus `kemu drill list` and its usage errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BIN, CliCluster, kemu } from './drill-harness.js';

const cluster = new CliCluster('kemu-drill-api-');

before(async () => {
  await cluster.up(['--etcd', '1', '--nodes', '1']);
});

after(async () => {
  await cluster.destroy();
});

test('drill list names the drills with one-line titles; bad names and missing clusters are clear errors', async () => {
  const list = await kemu(['drill', 'list']);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /^etcd-quorum\s+Kill the etcd leader, then a majority$/m);
  assert.match(list.stdout, /^apiserver-down\s+Stop the apiserver$/m);
  const unknown = await kemu(['drill', 'run', 'no-such-drill', '--state-dir', cluster.stateDir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no drill named 'no-such-drill' \(known: .*etcd-quorum/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-drill-none-'));
  try {
    const none = await kemu(['drill', 'run', 'apiserver-down', '--state-dir', empty]);
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stderr, /error: (no running cluster|this cluster has no kube-apiserver)/);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
  const oneEtcd = await kemu(['drill', 'run', 'etcd-quorum', '--state-dir', cluster.stateDir]);
  assert.equal(oneEtcd.code, 3);
  assert.match(oneEtcd.stderr, /needs at least 3 etcd members, the cluster has 1/);
});

test('apiserver-down: kubectl cannot connect, components keep running, everything resumes', async () => {
  const r = await cluster.drill('apiserver-down');
  const why = `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${cluster.logs()}`;
  assert.equal(r.code, 0, why);
  const report = r.report;
  assert.ok(report, why);
  assert.equal(report.result, 'PASS');
  const refused = report.checks.find((c) => c.name === 'kubectl says it cannot connect');
  assert.ok(refused?.ok, why);
  assert.match(
    refused.detail,
    new RegExp(
      `^The connection to the server 127\\.0\\.0\\.1:${cluster.apiserverPort()} was refused - did you specify the right host or port\\?$`,
    ),
  );
  for (const name of [
    'kubectl works again',
    'objects written before the outage are intact',
    'writes are accepted again',
  ]) {
    assert.equal(report.checks.find((c) => c.name === name)?.ok, true, `${name}\n${why}`);
  }
  const tl = report.timeline;
  const stop = tl.findIndex((e) => e.kind === 'fault' && /^stopped kube-apiserver/.test(e.message));
  const back = tl.findIndex((e) => e.kind === 'observed' && e.message === 'apiserver ready again');
  assert.ok(stop > 0 && back > stop, why);
  assert.ok(
    tl.some(
      (e) =>
        e.kind === 'observed' &&
        e.source === 'kube-apiserver' &&
        /^apiserver not answering \(ECONNREFUSED\)$/.test(e.message),
    ),
  );
  // Nothing is left stopped: a later drill or `kemu status` sees the cluster whole.
  const status = JSON.parse((await kemu(['status', ...cluster.flags, '-o', 'json'])).stdout) as {
    components: { name: string; state: string }[];
  };
  assert.equal(status.components.find((c) => c.name === 'kube-apiserver')?.state, 'running');
});

test('Ctrl-C in the middle of a drill undoes its fault: the stopped apiserver is started again', async () => {
  const child = spawn(process.execPath, [BIN, 'drill', 'run', 'apiserver-down', '--state-dir', cluster.stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!/keeping the apiserver down/.test(out)) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`the drill never stopped the apiserver:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 130, out);
  assert.match(out, /SIGINT: undoing the drill's faults before exiting\nrestored kube-apiserver: started/);
  const status = JSON.parse((await kemu(['status', ...cluster.flags, '-o', 'json'])).stdout) as {
    components: { name: string; state: string }[];
  };
  assert.equal(status.components.find((c) => c.name === 'kube-apiserver')?.state, 'running');
});
