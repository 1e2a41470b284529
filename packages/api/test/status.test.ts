import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alreadyExistsStatus,
  badRequestStatus,
  conflictStatus,
  fieldErr,
  internalErrorStatus,
  invalidStatus,
  methodNotSupportedStatus,
  notFoundStatus,
  requestEntityTooLargeStatus,
  serviceUnavailableStatus,
  successStatus,
  tooOldResourceVersionStatus,
  unsupportedMediaTypeStatus,
} from '../src/index.js';

const pods = { group: '', resource: 'pods' };
const deployments = { group: 'apps', resource: 'deployments' };

test('NotFound matches the contract byte for byte', () => {
  assert.equal(
    JSON.stringify(notFoundStatus(pods, 'nope')),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"nope\\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}',
  );
});

test('AlreadyExists and Conflict name group resources with their group', () => {
  const exists = alreadyExistsStatus(deployments, 'web');
  assert.equal(exists.message, 'deployments.apps "web" already exists');
  assert.deepEqual(exists.details, { name: 'web', group: 'apps', kind: 'deployments' });
  assert.equal(exists.code, 409);
  const conflict = conflictStatus(deployments, 'd1');
  assert.equal(
    conflict.message,
    'Operation cannot be fulfilled on deployments.apps "d1": the object has been modified; please apply your changes to the latest version and try again',
  );
  assert.equal(conflict.reason, 'Conflict');
});

test('Invalid aggregates field errors and lists causes', () => {
  const one = invalidStatus({ group: 'apps', kind: 'Deployment' }, 'web', [
    fieldErr.invalid('spec.replicas', -1, 'must be greater than or equal to 0'),
  ]);
  assert.equal(
    one.message,
    'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
  assert.equal(one.code, 422);
  assert.deepEqual(one.details, {
    name: 'web',
    group: 'apps',
    kind: 'Deployment',
    causes: [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: -1: must be greater than or equal to 0',
        field: 'spec.replicas',
      },
    ],
  });
  const two = invalidStatus({ group: '', kind: 'Pod' }, 'p', [
    fieldErr.required('spec.containers[0].image'),
    fieldErr.duplicate('spec.containers[1].name', 'a'),
  ]);
  assert.equal(
    two.message,
    'Pod "p" is invalid: [spec.containers[0].image: Required value, spec.containers[1].name: Duplicate value: "a"]',
  );
});

test('other statuses', () => {
  assert.equal(badRequestStatus('x').code, 400);
  assert.equal(methodNotSupportedStatus(pods, 'create').message, 'create is not supported on resources of kind "pods"');
  const expired = tooOldResourceVersionStatus(1057, 1000);
  assert.deepEqual(expired, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'too old resource version: 1057 (1000)',
    reason: 'Expired',
    code: 410,
  });
  assert.equal(unsupportedMediaTypeStatus().code, 415);
  assert.match(unsupportedMediaTypeStatus().message ?? '', /^the body of the request was in an unknown format/);
  assert.equal(requestEntityTooLargeStatus('limit is 3145728').reason, 'RequestEntityTooLarge');
  assert.equal(serviceUnavailableStatus('etcd has no leader').code, 503);
  assert.equal(internalErrorStatus(new Error('boom')).message, 'Internal error occurred: boom');
  assert.deepEqual(successStatus(deployments, 'd1', 'u'), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: 'd1', group: 'apps', kind: 'deployments', uid: 'u' },
  });
});
