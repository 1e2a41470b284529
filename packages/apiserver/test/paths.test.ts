import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResourcePath } from '../src/http/paths.js';
import { unknownFields } from '../src/strict-fields.js';

function res(p: string) {
  const r = parseResourcePath(p);
  assert.equal(r.kind, 'resource', p);
  if (r.kind !== 'resource') throw new Error('unreachable');
  const { def, ...rest } = r.path;
  return { resource: def?.resource, ...rest };
}

test('resource paths: namespaced, cluster-scoped, subresources, namespace subresources', () => {
  assert.deepEqual(res('/api/v1/namespaces/default/pods'), {
    resource: 'pods',
    group: '',
    version: 'v1',
    plural: 'pods',
    namespace: 'default',
  });
  assert.deepEqual(res('/apis/apps/v1/namespaces/ns/deployments/web/scale'), {
    resource: 'deployments',
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    namespace: 'ns',
    name: 'web',
    subresource: 'scale',
  });
  assert.deepEqual(res('/api/v1/namespaces/team-a'), {
    resource: 'namespaces',
    group: '',
    version: 'v1',
    plural: 'namespaces',
    name: 'team-a',
  });
  assert.deepEqual(res('/api/v1/namespaces/team-a/finalize'), {
    resource: 'namespaces',
    group: '',
    version: 'v1',
    plural: 'namespaces',
    name: 'team-a',
    subresource: 'finalize',
  });
  assert.deepEqual(res('/api/v1/nodes/n1/status'), {
    resource: 'nodes',
    group: '',
    version: 'v1',
    plural: 'nodes',
    name: 'n1',
    subresource: 'status',
  });
  assert.equal(res('/api/v1/pods').resource, 'pods');
  assert.equal(res('/api/v1/namespaces/x/widgets').resource, undefined);
  assert.deepEqual(parseResourcePath('/apis/apps/v1'), { kind: 'groupVersion', group: 'apps', version: 'v1' });
  assert.deepEqual(parseResourcePath('/apis/apps'), { kind: 'group', group: 'apps' });
  assert.deepEqual(parseResourcePath('/foo'), { kind: 'unknown' });
  assert.deepEqual(parseResourcePath('/api/v1/namespaces/%E0%A4%A/pods'), { kind: 'unknown' });
  assert.deepEqual(parseResourcePath('/api/v1/namespaces/a/pods/b/c/d'), { kind: 'unknown' });
});

test('strict fields: unknown fields named by path, known structs and free maps accepted', () => {
  assert.deepEqual(
    unknownFields({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', labels: { anything: 'goes' } },
      spec: {
        replicas: 1,
        foo: 1,
        template: { spec: { containers: [{ name: 'c', image: 'i', bogus: true, env: [{ name: 'a', valu: 'b' }] }] } },
      },
    } as never),
    ['spec.foo', 'spec.template.spec.containers[0].bogus', 'spec.template.spec.containers[0].env[0].valu'],
  );
  assert.deepEqual(
    unknownFields({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', colour: 1 },
      data: {},
      spec: {},
    } as never),
    ['metadata.colour', 'spec'],
  );
  assert.deepEqual(
    unknownFields({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: [] } } as never),
    [],
  );
});
