import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSlice, Endpoints, Pod, Service } from '@kemu/api';
import { endpointsController } from '../src/controllers/endpoint/endpoints.js';
import { endpointSliceController } from '../src/controllers/endpoint/endpointslices.js';
import { harness, until } from './harness.js';

function pod(name: string, ip: string, ready: boolean, extra: Partial<Pod['spec']> = {}): Pod {
  return {
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }],
      ...extra,
    },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

const svc = (name: string, spec: Service['spec'] = {}): Service => ({
  metadata: { name, namespace: 'default', labels: { tier: 'front' } },
  spec: {
    selector: { app: 'web' },
    ports: [{ name: 'web', port: 80, targetPort: 'http' }],
    clusterIP: '10.96.0.10',
    ...spec,
  },
});

describe('endpoint + endpointslice controllers', () => {
  it('Endpoints and slices follow pod readiness, ports resolve by name, deletes follow the service', async () => {
    const h = harness();
    const pods = h.api.resource<Pod>('pods', { namespace: 'default' });
    const svcs = h.api.resource<Service>('services', { namespace: 'default' });
    const eps = h.api.resource<Endpoints>('endpoints', { namespace: 'default' });
    const sls = h.api.resource<EndpointSlice>('endpointslices.discovery.k8s.io', { namespace: 'default' });
    await pods.create(pod('a', '10.0.0.2', true));
    await pods.create(pod('b', '10.0.0.1', false));
    await pods.create({ ...pod('no-ip', '', true) });
    await pods.create({
      ...pod('other', '10.0.0.9', true),
      metadata: { name: 'other', namespace: 'default', labels: { app: 'db' } },
    });
    await svcs.create(svc('web'));
    await h.start(endpointsController, endpointSliceController);
    await until(async () => (await eps.list()).items.length === 1 && (await sls.list()).items.length === 1, 'created');
    let ep = await eps.get('web');
    assert.deepEqual(ep.metadata.labels, { tier: 'front' });
    assert.ok(ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);
    assert.deepEqual(
      ep.subsets?.map((s) => ({
        ready: s.addresses?.map((a) => `${a.ip}/${a.targetRef?.name}/${a.nodeName}`),
        notReady: s.notReadyAddresses?.map((a) => a.ip),
        ports: s.ports,
      })),
      [{ ready: ['10.0.0.2/a/n1'], notReady: ['10.0.0.1'], ports: [{ port: 8080, protocol: 'TCP', name: 'web' }] }],
    );
    let slice = (await sls.list()).items[0];
    assert.ok(slice);
    assert.equal(slice.addressType, 'IPv4');
    assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'web');
    assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(slice.metadata.ownerReferences?.[0]?.kind, 'Service');
    assert.deepEqual(slice.ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(
      slice.endpoints.map((e) => [e.addresses[0], e.conditions, e.nodeName, e.targetRef?.name]),
      [
        ['10.0.0.1', { ready: false, serving: false, terminating: false }, 'n1', 'b'],
        ['10.0.0.2', { ready: true, serving: true, terminating: false }, 'n1', 'a'],
      ],
    );
    // a turns not ready, b ready: one reconcile each, no manual time needed.
    const a = await pods.get('a');
    await pods.updateStatus({ ...a, status: { ...a.status, conditions: [{ type: 'Ready', status: 'False' }] } });
    const b = await pods.get('b');
    await pods.updateStatus({ ...b, status: { ...b.status, conditions: [{ type: 'Ready', status: 'True' }] } });
    await until(
      async () => (await eps.get('web')).subsets?.[0]?.addresses?.[0]?.ip === '10.0.0.1',
      'readiness flipped',
    );
    ep = await eps.get('web');
    assert.deepEqual(
      ep.subsets?.[0]?.notReadyAddresses?.map((x) => x.ip),
      ['10.0.0.2'],
    );
    await until(
      async () =>
        (await sls.list()).items[0]?.endpoints.find((e) => e.addresses[0] === '10.0.0.2')?.conditions?.ready === false,
      'slice readiness flipped',
    );
    // A terminating pod leaves Endpoints but stays in the slice as terminating.
    await pods.update({
      ...(await pods.get('b')),
      metadata: { ...(await pods.get('b')).metadata, finalizers: ['hold'] },
    });
    await pods.delete('b');
    await until(
      async () => (await eps.get('web')).subsets?.[0]?.addresses === undefined,
      'terminating pod out of addresses',
    );
    await until(
      async () =>
        (await sls.list()).items[0]?.endpoints.find((e) => e.addresses[0] === '10.0.0.1')?.conditions?.terminating ===
        true,
      'terminating in slice',
    );
    slice = (await sls.list()).items[0];
    assert.deepEqual(slice?.endpoints.find((e) => e.addresses[0] === '10.0.0.1')?.conditions, {
      ready: false,
      serving: true,
      terminating: true,
    });
    // Service deleted → its Endpoints and slices go.
    await svcs.delete('web');
    await until(
      async () => (await eps.list()).items.length === 0 && (await sls.list()).items.length === 0,
      'cleaned up',
    );
    await h.stop();
  });

  it('publishNotReadyAddresses, headless hostnames, a placeholder slice for a service without pods', async () => {
    const h = harness();
    const pods = h.api.resource<Pod>('pods', { namespace: 'default' });
    const svcs = h.api.resource<Service>('services', { namespace: 'default' });
    const eps = h.api.resource<Endpoints>('endpoints', { namespace: 'default' });
    const sls = h.api.resource<EndpointSlice>('endpointslices.discovery.k8s.io', { namespace: 'default' });
    await pods.create(pod('s-0', '10.0.0.5', false, { hostname: 's-0', subdomain: 'sts' }));
    await svcs.create(svc('sts', { clusterIP: 'None', ports: [], publishNotReadyAddresses: true }));
    await svcs.create(svc('empty', { selector: { app: 'nothing' } }));
    await svcs.create({ metadata: { name: 'manual', namespace: 'default' }, spec: { ports: [{ port: 1 }] } });
    await h.start(endpointsController, endpointSliceController);
    await until(async () => (await eps.list()).items.length === 2 && (await sls.list()).items.length === 2, 'synced');
    const ep = await eps.get('sts');
    assert.equal(ep.metadata.labels?.['service.kubernetes.io/headless'], '');
    assert.deepEqual(ep.subsets, [
      {
        addresses: [
          {
            ip: '10.0.0.5',
            hostname: 's-0',
            nodeName: 'n1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 's-0', uid: (await pods.get('s-0')).metadata.uid },
          },
        ],
      },
    ]);
    const all = (await sls.list()).items;
    const sts = all.find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'sts');
    assert.deepEqual(sts?.endpoints[0]?.conditions, { ready: true, serving: true, terminating: false });
    assert.equal(sts?.endpoints[0]?.hostname, 's-0');
    const empty = all.find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'empty');
    assert.deepEqual(empty?.endpoints, []);
    assert.equal(empty?.ports, undefined);
    assert.deepEqual((await eps.get('empty')).subsets, []);
    // Running twice (a restarted controller) changes nothing.
    const before = JSON.stringify([(await eps.list()).items, (await sls.list()).items]);
    await h.stop();
    const h2 = harness({ reuse: h });
    await h2.start(endpointsController, endpointSliceController);
    await h2.settle(100);
    assert.equal(JSON.stringify([(await eps.list()).items, (await sls.list()).items]), before);
    await h2.stop();
  });

  it('splits more than 100 endpoints into slices and shrinks back without duplicates', async () => {
    const h = harness();
    const pods = h.api.resource<Pod>('pods', { namespace: 'default' });
    const sls = h.api.resource<EndpointSlice>('endpointslices.discovery.k8s.io', { namespace: 'default' });
    await h.api.resource<Service>('services', { namespace: 'default' }).create(svc('big'));
    await h.start(endpointSliceController);
    for (let i = 0; i < 130; i++)
      await pods.create(pod(`p-${i}`, `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, true));
    await until(async () => {
      const items = (await sls.list()).items;
      return items.length === 2 && items.reduce((n, s) => n + s.endpoints.length, 0) === 130;
    }, '130 endpoints in 2 slices');
    assert.deepEqual((await sls.list()).items.map((s) => s.endpoints.length).sort(), [100, 30]);
    for (let i = 0; i < 120; i++) await pods.delete(`p-${i}`);
    await until(async () => {
      const items = (await sls.list()).items;
      return items.length === 1 && items[0]?.endpoints.length === 10;
    }, 'one slice of 10');
    await h.stop();
  });
});
