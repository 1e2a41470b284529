// Acceptance 2: @kubernetes/client-node 1.4 (a second real client, ESM) lists, creates and watches.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestCluster, waitFor } from './helpers/cluster.js';

type K8s = typeof import('@kubernetes/client-node');

let c: TestCluster;
let k8s: K8s;

before(async () => {
  c = await TestCluster.start();
  k8s = await import('@kubernetes/client-node');
});

after(async () => {
  await c?.destroy();
});

function kubeConfig() {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  return kc;
}

test('client-node lists, creates, gets a typed 404, and reads deployments', async () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = await core.listNamespace();
  assert.ok(ns.items.some((n) => n.metadata?.name === 'kube-system'));
  const created = await core.createNamespacedPod({
    namespace: 'default',
    body: { metadata: { name: 'cn-1', labels: { app: 'cn' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  });
  assert.equal(created.metadata?.name, 'cn-1');
  assert.equal(created.status?.phase, 'Pending');
  const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=cn' });
  assert.deepEqual(
    pods.items.map((p) => p.metadata?.name),
    ['cn-1'],
  );
  await assert.rejects(core.readNamespacedPod({ namespace: 'default', name: 'nope' }), (err: unknown) => {
    return err instanceof k8s.ApiException && err.code === 404;
  });
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'cn-web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'cn-web' } },
        template: { metadata: { labels: { app: 'cn-web' } }, spec: { containers: [{ name: 'n', image: 'nginx' }] } },
      },
    },
  });
  const d = await apps.readNamespacedDeployment({ namespace: 'default', name: 'cn-web' });
  assert.equal(d.spec?.replicas, 2);
  assert.equal(d.metadata?.generation, 1);
});

test('client-node Watch gets the initial ADDED events, then changes', async () => {
  const kc = kubeConfig();
  const watch = new k8s.Watch(kc);
  const events: string[] = [];
  const ctl = await watch.watch(
    '/api/v1/namespaces/default/pods',
    {},
    (type: string, obj: { metadata?: { name?: string } }) => {
      events.push(`${type} ${obj.metadata?.name}`);
    },
    () => {},
  );
  try {
    await waitFor('initial ADDED', () => events.includes('ADDED cn-1'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'cn-2' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    });
    await core.deleteNamespacedPod({ namespace: 'default', name: 'cn-2' });
    await waitFor('ADDED + DELETED cn-2', () => events.includes('ADDED cn-2') && events.includes('DELETED cn-2'));
  } finally {
    ctl.abort();
  }
});
