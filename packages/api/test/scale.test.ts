import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyScale, type Deployment, invalidStatusFor, type Scale, scaleOf, validateObject } from '../src/index.js';

const d: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'd1',
    namespace: 'default',
    uid: 'u',
    resourceVersion: '1057',
    creationTimestamp: '2026-11-22T04:50:09Z',
    generation: 2,
  },
  spec: { replicas: 3, selector: { matchLabels: { app: 'd1' } }, template: { spec: { containers: [] } } },
  status: { replicas: 2 },
};

test('scale view of a deployment matches the contract', () => {
  assert.deepEqual(scaleOf(d), {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: 'd1',
      namespace: 'default',
      uid: 'u',
      resourceVersion: '1057',
      creationTimestamp: '2026-11-22T04:50:09Z',
    },
    spec: { replicas: 3 },
    status: { replicas: 2, selector: 'app=d1' },
  });
  const scaled = applyScale(d, { ...scaleOf(d), spec: { replicas: 5 } });
  assert.equal(scaled.spec.replicas, 5);
  assert.equal(d.spec.replicas, 3);
  assert.notEqual(scaled.spec.template, d.spec.template, 'a copy, not the same object');
  assert.deepEqual(scaled.spec.template, d.spec.template);
});

test('negative scale is invalid with the real message', () => {
  const bad: Scale = { ...scaleOf(d), spec: { replicas: -1 } };
  assert.equal(
    invalidStatusFor(bad, validateObject(bad))?.message,
    'Scale.autoscaling "d1" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
});
