import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiHash, openApiV3Document, openApiV3Index } from '../src/index.js';

test('index lists every group-version with a hashed URL', () => {
  const index = openApiV3Index();
  assert.deepEqual(Object.keys(index.paths), [
    'api/v1',
    'apis/apps/v1',
    'apis/autoscaling/v2',
    'apis/batch/v1',
    'apis/networking.k8s.io/v1',
    'apis/policy/v1',
    'apis/rbac.authorization.k8s.io/v1',
    'apis/storage.k8s.io/v1',
    'apis/scheduling.k8s.io/v1',
    'apis/coordination.k8s.io/v1',
    'apis/discovery.k8s.io/v1',
  ]);
  const apps = openApiV3Document('apps', 'v1');
  assert.ok(apps);
  assert.equal(index.paths['apis/apps/v1']?.serverRelativeURL, `/openapi/v3/apis/apps/v1?hash=${openApiHash(apps)}`);
});

test('one PATCH operation per kind with GVK and fieldValidation', () => {
  const apps = openApiV3Document('apps', 'v1');
  const op = apps?.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']?.patch;
  assert.deepEqual(op?.['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
  assert.ok(((op?.parameters ?? []) as { name: string }[]).some((p) => p.name === 'fieldValidation'));
  assert.deepEqual(apps?.components, { schemas: {} });
  const core = openApiV3Document('', 'v1');
  assert.ok(core?.paths['/api/v1/nodes/{name}'], 'cluster-scoped path has no namespace');
  assert.equal(core?.paths['/api/v1/namespaces/{namespace}/bindings/{name}'], undefined, 'bindings cannot be patched');
  assert.equal(openApiV3Document('apps', 'v9'), undefined);
});
