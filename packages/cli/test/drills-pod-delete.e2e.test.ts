/** Drill 1 through the real CLI on a cluster with a scheduler, a controller-manager and kubelets. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CliCluster, missingPackages, NODE_DRILL_PACKAGES, passedCheck } from './drill-harness.js';

const skip = missingPackages(NODE_DRILL_PACKAGES);
const cluster = new CliCluster('kemu-drill-pods-');

before(async () => {
  if (!skip) await cluster.up(['--etcd', '1', '--nodes', '1']);
});

after(async () => {
  await cluster.destroy();
});

test('pod-delete: a Deployment pod is replaced at once, a bare pod is gone for good', { skip }, async () => {
  const r = await cluster.drill('pod-delete');
  const why = `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${cluster.logs()}`;
  assert.equal(r.code, 0, why);
  const report = r.report;
  assert.ok(report, why);
  assert.equal(report.result, 'PASS', why);
  const replaced = passedCheck(report, 'a replacement pod is created at once');
  assert.ok(replaced.elapsedMs < 10_000);
  passedCheck(report, 'the Deployment is back to 3 Ready pods');
  passedCheck(report, 'the bare pod is gone');
  passedCheck(report, 'nothing recreates the bare pod');
  // The narration followed the ReplicaSet's replacement through the scheduler to a kubelet.
  const tl = report.timeline;
  const del = tl.findIndex((e) => e.kind === 'fault' && /^kubectl delete pod drill-web-/.test(e.message));
  assert.ok(del > 0, why);
  const after = tl.slice(del);
  assert.ok(
    after.some((e) => e.source === 'kube-controller-manager' && /created by ReplicaSet\//.test(e.message)),
    why,
  );
  assert.ok(
    after.some((e) => e.source === 'kube-scheduler' && /scheduled to /.test(e.message)),
    why,
  );
});
