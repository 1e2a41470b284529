import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Event, PersistentVolume, PersistentVolumeClaim } from '@kemu/api';
import { hostPathDirectories, persistentVolumeBinder, type StorageClass } from '../src/controllers/persistentvolume.js';
import { harness, until } from './harness.js';

const root = mkdtempSync(join(tmpdir(), 'kemu-pv-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const claim = (name: string, storage: string, storageClassName?: string): PersistentVolumeClaim => ({
  metadata: { name, namespace: 'default' },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage } },
    ...(storageClassName !== undefined ? { storageClassName } : {}),
  },
  status: { phase: 'Pending' },
});

describe('persistentvolume binder + hostPath provisioner', () => {
  it('provisions pvc-<uid> for a default-class claim, binds both ways, deletes volume and directory with the claim', async () => {
    const h = harness();
    const pvcs = h.api.resource<PersistentVolumeClaim>('persistentvolumeclaims', { namespace: 'default' });
    const pvs = h.api.resource<PersistentVolume>('persistentvolumes');
    await h.start(persistentVolumeBinder({ dirs: hostPathDirectories(root) }));
    const created = await pvcs.create(claim('data', '1Gi'));
    const pvName = `pvc-${created.metadata.uid}`;
    await until(async () => (await pvcs.get('data')).status?.phase === 'Bound', 'claim bound');
    const c = await pvcs.get('data');
    assert.equal(c.spec?.storageClassName, 'standard', 'default class written into the claim');
    const sc = await h.api.resource<StorageClass>('storageclasses.storage.k8s.io').get('standard');
    assert.equal(sc.provisioner, 'kemu.dev/hostpath');
    assert.equal(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(c.spec?.volumeName, pvName);
    assert.equal(c.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.deepEqual(c.status?.capacity, { storage: '1Gi' });
    assert.deepEqual(c.status?.accessModes, ['ReadWriteOnce']);
    const pv = await pvs.get(pvName);
    assert.equal(pv.status?.phase, 'Bound');
    assert.equal(pv.spec?.claimRef?.uid, created.metadata.uid);
    assert.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(pv.spec?.hostPath?.path, join(root, pvName));
    assert.ok(existsSync(join(root, pvName)), 'directory created');
    const events = (await h.api.resource<Event>('events', { namespace: 'default' }).list()).items;
    assert.ok(events.some((e) => e.reason === 'ProvisioningSucceeded'));
    await pvcs.delete('data');
    await until(async () => (await pvs.list()).items.length === 0, 'volume deleted');
    assert.ok(!existsSync(join(root, pvName)), 'directory removed');
    await h.stop();
  });

  it('binds a static volume (smallest fit, class match); class "" without a match stays Pending; Retain → Released', async () => {
    const h = harness();
    const pvcs = h.api.resource<PersistentVolumeClaim>('persistentvolumeclaims', { namespace: 'default' });
    const pvs = h.api.resource<PersistentVolume>('persistentvolumes');
    const vol = (name: string, storage: string, cls?: string): PersistentVolume => ({
      metadata: { name },
      spec: {
        capacity: { storage },
        accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
        hostPath: { path: `/srv/${name}` },
        persistentVolumeReclaimPolicy: 'Retain',
        ...(cls !== undefined ? { storageClassName: cls } : {}),
      },
    });
    await pvs.create(vol('big', '10Gi', 'manual'));
    await pvs.create(vol('small', '2Gi', 'manual'));
    await pvs.create(vol('tiny', '100Mi', 'manual'));
    await h.start(persistentVolumeBinder({ dirs: hostPathDirectories(root) }));
    await until(
      async () => (await pvs.list()).items.every((v) => v.status?.phase === 'Available'),
      'volumes Available',
    );
    await pvcs.create(claim('static', '1Gi', 'manual'));
    await pvcs.create(claim('none', '1Gi', ''));
    await pvcs.create(claim('unknown-class', '1Gi', 'fast'));
    await until(async () => (await pvcs.get('static')).status?.phase === 'Bound', 'static bound');
    assert.equal((await pvcs.get('static')).spec?.volumeName, 'small');
    assert.equal((await pvs.get('small')).status?.phase, 'Bound');
    await h.settle(50);
    assert.equal((await pvcs.get('none')).status?.phase, 'Pending');
    assert.equal((await pvs.list()).items.length, 3, 'nothing provisioned for class "" or an unknown class');
    const events = (await h.api.resource<Event>('events', { namespace: 'default' }).list()).items;
    assert.ok(events.some((e) => e.reason === 'FailedBinding' && e.involvedObject.name === 'none'));
    assert.ok(
      events.some(
        (e) => e.reason === 'ProvisioningFailed' && e.message === 'storageclass.storage.k8s.io "fast" not found',
      ),
    );
    await pvcs.delete('static');
    await until(async () => (await pvs.get('small')).status?.phase === 'Released', 'Retain → Released');
    await h.stop();
  });
});
