import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError, patchTypeOf } from '../src/index.js';

const deployment = {
  metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 1,
    template: {
      metadata: { labels: { app: 'web', 'pod-template-hash': 'x' } },
      spec: {
        containers: [
          {
            name: 'nginx',
            image: 'nginx:1.27',
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            env: [{ name: 'A', value: '1' }],
          },
          { name: 'side', image: 'busybox' },
        ],
      },
    },
  },
};

test('merge patch (kubectl scale, label)', () => {
  assert.deepEqual(applyMergePatch({ spec: { replicas: 1 }, status: { replicas: 1 } }, { spec: { replicas: 3 } }), {
    spec: { replicas: 3 },
    status: { replicas: 1 },
  });
  assert.deepEqual(
    applyMergePatch({ metadata: { labels: { a: '1', b: '2' } } }, { metadata: { labels: { a: null, c: '3' } } }),
    {
      metadata: { labels: { b: '2', c: '3' } },
    },
  );
});

test('json patch (kubectl rollout undo) and errors', () => {
  const out = applyJsonPatch(deployment, [
    { op: 'replace', path: '/spec/template', value: { spec: { containers: [] } } },
    { op: 'add', path: '/metadata/annotations', value: { a: 'b' } },
    { op: 'add', path: '/metadata/finalizers/-', value: 'z' },
    { op: 'test', path: '/spec/replicas', value: 1 },
    { op: 'remove', path: '/metadata/labels/app' },
  ]) as typeof deployment & { metadata: { annotations: Record<string, string> } };
  assert.deepEqual(out.spec.template, { spec: { containers: [] } });
  assert.deepEqual(out.metadata.annotations, { a: 'b' });
  assert.deepEqual(out.metadata.finalizers, ['a', 'z']);
  assert.deepEqual(out.metadata.labels, {});
  assert.equal(deployment.spec.template.spec.containers.length, 2, 'input untouched');
  assert.throws(() => applyJsonPatch(deployment, [{ op: 'replace', path: '/spec/nope', value: 1 }]), PatchError);
  assert.throws(() => applyJsonPatch(deployment, [{ op: 'test', path: '/spec/replicas', value: 2 }]), /test failed/);
  assert.throws(() => applyJsonPatch(deployment, { op: 'add' }), PatchError);
});

test('strategic merge patch from kubectl apply merges containers by name', () => {
  const patch = {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: {
      replicas: 3,
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'side' }, { name: 'nginx' }],
          containers: [{ image: 'nginx:1.28', name: 'nginx', ports: [{ containerPort: 443 }] }],
        },
      },
    },
  };
  const out = applyStrategicMergePatch(deployment, patch) as typeof deployment;
  assert.equal(out.spec.replicas, 3);
  const containers = out.spec.template.spec.containers;
  assert.deepEqual(
    containers.map((c) => c.name),
    ['side', 'nginx'],
  );
  const nginx = containers[1];
  assert.equal(nginx?.image, 'nginx:1.28');
  assert.deepEqual(nginx?.env, [{ name: 'A', value: '1' }], 'fields not in the patch are kept');
  assert.deepEqual(
    nginx?.ports?.map((p) => p.containerPort),
    [80, 443],
    'container ports merge by containerPort',
  );
});

test('strategic directives: $patch delete/replace, $retainKeys, $deleteFromPrimitiveList, null', () => {
  const del = applyStrategicMergePatch(deployment, {
    spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } },
  }) as typeof deployment;
  assert.deepEqual(
    del.spec.template.spec.containers.map((c) => c.name),
    ['nginx'],
  );
  const replaced = applyStrategicMergePatch(deployment, {
    spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } } },
  }) as typeof deployment;
  assert.deepEqual(replaced.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
  const retained = applyStrategicMergePatch(
    { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
    { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
  );
  assert.deepEqual(retained, { spec: { strategy: { type: 'Recreate' } } });
  const finalizers = applyStrategicMergePatch(deployment, {
    metadata: { finalizers: ['b'], '$deleteFromPrimitiveList/finalizers': ['a'], labels: { app: null } },
  }) as typeof deployment;
  assert.deepEqual(finalizers.metadata.finalizers, ['b']);
  assert.deepEqual(finalizers.metadata.labels, {});
  const svc = applyStrategicMergePatch(
    { spec: { ports: [{ port: 80, targetPort: 8080 }] } },
    { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] } },
  );
  assert.deepEqual(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] } });
  const tolerations = applyStrategicMergePatch(
    { spec: { tolerations: [{ key: 'a' }] } },
    { spec: { tolerations: [{ key: 'b' }] } },
  );
  assert.deepEqual(tolerations, { spec: { tolerations: [{ key: 'b' }] } }, 'lists without a merge key are replaced');
  assert.throws(() => applyStrategicMergePatch({}, { spec: { $patch: 'bogus' } }), PatchError);
});

test('patch types by content type', () => {
  assert.equal(patchTypeOf('application/strategic-merge-patch+json'), 'strategic');
  assert.equal(patchTypeOf('application/merge-patch+json; charset=utf-8'), 'merge');
  assert.equal(patchTypeOf('application/json-patch+json'), 'json');
  assert.equal(patchTypeOf('application/apply-patch+yaml'), 'apply');
  assert.equal(patchTypeOf('text/plain'), undefined);
});
