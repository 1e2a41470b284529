// Issue 6 acceptance 2 (node part), a dead kubelet: etcd + kube-apiserver (with
// --default-unreachable-toleration-seconds 3) + kube-controller-manager; three nodes kept alive by
// test-only kubelets (test/helpers/fake-kubelets.ts, which also bind pods). One node's kubelet stops
// entirely: the node turns Unknown, gets its taints, its pod is marked not ready, evicted after the
// toleration, stays Terminating (nobody finishes it) until podgc force-deletes it; the ReplicaSet's
// replacement runs on another node. (nodelifecycle-sim.e2e.test.ts does the same with the real sim
// kubelet and scheduler, where the frozen kubelet still finishes the deletion itself.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Event, Lease, Node, Pod } from '@kemu/api';
import { TestCluster } from '@kemu/testkit';
import { connectApi, startControllerManager, waitFor } from './helpers/cluster.js';
import { FakeKubelets } from './helpers/fake-kubelets.js';

const NS = 'nl';

test('a node whose lease stops renewing is tainted, its pods evicted after tolerationSeconds and replaced elsewhere', async (t) => {
  const c = await TestCluster.start({
    etcd: 1,
    apiserverArgs: ['--default-not-ready-toleration-seconds', '3', '--default-unreachable-toleration-seconds', '3'],
  });
  t.after(() => c.destroy());
  const { api, close } = await connectApi(c);
  t.after(close);
  await c.k(['create', 'namespace', NS]);
  const kubelets = new FakeKubelets(api, ['node-a', 'node-b', 'node-c'], { bindPods: true, namespace: NS });
  await kubelets.start();
  t.after(() => kubelets.stop());
  startControllerManager(c, ['*']);
  const pods = api.resource<Pod>('pods', { namespace: NS });
  const nodes = api.resource<Node>('nodes');
  try {
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'web', namespace: NS },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      }),
    });
    const running = async () =>
      (await pods.list()).items.filter(
        (p) => p.status?.phase === 'Running' && p.metadata.deletionTimestamp === undefined,
      );
    await waitFor('3 running pods, one per node', async () => {
      const r = await running();
      return r.length === 3 && new Set(r.map((p) => p.spec.nodeName)).size === 3;
    });
    const victim = (await running()).find((p) => p.spec.nodeName === 'node-a');
    assert.ok(victim);
    assert.deepEqual(
      victim.spec.tolerations?.filter((x) => x.effect === 'NoExecute').map((x) => `${x.key}=${x.tolerationSeconds}`),
      ['node.kubernetes.io/not-ready=3', 'node.kubernetes.io/unreachable=3'],
      'apiserver --default-*-toleration-seconds',
    );

    kubelets.freeze('node-a');
    const frozenAt = Date.now();
    const a = await waitFor(
      'node-a Ready=Unknown',
      async () => {
        const n = await nodes.get('node-a');
        return n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'Unknown' ? n : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const unknownAt = Date.now();
    const lease = await api
      .resource<Lease>('leases.coordination.k8s.io', { namespace: 'kube-node-lease' })
      .get('node-a');
    const lastRenew = Date.parse(lease.spec?.renewTime ?? '');
    assert.ok(
      unknownAt - lastRenew >= 4000,
      `Unknown ${unknownAt - lastRenew} ms after the last renewal (grace 5 s); frozen ${unknownAt - frozenAt} ms before`,
    );
    const ready = a.status?.conditions?.find((x) => x.type === 'Ready');
    assert.equal(ready?.reason, 'NodeStatusUnknown');
    assert.equal(ready?.message, 'Kubelet stopped posting node status.');
    await waitFor('node-a tainted unreachable NoExecute + NoSchedule', async () => {
      const taints = ((await nodes.get('node-a')).spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();
      return taints.join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule';
    });
    await waitFor('victim marked not ready or already evicted', async () => {
      try {
        const p = await pods.get(victim.metadata.name ?? '');
        return (
          p.metadata.deletionTimestamp !== undefined ||
          p.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'False'
        );
      } catch {
        return true;
      }
    });
    await waitFor('victim evicted and left Terminating by its dead kubelet', async () => {
      const p = (await pods.list()).items.find((x) => x.metadata.uid === victim.metadata.uid);
      return p?.metadata.deletionTimestamp !== undefined;
    });
    await waitFor(
      'victim evicted (TaintManagerEviction) and force-deleted by podgc',
      async () => {
        const events = (await api.resource<Event>('events', { namespace: NS }).list()).items;
        const evicted = events.some(
          (e) =>
            e.reason === 'TaintManagerEviction' &&
            e.message === `Marking for deletion Pod ${NS}/${victim.metadata.name}`,
        );
        const gone = !(await pods.list()).items.some((p) => p.metadata.uid === victim.metadata.uid);
        return evicted && gone;
      },
      { timeoutMs: 40_000 },
    );
    await waitFor('3 running pods again, none on node-a', async () => {
      const r = await running();
      return r.length === 3 && r.every((p) => p.spec.nodeName !== 'node-a');
    });
    // node-b and node-c were never touched.
    for (const name of ['node-b', 'node-c']) {
      const n = await nodes.get(name);
      assert.equal(n.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'True');
      assert.deepEqual(n.spec?.taints ?? [], []);
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${c.dumpLogs(40)}`);
  }
});
