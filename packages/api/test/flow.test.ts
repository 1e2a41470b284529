// The apiserver's create path composed from this package, on the bodies kubectl really sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  admitPod,
  buildTable,
  checkObjectShape,
  defaultObject,
  invalidStatusFor,
  type KubeObject,
  type Pod,
  prepareForCreate,
  resourceFor,
  storageKey,
  validateObject,
} from '../src/index.js';

const NOW = Date.parse('2026-11-22T05:00:00Z');

function create(body: KubeObject, namespace: string, uid: string): KubeObject {
  checkObjectShape(body);
  let obj = defaultObject<KubeObject>({
    ...body,
    metadata: { ...body.metadata, namespace, uid, creationTimestamp: '2026-11-22T04:59:44Z' },
  });
  if (obj.kind === 'Pod') obj = admitPod(obj as Pod);
  obj = prepareForCreate(obj);
  const status = invalidStatusFor(obj, validateObject(obj));
  assert.equal(status, null, JSON.stringify(status));
  return obj;
}

test('kubectl run p1 --image=nginx', () => {
  const body = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: 'p1', labels: { run: 'p1' } },
    spec: {
      containers: [{ name: 'p1', image: 'nginx', resources: {} }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
    },
    status: {},
  } as KubeObject;
  const pod = create(body, 'default', 'u-1') as Pod;
  assert.equal(pod.status?.phase, 'Pending');
  assert.equal(pod.spec.serviceAccountName, 'default');
  assert.equal(pod.spec.containers[0]?.imagePullPolicy, 'Always');
  const def = resourceFor('', 'v1', 'pods');
  assert.ok(def);
  assert.equal(storageKey(def, 'default', 'p1'), '/registry/pods/default/p1');
  const table = buildTable('pods', [pod], { now: NOW, resourceVersion: '12' });
  assert.deepEqual(table.rows[0]?.cells, ['p1', '0/1', 'Pending', '0', '16s', '<none>', '<none>', '<none>', '<none>']);
});

test('kubectl create deployment web --image=nginx (decoded body)', () => {
  const body = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
      strategy: {},
    },
  } as KubeObject;
  const d = create(body, 'default', 'u-2');
  assert.equal(d.metadata.generation, 1);
  assert.deepEqual(buildTable('deployments', [d], { now: NOW }).rows[0]?.cells.slice(0, 5), [
    'web',
    '0/1',
    0,
    0,
    '16s',
  ]);
});
