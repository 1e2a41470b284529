// Issue 6 acceptance 2 (node part) with every real component: etcd + kube-apiserver
// (--default-*-toleration-seconds 3) + kube-scheduler + kube-controller-manager (all controllers) + one
// sim kubelet process hosting three nodes. A ReplicaSet runs 3 pods; one node's heartbeats (Lease and
// status) are frozen through the kubelet's admin endpoint: the node turns Unknown and gets its taints,
// its pod is evicted after tolerationSeconds (TaintManagerEviction) and the ReplicaSet's replacement is
// scheduled onto another node; resuming the heartbeats makes the node Ready and untainted again.
// Finally `kubectl delete namespace` with the running pods returns once they are all gone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Event, Lease, Node, Pod } from '@kemu/api';
import { COMPONENT_MAINS, freePort, TestCluster } from '@kemu/testkit';
import { connectApi, startControllerManager, waitFor } from './helpers/cluster.js';

const NS = 'nlsim';

test('sim kubelet: frozen heartbeats → Unknown, taints, eviction after tolerationSeconds, replacement elsewhere, recovery', async (t) => {
  const c = await TestCluster.start({
    etcd: 1,
    apiserverArgs: ['--default-not-ready-toleration-seconds', '3', '--default-unreachable-toleration-seconds', '3'],
  });
  t.after(() => c.destroy());
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-cm-sim-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const { api, close } = await connectApi(c);
  t.after(close);
  const adminPort = await freePort();
  const admin = `http://127.0.0.1:${adminPort}`;
  c.startComponent('kubelet-sim', COMPONENT_MAINS.kubelet, [
    '--apiserver',
    c.wireUrl,
    '--runtime',
    'sim',
    '--sim-nodes',
    '3',
    '--sim-node-prefix',
    'sim-',
    '--root-dir',
    root,
    '--admin-port',
    String(adminPort),
    '--profile',
    'fast',
  ]);
  c.startComponent('kube-scheduler', COMPONENT_MAINS.scheduler, [
    '--apiserver',
    c.wireUrl,
    '--name',
    'kube-scheduler-0',
    '--profile',
    'fast',
    '--leader-elect',
    'false',
  ]);
  startControllerManager(c, ['*']);
  const pods = api.resource<Pod>('pods', { namespace: NS });
  const nodes = api.resource<Node>('nodes');
  const fail = (err: unknown): never => {
    throw new Error(`${(err as Error).message}\n${c.dumpLogs(40)}`);
  };
  try {
    await waitFor('3 sim nodes Ready', async () => {
      const items = (await nodes.list()).items;
      return items.filter((n) => n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True').length === 3;
    });
    await c.k(['create', 'namespace', NS]);
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
        (p) =>
          p.status?.phase === 'Running' &&
          p.metadata.deletionTimestamp === undefined &&
          p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
      );
    const before = await waitFor('3 running, ready pods', async () => {
      const r = await running();
      return r.length === 3 ? r : undefined;
    });
    const victimNode = before[0]?.spec.nodeName ?? '';
    const victims = before.filter((p) => p.spec.nodeName === victimNode);
    assert.ok(victimNode !== '' && victims.length > 0);
    assert.ok(
      victims[0]?.spec.tolerations?.some(
        (x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute' && x.tolerationSeconds === 3,
      ),
    );

    // Sim nodes spread their first Lease write over one renew interval: freeze only once it exists.
    const leases = api.resource<Lease>('leases.coordination.k8s.io', { namespace: 'kube-node-lease' });
    await waitFor(`${victimNode} Lease`, async () => (await leases.get(victimNode)).spec?.renewTime !== undefined);
    const res = await fetch(`${admin}/heartbeats/freeze?node=${victimNode}`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    const frozenAt = Date.now();
    await waitFor(
      `${victimNode} Ready=Unknown`,
      async () =>
        (await nodes.get(victimNode)).status?.conditions?.find((x) => x.type === 'Ready')?.reason ===
        'NodeStatusUnknown',
      { timeoutMs: 30_000 },
    );
    const unknownAt = Date.now();
    const lease = await api
      .resource<Lease>('leases.coordination.k8s.io', { namespace: 'kube-node-lease' })
      .get(victimNode);
    const lastRenew = Date.parse(lease.spec?.renewTime ?? '');
    assert.ok(
      unknownAt - lastRenew >= 4000,
      `Unknown ${unknownAt - lastRenew} ms after the last renewal (grace 5 s); frozen ${unknownAt - frozenAt} ms before`,
    );
    await waitFor(`${victimNode} tainted`, async () => {
      const taints = ((await nodes.get(victimNode)).spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();
      return taints.join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule';
    });
    await waitFor(
      'victims evicted (TaintManagerEviction)',
      async () => {
        const events = (await api.resource<Event>('events', { namespace: NS }).list()).items;
        return victims.every((v) =>
          events.some(
            (e) =>
              e.reason === 'TaintManagerEviction' && e.message === `Marking for deletion Pod ${NS}/${v.metadata.name}`,
          ),
        );
      },
      { timeoutMs: 30_000 },
    );
    await waitFor(
      '3 running pods, none on the frozen node',
      async () => {
        const r = await running();
        return r.length === 3 && r.every((p) => p.spec.nodeName !== victimNode);
      },
      { timeoutMs: 40_000 },
    );

    const resumed = await fetch(`${admin}/heartbeats/resume?node=${victimNode}`, { method: 'POST' });
    assert.equal(resumed.status, 200, await resumed.text());
    await waitFor(
      `${victimNode} Ready and untainted again`,
      async () => {
        const n = await nodes.get(victimNode);
        return (
          n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' &&
          (n.spec?.taints ?? []).length === 0
        );
      },
      { timeoutMs: 30_000 },
    );

    // Deleting the namespace with its ReplicaSet and running pods returns once everything is gone.
    await c.k(['delete', 'namespace', NS, '--timeout=60s'], { timeoutMs: 70_000 });
    assert.equal((await pods.list()).items.length, 0);
    assert.notEqual((await c.kubectl(['get', 'namespace', NS])).code, 0);
  } catch (err) {
    fail(err);
  }
});
