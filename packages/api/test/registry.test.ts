import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  aggregatedCoreDiscovery,
  aggregatedGroupsDiscovery,
  findResource,
  legacyCoreVersions,
  legacyGroupList,
  legacyResourceList,
  mustFindResource,
  qualifiedResource,
  resourceFor,
  resourceForKind,
  resourcesInCategory,
  storageKey,
  storagePrefix,
  UnknownResourceError,
  versionInfo,
} from '../src/index.js';

test('finds resources by short name, singular, plural, kind and group suffix', () => {
  const cases: [string, string][] = [
    ['po', 'pods'],
    ['pod', 'pods'],
    ['Pods', 'pods'],
    ['Pod', 'pods'],
    ['svc', 'services'],
    ['deploy', 'deployments'],
    ['deployments.apps', 'deployments'],
    ['rs', 'replicasets'],
    ['sts', 'statefulsets'],
    ['ds', 'daemonsets'],
    ['no', 'nodes'],
    ['ns', 'namespaces'],
    ['ev', 'events'],
    ['cm', 'configmaps'],
    ['sa', 'serviceaccounts'],
    ['ep', 'endpoints'],
    ['pv', 'persistentvolumes'],
    ['pvc', 'persistentvolumeclaims'],
    ['cj', 'cronjobs'],
    ['job', 'jobs'],
    ['lease', 'leases'],
    ['endpointslice', 'endpointslices'],
    ['controllerrevision', 'controllerrevisions'],
  ];
  for (const [name, plural] of cases) assert.equal(findResource(name)?.resource, plural, name);
  assert.equal(findResource('rc'), undefined);
  assert.equal(findResource('deployments.batch'), undefined);
  assert.throws(() => mustFindResource('foo'), UnknownResourceError);
});

test('names, storage keys and categories', () => {
  const deploy = resourceFor('apps', 'v1', 'deployments');
  assert.ok(deploy);
  assert.equal(qualifiedResource(deploy), 'deployments.apps');
  assert.equal(storageKey(deploy, 'default', 'web'), '/registry/deployments/default/web');
  assert.equal(storagePrefix(deploy), '/registry/deployments/');
  assert.equal(storagePrefix(deploy, 'kube-system'), '/registry/deployments/kube-system/');
  const nodes = resourceForKind('v1', 'Node');
  assert.ok(nodes);
  assert.equal(qualifiedResource(nodes), 'nodes');
  assert.equal(storageKey(nodes, undefined, 'node-1'), '/registry/nodes/node-1');
  assert.throws(() => storageKey(deploy, '', 'x'), UnknownResourceError);
  assert.deepEqual(
    resourcesInCategory('all').map((r) => r.resource),
    [
      'pods',
      'services',
      'daemonsets',
      'deployments',
      'replicasets',
      'statefulsets',
      'horizontalpodautoscalers',
      'cronjobs',
      'jobs',
    ],
  );
});

test('aggregated discovery matches the contract example', () => {
  const apis = aggregatedGroupsDiscovery();
  assert.equal(apis.kind, 'APIGroupDiscoveryList');
  assert.equal(apis.apiVersion, 'apidiscovery.k8s.io/v2');
  assert.deepEqual(
    apis.items.map((i) => i.metadata.name),
    [
      'apps',
      'autoscaling',
      'batch',
      'networking.k8s.io',
      'policy',
      'rbac.authorization.k8s.io',
      'storage.k8s.io',
      'scheduling.k8s.io',
      'coordination.k8s.io',
      'discovery.k8s.io',
    ],
  );
  const apps = apis.items[0];
  const deploy = apps?.versions[0]?.resources.find((r) => r.resource === 'deployments');
  assert.deepEqual(apps?.metadata, { name: 'apps', creationTimestamp: null });
  assert.equal(apps?.versions[0]?.freshness, 'Current');
  assert.deepEqual(deploy, {
    resource: 'deployments',
    responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    scope: 'Namespaced',
    singularResource: 'deployment',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: [
      {
        subresource: 'scale',
        responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
        verbs: ['get', 'patch', 'update'],
      },
      {
        subresource: 'status',
        responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        verbs: ['get', 'patch', 'update'],
      },
    ],
  });
  const api = aggregatedCoreDiscovery();
  assert.equal(api.items.length, 1);
  assert.deepEqual(api.items[0]?.metadata, { creationTimestamp: null });
  const nodes = api.items[0]?.versions[0]?.resources.find((r) => r.resource === 'nodes');
  assert.equal(nodes?.scope, 'Cluster');
  const cm = api.items[0]?.versions[0]?.resources.find((r) => r.resource === 'configmaps');
  assert.equal('categories' in (cm ?? {}), false, 'empty lists are omitted like omitempty');
});

test('legacy discovery documents', () => {
  assert.deepEqual(legacyCoreVersions('127.0.0.1:18080'), {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:18080' }],
  });
  const groups = legacyGroupList();
  assert.deepEqual(groups.groups[0], {
    name: 'apps',
    versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
    preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
  });
  const core = legacyResourceList('', 'v1');
  assert.ok(core);
  assert.equal(core.groupVersion, 'v1');
  const pods = core.resources.find((r) => r.name === 'pods');
  assert.deepEqual(pods, {
    name: 'pods',
    singularName: 'pod',
    namespaced: true,
    kind: 'Pod',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['po'],
    categories: ['all'],
  });
  assert.deepEqual(
    core.resources.find((r) => r.name === 'pods/log'),
    {
      name: 'pods/log',
      singularName: '',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get'],
    },
  );
  assert.deepEqual(core.resources.find((r) => r.name === 'pods/exec')?.kind, 'PodExecOptions');
  const names = core.resources.map((r) => r.name);
  assert.deepEqual(names, [...names].sort());
  const apps = legacyResourceList('apps', 'v1');
  const scale = apps?.resources.find((r) => r.name === 'deployments/scale');
  assert.equal(scale?.group, 'autoscaling');
  assert.equal(scale?.kind, 'Scale');
  assert.equal(legacyResourceList('apps', 'v2'), undefined);
  assert.equal(versionInfo().minor, '32');
});
