/** Drill 4 through the real CLI: the scheduler's mirror pod deleted, then with the control-plane kubelet stopped. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CliCluster, missingPackages, NODE_DRILL_PACKAGES, passedCheck } from './drill-harness.js';

const skip = missingPackages(NODE_DRILL_PACKAGES);
const cluster = new CliCluster('kemu-drill-cp-');

before(async () => {
  if (!skip) await cluster.up(['--etcd', '1', '--nodes', '1']);
});

after(async () => {
  await cluster.destroy();
});

test('control-plane: the mirror pod comes back; with the kubelet stopped it stays Terminating while workloads scale', {
  skip,
}, async () => {
  const r = await cluster.drill('control-plane');
  const why = `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${cluster.logs()}`;
  assert.equal(r.code, 0, why);
  const report = r.report;
  assert.ok(report, why);
  assert.equal(report.result, 'PASS', why);
  assert.match(passedCheck(report, 'it comes back (the kubelet publishes the mirror pod again)').detail, /^new uid /);
  assert.match(
    passedCheck(report, 'the scheduler process itself never stopped').detail,
    /^pid (\d+) before, \1 after$/,
  );
  passedCheck(report, 'the pod is Terminating');
  passedCheck(report, 'a new workload is created and runs');
  passedCheck(report, 'and scales to 3 (the scheduler still schedules)');
  passedCheck(report, /^kube-scheduler-control-plane still Terminating \d+ s later \(no kubelet to confirm\)$/);
  passedCheck(report, 'with its kubelet back, kube-scheduler-control-plane is recreated and Running');
  const tl = report.timeline;
  assert.ok(
    tl.some(
      (e) =>
        e.source === 'kubelet/control-plane' &&
        e.message === 'mirror pod kube-system/kube-scheduler-control-plane created for a static pod',
    ),
    why,
  );
  assert.ok(
    tl.some((e) => e.kind === 'fault' && /^stopped kubelet-control-plane/.test(e.message)),
    why,
  );
});
