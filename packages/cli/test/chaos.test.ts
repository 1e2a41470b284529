import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ChaosError,
  knownNames,
  parseDuration,
  resolveComponent,
  resolveNode,
  UnknownComponentError,
} from '../src/chaos.js';
import { planCluster, resolveSpec } from '../src/topology.js';

const ALL = {
  etcd: true,
  apiserver: true,
  scheduler: true,
  controllerManager: true,
  kubelet: true,
  proxy: true,
  dns: true,
};

test('component names resolve; unknown names list the known ones, real-tool style', async () => {
  const plan = planCluster(resolveSpec({}, {}, '/x'), { programs: ALL, node: 'node' });
  assert.equal((await resolveComponent(plan, 'kubelet-worker-2')).kind, 'kubelet');
  assert.equal((await resolveComponent(plan, 'kube-apiserver')).identity, 'kube-apiserver/apiserver-0');
  await assert.rejects(resolveComponent(plan, 'foo'), (e: unknown) => {
    assert.ok(e instanceof UnknownComponentError);
    assert.equal(e.code, 'KEMU_UNKNOWN_COMPONENT');
    assert.match(e.message, /^unknown component "foo"; known: etcd-0, etcd-1, etcd-2, kube-apiserver, .*etcd-leader$/);
    return true;
  });
  assert.ok(knownNames(plan).includes('kube-proxy-worker-3'));
  assert.equal(resolveNode(plan, 'worker-1').kubeletAdminPort, 2379 + 50 + 4);
  assert.throws(() => resolveNode(plan, 'worker-9'), /unknown node "worker-9"; known: control-plane, worker-1/);
});

test('a component this build lacks, and a simulated node, are explained', async () => {
  const plan = planCluster(resolveSpec({ runtime: 'sim', apiservers: '2' }, {}, '/x'), {
    programs: { ...ALL, scheduler: false },
    node: 'node',
  });
  await assert.rejects(resolveComponent(plan, 'kube-scheduler'), /"kube-scheduler" is not available in this build/);
  await assert.rejects(resolveComponent(plan, 'kubelet-worker-2'), (e: unknown) => {
    assert.ok(e instanceof ChaosError);
    assert.equal(e.code, 'KEMU_SIMULATED_NODE');
    assert.match(e.message, /worker-2 is simulated by kubelet-sim/);
    return true;
  });
  assert.equal((await resolveComponent(plan, 'kube-apiserver')).name, 'kube-apiserver-0');
  assert.equal(resolveNode(plan, 'worker-2').simulated, true);
});

test('durations: ms, s, m, h; bare numbers are seconds; nonsense is refused', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  for (const bad of ['', 'x', '10d', '-1s', '25h', '0s']) {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) => e instanceof ChaosError && e.code === 'KEMU_BAD_DURATION',
      bad,
    );
  }
});
