import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ApplyConflictError,
  fieldPathString,
  fieldSetOf,
  fromFieldsV1,
  type KubeObject,
  type ManagerRef,
  managedFieldsAfterUpdate,
  managedFieldsForApplyCreate,
  serverSideApply,
  toFieldsV1,
} from '../src/index.js';

const applier: ManagerRef = { manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1' };
const editor: ManagerRef = { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'apps/v1' };

function deployment(labels: Record<string, string>, replicas: number, image = 'nginx'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image }] } },
    },
  } as unknown as KubeObject;
}

test('field sets walk maps by field and merge-keyed lists by key, in fieldsV1 spelling', () => {
  const set = fieldSetOf(deployment({ a: '1' }, 2));
  const v1 = toFieldsV1(set);
  assert.deepEqual(v1, {
    'f:metadata': { 'f:labels': { 'f:a': {} } },
    'f:spec': {
      'f:replicas': {},
      'f:selector': { 'f:matchLabels': { 'f:app': {} } },
      'f:template': {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
      },
    },
  });
  assert.deepEqual([...fromFieldsV1(v1)].sort(), [...set].sort());
  const image = [...set].find((p) => p.endsWith('"f:image"]'))!;
  assert.equal(fieldPathString(image), '.spec.template.spec.containers[name="nginx"].image');
});

test('an apply that drops a field it applied before removes it; fields others own stay', () => {
  const created = deployment({ a: '1', b: '2' }, 3);
  created.metadata.managedFields = managedFieldsForApplyCreate(created, applier, 0);
  // Another manager adds label c by an update.
  const edited = structuredClone(created);
  edited.metadata.labels = { ...edited.metadata.labels, c: '3' };
  edited.metadata.managedFields = managedFieldsAfterUpdate(created, edited, editor, 1000);
  const { object, managedFields } = serverSideApply(edited, deployment({ a: '1' }, 3), applier, {
    force: false,
    now: 2000,
  });
  assert.deepEqual(object.metadata.labels, { a: '1', c: '3' });
  assert.deepEqual(
    managedFields?.map((e) => [e.manager, e.operation]),
    [
      ['kubectl-edit', 'Update'],
      ['kubectl', 'Apply'],
    ],
  );
});

test('applying a different value for a field another manager owns is a conflict unless forced', () => {
  const created = deployment({}, 3);
  created.metadata.managedFields = managedFieldsForApplyCreate(created, applier, 0);
  const scaled = structuredClone(created);
  (scaled as unknown as { spec: { replicas: number } }).spec.replicas = 5;
  scaled.metadata.managedFields = managedFieldsAfterUpdate(
    created,
    scaled,
    { manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', subresource: 'scale' },
    1000,
  );
  assert.throws(
    () => serverSideApply(scaled, deployment({}, 3), applier, { force: false, now: 2000 }),
    (err: unknown) =>
      err instanceof ApplyConflictError &&
      err.message ===
        'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas' &&
      err.causes[0]?.field === '.spec.replicas',
  );
  // The same value is shared ownership, not a conflict.
  assert.doesNotThrow(() => serverSideApply(scaled, deployment({}, 5), applier, { force: false, now: 2000 }));
  const forced = serverSideApply(scaled, deployment({}, 3), applier, { force: true, now: 2000 });
  assert.equal((forced.object as unknown as { spec: { replicas: number } }).spec.replicas, 3);
  // The scaler lost its only field, so its entry is gone.
  assert.deepEqual(
    forced.managedFields?.map((e) => e.subresource ?? ''),
    [''],
  );
});

test('an update gives the writer what it changed and takes it from everybody else', () => {
  const created = deployment({ a: '1' }, 1);
  created.metadata.managedFields = managedFieldsForApplyCreate(created, applier, 0);
  const next = deployment({ a: '1' }, 1, 'httpd');
  const managed = managedFieldsAfterUpdate(created, next, editor, 1000)!;
  const byManager = new Map(managed.map((e) => [e.manager, [...fromFieldsV1(e.fieldsV1)]]));
  assert.deepEqual(byManager.get('kubectl-edit')?.map(fieldPathString), [
    '.spec.template.spec.containers[name="nginx"].image',
  ]);
  assert.ok(!byManager.get('kubectl')?.some((p) => p.endsWith('"f:image"]')));
  assert.equal(managed[0]?.operation, 'Apply');
});

test('a dropped list item goes when nobody owns any of its fields', () => {
  const two = deployment({}, 1);
  (two as unknown as { spec: { template: { spec: { containers: unknown[] } } } }).spec.template.spec.containers.push({
    name: 'sidecar',
    image: 'busybox',
  });
  two.metadata.managedFields = managedFieldsForApplyCreate(two, applier, 0);
  const { object } = serverSideApply(two, deployment({}, 1), applier, { force: false, now: 1 });
  const names = (
    object as unknown as { spec: { template: { spec: { containers: { name: string }[] } } } }
  ).spec.template.spec.containers.map((c) => c.name);
  assert.deepEqual(names, ['nginx']);
});
