import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkObjectShape, defaultObject, MalformedObjectError, validateObject } from '../src/index.js';

const message = (obj: unknown) => {
  try {
    checkObjectShape(obj);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof MalformedObjectError);
    assert.equal(e.code, 'OBJECT_MALFORMED');
    return e.message;
  }
};

test('well-typed objects pass, nulls are zero values', () => {
  assert.equal(
    message({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: null },
      spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] },
    }),
    'ok',
  );
  assert.equal(message({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' }, spec: 'anything' }), 'ok');
});

test('wrong JSON types are reported like the Go decoder', () => {
  assert.equal(
    message({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: 'nginx' } }),
    'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container',
  );
  assert.equal(
    message({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: '3', template: { spec: { containers: [] } } },
    }),
    'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
  );
  assert.equal(
    message({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 1 } }, spec: { containers: [] } }),
    'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels.app of type string',
  );
  assert.equal(
    message({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80.5 }] } }),
    'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal number 80.5 into Go struct field ServicePort.spec.ports.port of type int32',
  );
  assert.match(message([]), /expected an object, got array/);
});

test('defaulting and validation turn type confusion into MalformedObjectError, not a crash', () => {
  const weird = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'x', ports: 5 }] },
  };
  assert.throws(() => defaultObject(weird as never), MalformedObjectError);
  assert.throws(() => validateObject(weird as never), MalformedObjectError);
});
