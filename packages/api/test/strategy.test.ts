import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Deployment,
  type Node,
  type Pod,
  prepareForCreate,
  prepareForUpdate,
  type Service,
} from '../src/index.js';

const deployment: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd1', namespace: 'default', uid: 'u1', creationTimestamp: '2026-11-22T04:00:00Z', generation: 3 },
  spec: { replicas: 1, selector: { matchLabels: { app: 'd1' } }, template: { spec: { containers: [] } } },
  status: { observedGeneration: 3, replicas: 1 },
};

test('create clears client-sent status and starts generation at 1', () => {
  const d = prepareForCreate(deployment);
  assert.deepEqual(d.status, {});
  assert.equal(d.metadata.generation, 1);
  const svc = prepareForCreate<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  });
  assert.deepEqual(svc.status, { loadBalancer: {} });
  const node = prepareForCreate<Node>({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n' },
    status: { capacity: { cpu: '4' } },
  });
  assert.deepEqual(node.status, { capacity: { cpu: '4' } }, 'nodes may register with status');
  const pod = prepareForCreate<Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [] },
    status: { phase: 'Running' },
  });
  assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
});

test('update keeps stored status and system metadata; bumps generation on spec change only', () => {
  const incoming: Deployment = {
    ...structuredClone(deployment),
    metadata: { name: 'd1', namespace: 'default', labels: { x: 'y' } },
    status: { replicas: 99 },
  };
  const same = prepareForUpdate(incoming, deployment);
  assert.equal(same.metadata.uid, 'u1');
  assert.equal(same.metadata.creationTimestamp, '2026-11-22T04:00:00Z');
  assert.equal(same.metadata.generation, 3);
  assert.deepEqual(same.status, deployment.status);
  assert.deepEqual(same.metadata.labels, { x: 'y' });
  const scaled = prepareForUpdate({ ...incoming, spec: { ...incoming.spec, replicas: 4 } }, deployment);
  assert.equal(scaled.metadata.generation, 4);

  const status = prepareForUpdate(
    { ...incoming, spec: { ...incoming.spec, replicas: 7 }, status: { replicas: 2, readyReplicas: 2 } },
    deployment,
    {
      subresource: 'status',
    },
  );
  assert.equal(status.spec.replicas, 1, 'a status update cannot change spec');
  assert.deepEqual(status.status, { replicas: 2, readyReplicas: 2 });
  assert.equal(status.metadata.generation, 3);
});
