/** Drill 2 through the real CLI: a worker's kubelet stopped and started again. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CliCluster, missingPackages, NODE_DRILL_PACKAGES, passedCheck } from './drill-harness.js';

const skip = missingPackages(NODE_DRILL_PACKAGES);
const cluster = new CliCluster('kemu-drill-kubelet-');

before(async () => {
  if (!skip) await cluster.up(['--etcd', '1', '--nodes', '2']);
});

after(async () => {
  await cluster.destroy();
});

test('kubelet-stop: NotReady after the grace period, pods move, the node is filled again', { skip }, async () => {
  const r = await cluster.drill('kubelet-stop');
  const why = `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${cluster.logs()}`;
  assert.equal(r.code, 0, why);
  const report = r.report;
  assert.ok(report, why);
  assert.equal(report.result, 'PASS', why);
  const notReady = passedCheck(report, /^worker-\d goes NotReady after the grace period \(5000 ms\)$/);
  const node = /^(worker-\d)/.exec(notReady.name)?.[1] ?? '';
  passedCheck(report, 'not before the grace period');
  const moved = passedCheck(report, /^its pods are evicted and recreated on other nodes/);
  assert.match(moved.detail, new RegExp(`${node} 0,|${node} 0$`));
  passedCheck(report, `${node} is Ready again`);
  passedCheck(report, `scaling to 6 fills ${node} again`);
  const tl = report.timeline;
  assert.ok(
    tl.some(
      (e) =>
        e.source === 'kube-controller-manager' && e.message === `node ${node} NotReady (Unknown) (NodeStatusUnknown)`,
    ),
    why,
  );
  assert.ok(
    tl.some(
      (e) => e.kind === 'observed' && e.message === `node ${node} tainted node.kubernetes.io/unreachable:NoExecute`,
    ),
    why,
  );
  assert.ok(
    tl.some((e) => e.kind === 'observed' && /TaintManagerEviction/.test(e.message)),
    why,
  );
  // The pod moves, as pairs of an evicted pod and its replacement on another node.
  const move = new RegExp(`^ReplicaSet/drill-kl-[a-z0-9]+-[a-z0-9]+: moved ${node} → worker-\\d `);
  assert.ok(
    tl.some((e) => e.source === 'pod-move' && move.test(e.message)),
    why,
  );
});
