/** Drill 3 through the real CLI: a worker's container runtime stopped, scaling around it, restored. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CliCluster, missingPackages, NODE_DRILL_PACKAGES, passedCheck } from './drill-harness.js';

const skip = missingPackages(NODE_DRILL_PACKAGES);
const cluster = new CliCluster('kemu-drill-runtime-');

before(async () => {
  if (!skip) await cluster.up(['--etcd', '1', '--nodes', '2']);
});

after(async () => {
  await cluster.destroy();
});

test('runtime-stop: the node takes no pods, the others take them, the spread evens out after restore', {
  skip,
}, async () => {
  const r = await cluster.drill('runtime-stop');
  const why = `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${cluster.logs()}`;
  assert.equal(r.code, 0, why);
  const report = r.report;
  assert.ok(report, why);
  assert.equal(report.result, 'PASS', why);
  assert.match(
    passedCheck(report, 'worker-1 stops taking pods (NotReady, tainted)').detail,
    /container runtime is down/,
  );
  assert.match(passedCheck(report, 'no pod runs on worker-1').detail, /worker-1 0, worker-2 4/);
  assert.match(passedCheck(report, 'the scheduler evens the spread').detail, /worker-1 4, worker-2 4/);
  assert.ok(
    report.timeline.some((e) => e.kind === 'fault' && /^kemu runtime stop worker-1/.test(e.message)),
    why,
  );
});
