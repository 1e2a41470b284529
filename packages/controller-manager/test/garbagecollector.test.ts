import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigMap, KubeObject, OwnerReference, Pod, ReplicaSet } from '@kemu/api';
import { garbageCollectorController } from '../src/controllers/garbagecollector.js';
import { type Harness, harness, until } from './harness.js';

const ref = (o: KubeObject, block = true): OwnerReference => ({
  apiVersion: o.apiVersion ?? '',
  kind: o.kind ?? '',
  name: o.metadata.name ?? '',
  uid: o.metadata.uid ?? '',
  controller: true,
  blockOwnerDeletion: block,
});

async function tree(h: Harness, name: string) {
  const rss = h.api.resource<ReplicaSet>('replicasets.apps', { namespace: 'default' });
  const pods = h.api.resource<Pod>('pods', { namespace: 'default' });
  const rs = await rss.create({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: { selector: { matchLabels: { a: name } }, template: { spec: { containers: [] } } },
  } as ReplicaSet);
  for (const i of [0, 1]) {
    await pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${name}-${i}`, ownerReferences: [ref(rs, i === 0)] },
      spec: { containers: [] },
    });
  }
  return { rs, rss, pods };
}

const names = async (h: Harness) =>
  (await h.api.resource<Pod>('pods', { namespace: 'default' }).list()).items.map((p) => p.metadata.name).sort();

describe('garbage collector', () => {
  it('background: dependents of a deleted owner are deleted; dependents with a live owner stay', async () => {
    const h = harness();
    await h.start(garbageCollectorController);
    const { rss } = await tree(h, 'bg');
    await tree(h, 'keep');
    await h.settle(50);
    assert.deepEqual(await names(h), ['bg-0', 'bg-1', 'keep-0', 'keep-1']);
    await rss.delete('bg', { propagationPolicy: 'Background' });
    await until(async () => (await names(h)).join() === 'keep-0,keep-1', 'bg pods collected');
    await h.stop();
  });

  it('a dependent whose owner never existed (uid mismatch) is collected after a live check', async () => {
    const h = harness();
    const cms = h.api.resource<ConfigMap>('configmaps', { namespace: 'default' });
    await cms.create({ metadata: { name: 'owner' } });
    await cms.create({
      metadata: {
        name: 'orphaned',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'not-its-uid' }],
      },
    });
    await h.start(garbageCollectorController);
    await until(async () => (await cms.list()).items.length === 1, 'dangling dependent deleted');
    assert.equal((await cms.list()).items[0]?.metadata.name, 'owner');
    await h.stop();
  });

  it('foreground: the owner waits for blocking dependents, then its finalizer is removed', async () => {
    const h = harness();
    await h.start(garbageCollectorController);
    const { rss, pods } = await tree(h, 'fg');
    // fg-0 (blockOwnerDeletion) holds a finalizer of its own so we can watch the owner wait.
    const p0 = await pods.get('fg-0');
    await pods.update({ ...p0, metadata: { ...p0.metadata, finalizers: ['example.com/hold'] } });
    await h.settle(20);
    const res = await rss.delete('fg', { propagationPolicy: 'Foreground' });
    assert.equal(res.deleted, false);
    await until(async () => (await names(h)).join() === 'fg-0', 'fg-1 deleted, fg-0 terminating');
    assert.ok((await pods.get('fg-0')).metadata.deletionTimestamp);
    await h.settle(50);
    const waiting = await rss.get('fg');
    assert.deepEqual(waiting.metadata.finalizers, ['foregroundDeletion'], 'owner still waits for fg-0');
    const held = await pods.get('fg-0');
    await pods.update({ ...held, metadata: { ...held.metadata, finalizers: [] } });
    await until(async () => (await rss.list()).items.length === 0, 'owner deleted after its dependents');
    await h.stop();
  });

  it('orphan: dependents lose the ownerReference and stay; the orphan finalizer is removed', async () => {
    const h = harness();
    await h.start(garbageCollectorController);
    const { rss, pods } = await tree(h, 'or');
    await h.settle(20);
    await rss.delete('or', { propagationPolicy: 'Orphan' });
    await until(async () => (await rss.list()).items.length === 0, 'owner gone');
    await h.settle(50);
    assert.deepEqual(await names(h), ['or-0', 'or-1']);
    for (const p of (await pods.list()).items) assert.equal(p.metadata.ownerReferences, undefined);
    await h.stop();
  });

  it('a dependent with a live owner and a vanished one keeps only the live reference', async () => {
    const h = harness();
    const cms = h.api.resource<ConfigMap>('configmaps', { namespace: 'default' });
    const a = await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner-a' } });
    const b = await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner-b' } });
    await cms.create({ metadata: { name: 'shared', ownerReferences: [ref(a, false), ref(b, false)] } });
    await h.start(garbageCollectorController);
    await h.settle(20);
    await cms.delete('owner-b');
    await until(
      async () => (await cms.get('shared')).metadata.ownerReferences?.length === 1,
      'dangling reference removed',
    );
    assert.equal((await cms.get('shared')).metadata.ownerReferences?.[0]?.name, 'owner-a');
    await cms.delete('owner-a');
    await until(async () => (await cms.list()).items.length === 0, 'collected once its last owner is gone');
    await h.stop();
  });
});
