// The kube-controller-manager process contract: flags (exit 2 with a clear message), --help,
// leader election on a real apiserver, /readyz and /controllers, SIGTERM releasing the lease.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { COMPONENT_MAINS, freePort, TestCluster, waitFor } from '@kemu/testkit';
import { leaseHolder, startControllerManager } from './helpers/e2e.js';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [COMPONENT_MAINS.controllerManager, ...args],
      { timeout: 15_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('kube-controller-manager flags', () => {
  it('--help prints usage and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: kube-controller-manager --apiserver/);
  });
  it('an unknown controller exits 2 naming it', async () => {
    const r = await run(['--apiserver', 'ws://127.0.0.1:1', '--controllers', '*,-nosuch']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^kube-controller-manager: --controllers: "nosuch" is not in the list of known controllers \(replicaset, deployment/,
    );
    assert.match(r.stderr, /usage: kube-controller-manager/);
  });
  it('a missing --apiserver and a bad profile exit 2', async () => {
    assert.equal((await run([])).code, 2);
    const r = await run(['--apiserver', 'ws://127.0.0.1:1', '--profile', 'slow']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--profile must be one of fast, real/);
  });
});

describe('kube-controller-manager process (cross-process)', () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start({ prefix: 'kemu-cm-proc-' });
  });
  after(async () => {
    await c?.destroy();
  });

  it('leads, serves /readyz and /controllers, and releases the lease on SIGTERM', async () => {
    const admin = await freePort();
    const p = startControllerManager(c, 'kcm-solo', [
      '--admin-port',
      String(admin),
      '--controllers',
      'replicaset,deployment',
    ]);
    assert.equal(
      await waitFor('kcm-solo to lead', async () => ((await leaseHolder(c)) === 'kcm-solo' ? 'kcm-solo' : undefined)),
      'kcm-solo',
    );
    const ready = await waitFor('readyz', async () => {
      const r = await fetch(`http://127.0.0.1:${admin}/readyz`);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(ready.status, 200);
    const info = (await (await fetch(`http://127.0.0.1:${admin}/controllers`)).json()) as {
      leading: boolean;
      enabled: string[];
      started: string[];
    };
    assert.equal(info.leading, true);
    assert.deepEqual(info.enabled, ['replicaset', 'deployment']);
    assert.deepEqual(info.started, ['replicaset', 'deployment']);
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    assert.match(metrics, /leader_election_master_status\{name="kube-controller-manager"\} 1/);
    assert.match(metrics, /workqueue_adds_total|workqueue_depth/);
    const faults = await fetch(`http://127.0.0.1:${admin}/faults`);
    assert.equal(faults.status, 200);
    await p.stopGracefully();
    assert.equal(p.proc?.exitCode, 0);
    assert.equal(await leaseHolder(c), undefined, 'the lease was handed back');
  });
});
