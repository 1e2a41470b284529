/**
 * Drill 5 through the real CLI: `kemu up --detach --etcd 3`, then `kemu drill run etcd-quorum`
 * kills the etcd leader under a writer and stops a majority. The test reads the drill's report.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CliCluster } from './drill-harness.js';

const cluster = new CliCluster('kemu-drill-etcd-');

before(async () => {
  await cluster.up(['--etcd', '3', '--nodes', '1']);
});

after(async () => {
  await cluster.destroy();
});

test('etcd-quorum: new leader after a leader kill, no acked write lost, no writes without quorum, recovery', async () => {
  const r = await cluster.drill('etcd-quorum');
  const why = `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${cluster.logs()}`;
  assert.equal(r.code, 0, why);
  assert.match(r.stdout, /^PASS: etcd-quorum/m, why);
  const report = r.report;
  assert.ok(report, why);
  assert.equal(report.result, 'PASS');
  const check = (re: RegExp) => {
    const c = report.checks.find((x) => re.test(x.name));
    assert.ok(c, `no check matching ${re}: ${report.checks.map((x) => x.name).join('; ')}`);
    assert.equal(c.ok, true, c.detail);
    return c;
  };
  const elected = check(/^a new leader \(not etcd-\d\) within 5000 ms$/);
  assert.match(elected.detail, /^etcd-\d leads term \d+$/);
  assert.ok(elected.elapsedMs <= 5000);
  assert.match(check(/^no acknowledged write lost \(leader kill\)$/).detail, /^all \d+ acknowledged writes present/);
  assert.match(
    check(/^the API refuses a write with a clear error$/).detail,
    /etcd is unavailable: etcdserver: |Timeout: request did not complete|etcdserver: request timed out/,
  );
  check(/^writes are accepted again$/);
  check(/^no acknowledged write lost \(after the majority came back\)$/);
  // The narration saw the fault and the cluster's answers to it, in order.
  const tl = report.timeline;
  const kill = tl.findIndex((e) => e.kind === 'fault' && /^SIGKILL etcd leader etcd-\d/.test(e.message));
  assert.ok(kill > 0, 'the kill is in the timeline');
  const killedName = /etcd leader (etcd-\d)/.exec(tl[kill]!.message)![1];
  assert.ok(
    tl.slice(kill).some((e) => e.source === 'supervisor' && e.message === `${killedName} exited (signal SIGKILL)`),
    'the supervisor saw the kill',
  );
  assert.ok(
    tl
      .slice(kill)
      .some((e) => e.kind === 'observed' && e.source === 'etcd' && /^leader is etcd-\d \(term \d+\)$/.test(e.message)),
    'the etcd observer narrated the new leader',
  );
  assert.ok(
    tl.some((e) => e.kind === 'observed' && e.source === 'etcd' && /^no leader/.test(e.message)),
    'and the loss of quorum',
  );
  assert.ok(r.html?.includes('<span class="badge PASS">PASS</span>'));
});
