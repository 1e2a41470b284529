import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildList,
  computeTemplateHash,
  controllerOf,
  controllerRef,
  errorString,
  fnv32a,
  formatMicroTime,
  formatTime,
  generateName,
  isPodActive,
  isPodReady,
  objectReference,
  type Pod,
  parseTime,
  resourceFor,
  safeEncodeString,
  tableWatchEvent,
  validateObject,
  withTypeMeta,
} from '../src/index.js';

test('Time has whole seconds, MicroTime exactly six fractional digits', () => {
  const at = Date.parse('2026-11-22T04:50:09.936Z');
  assert.equal(formatTime(at), '2026-11-22T04:50:09Z');
  assert.equal(formatMicroTime(new Date(at)), '2026-11-22T04:50:09.936000Z');
  assert.equal(parseTime('2026-11-22T04:50:09.936000Z'), at);
  assert.equal(parseTime('nope'), undefined);
});

test('list envelopes, type meta and controller refs', () => {
  const pods = resourceFor('', 'v1', 'pods');
  assert.ok(pods);
  assert.deepEqual(buildList(pods, [], { resourceVersion: '1052' }), {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '1052' },
    items: [],
  });
  const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-1', uid: 'u1' } };
  const pod = withTypeMeta(pods, {
    metadata: { name: 'p', ownerReferences: [controllerRef(rs)] },
    spec: { containers: [] },
  } as Pod);
  assert.equal(pod.kind, 'Pod');
  assert.deepEqual(controllerOf(pod), {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: 'web-1',
    uid: 'u1',
    controller: true,
    blockOwnerDeletion: true,
  });
  assert.equal(isPodReady(pod), false);
  assert.equal(isPodActive(pod), true);
  assert.equal(isPodActive({ ...pod, status: { phase: 'Succeeded' } }), false);
});

test('owner reference and finalizer rules', () => {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'd',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: '1', controller: true },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: '2', controller: true },
      ],
      finalizers: ['orphan', 'foregroundDeletion'],
    },
    spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Always' },
  };
  assert.deepEqual(validateObject(pod).map(errorString), [
    'metadata.ownerReferences: Invalid value: []v1.OwnerReference{…}: Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b',
    'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set',
  ]);
});

test('generated names, safe encoding and template hashes', () => {
  let i = 0;
  const seq = (n: number) => i++ % n;
  assert.equal(generateName('web-', seq), 'web-bcdfg');
  assert.equal(generateName('x'.repeat(70), () => 0).length, 63);
  assert.match(safeEncodeString('1234567890'), /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  const a = computeTemplateHash({
    spec: { containers: [{ name: 'a', image: 'x' }] },
    metadata: { labels: { app: 'w' } },
  });
  const b = computeTemplateHash({
    metadata: { labels: { app: 'w' } },
    spec: { containers: [{ image: 'x', name: 'a' }] },
  });
  assert.equal(a, b, 'key order does not matter');
  assert.notEqual(computeTemplateHash({ spec: {} }, 1), computeTemplateHash({ spec: {} }, 2));
  assert.equal(fnv32a(''), 0x811c9dc5);
  assert.equal(fnv32a('a'), 0xe40c292c);
});

test('object references and watch events as one-row tables', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1', namespace: 'default', uid: 'u', resourceVersion: '7' },
    spec: { containers: [] },
  } as Pod;
  assert.deepEqual(objectReference(pod, 'spec.containers{c}'), {
    kind: 'Pod',
    name: 'p1',
    namespace: 'default',
    uid: 'u',
    apiVersion: 'v1',
    resourceVersion: '7',
    fieldPath: 'spec.containers{c}',
  });
  const ev = tableWatchEvent('MODIFIED', 'pods', pod, { now: 0, omitColumns: true });
  assert.equal(ev.type, 'MODIFIED');
  assert.equal(ev.object.columnDefinitions, null);
  assert.equal(ev.object.metadata.resourceVersion, '7');
  assert.equal(ev.object.rows.length, 1);
});
