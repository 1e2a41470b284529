import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigMap, Namespace, Pod, Service } from '@kemu/api';
import { isNotFound } from '@kemu/client';
import { namespaceController, namespacedResources } from '../src/controllers/namespace.js';
import { harness, until } from './harness.js';

describe('namespace controller', () => {
  it('empties a terminating namespace, reports conditions, waits for finalizers, then finalizes', async () => {
    const h = harness();
    const nss = h.api.resource<Namespace>('namespaces');
    await nss.create({ metadata: { name: 'x' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    await nss.create({ metadata: { name: 'keep' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    const cms = h.api.resource<ConfigMap>('configmaps', { namespace: 'x' });
    await cms.create({ metadata: { name: 'a' } });
    await cms.create({ metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    await h.api.resource<Pod>('pods', { namespace: 'x' }).create({ metadata: { name: 'p' }, spec: { containers: [] } });
    await h.api.resource<Service>('services', { namespace: 'x' }).create({ metadata: { name: 's' }, spec: {} });
    await h.api.resource<ConfigMap>('configmaps', { namespace: 'keep' }).create({ metadata: { name: 'k' } });
    await h.start(namespaceController);
    await nss.delete('x');
    await until(async () => (await nss.get('x')).status?.conditions?.length === 5, 'conditions written');
    const ns = await nss.get('x');
    assert.equal(ns.status?.phase, 'Terminating');
    const cond = (t: string) => ns.status?.conditions?.find((c) => c.type === t);
    assert.equal(cond('NamespaceDeletionDiscoveryFailure')?.reason, 'ResourcesDiscovered');
    assert.equal(
      cond('NamespaceDeletionContentFailure')?.message,
      'All content successfully deleted, may be waiting on finalization',
    );
    assert.equal(cond('NamespaceContentRemaining')?.status, 'True');
    assert.equal(
      cond('NamespaceContentRemaining')?.message,
      'Some resources are remaining: configmaps has 1 resource instances',
    );
    assert.equal(
      cond('NamespaceFinalizersRemaining')?.message,
      'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
    );
    assert.deepEqual(
      (await cms.list()).items.map((c) => c.metadata.name),
      ['held'],
    );
    assert.equal((await h.api.resource<Pod>('pods', { namespace: 'x' }).list()).items.length, 0);
    assert.deepEqual(ns.spec?.finalizers, ['kubernetes']);
    // The finalizer goes → the next pass finalizes and the namespace is gone.
    const held = await cms.get('held');
    await cms.update({ ...held, metadata: { ...held.metadata, finalizers: [] } });
    await h.advance(500);
    await until(async () => {
      try {
        await nss.get('x');
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    }, 'namespace removed');
    assert.equal((await h.api.resource<ConfigMap>('configmaps', { namespace: 'keep' }).list()).items.length, 1);
    assert.equal((await nss.get('keep')).status?.phase, 'Active');
    await h.stop();
  });

  it('covers every namespaced, deletable resource of the registry', () => {
    const names = namespacedResources().map((r) => r.resource);
    for (const r of [
      'pods',
      'configmaps',
      'secrets',
      'services',
      'endpoints',
      'events',
      'deployments',
      'jobs',
      'leases',
      'endpointslices',
    ]) {
      assert.ok(names.includes(r), r);
    }
    assert.ok(!names.includes('bindings') && !names.includes('nodes'));
  });
});
