import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from '@kemu/api';
import { StatefulSetController } from '../src/controllers/statefulset.js';
import { Harness } from './helpers/harness.js';

function sts(name: string, replicas: number, spec: Partial<StatefulSet['spec']> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      volumeClaimTemplates: [
        {
          metadata: { name: 'www' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...spec,
    },
  };
}

const live = (h: Harness) => h.pods().filter((p) => !p.metadata.deletionTimestamp);
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name).sort();
const isReady = (p: Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

describe('StatefulSet controller', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });
  const setup = () => {
    const h = new Harness();
    harnesses.push(h);
    h.start(new StatefulSetController(h.ctx).run());
    return h;
  };
  const api = (h: Harness) => h.api.resource<StatefulSet>('statefulsets.apps', { namespace: 'default' });
  const podsApi = (h: Harness) => h.api.resource<Pod>('pods', { namespace: 'default' });
  /** Kubelet stand-in: finishes terminating pods and readies pending ones (one per call). */
  async function kubeletStep(h: Harness): Promise<void> {
    for (const p of h.pods().filter((x) => x.metadata.deletionTimestamp)) {
      await podsApi(h)
        .delete(p.metadata.name ?? '', { gracePeriodSeconds: 0 })
        .catch(() => undefined);
    }
    const next = live(h).find((p) => !isReady(p));
    if (next) await h.setPodPhase(next, 'Running');
    await h.settle();
  }

  it('OrderedReady: web-0, web-1, web-2 in order, each with its PVC created first', async () => {
    const h = setup();
    await api(h).create(sts('web', 3));
    await h.settle();
    assert.deepEqual(names(live(h)), ['web-0'], 'only web-0 until it is ready');
    const pvc0 = h
      .objects<PersistentVolumeClaim>('persistentvolumeclaims')
      .find((c) => c.metadata.name === 'www-web-0');
    assert.ok(pvc0, 'PVC www-web-0 exists');
    assert.deepEqual(pvc0.metadata.labels, { app: 'web' });
    const pod0 = live(h)[0] as Pod;
    assert.equal(pod0.spec.hostname, 'web-0');
    assert.equal(pod0.spec.subdomain, 'web');
    assert.deepEqual(pod0.spec.volumes?.find((v) => v.name === 'www')?.persistentVolumeClaim, {
      claimName: 'www-web-0',
    });
    assert.equal(pod0.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'web-0');
    assert.equal(pod0.metadata.labels?.['apps.kubernetes.io/pod-index'], '0');
    assert.ok(pod0.metadata.labels?.['controller-revision-hash']?.startsWith('web-'));
    await kubeletStep(h);
    assert.deepEqual(names(live(h)), ['web-0', 'web-1']);
    await kubeletStep(h);
    await kubeletStep(h);
    assert.deepEqual(names(live(h)), ['web-0', 'web-1', 'web-2']);
    assert.deepEqual(
      h
        .objects<PersistentVolumeClaim>('persistentvolumeclaims')
        .map((c) => c.metadata.name)
        .sort(),
      ['www-web-0', 'www-web-1', 'www-web-2'],
    );
    const created = h
      .events()
      .filter((e) => e.reason === 'SuccessfulCreate')
      .map((e) => e.message);
    assert.deepEqual(
      created.filter((m) => m.startsWith('create Pod')),
      [
        'create Pod web-0 in StatefulSet web successful',
        'create Pod web-1 in StatefulSet web successful',
        'create Pod web-2 in StatefulSet web successful',
      ],
    );
    assert.ok(created.includes('create Claim www-web-0 Pod web-0 in StatefulSet web success'));
    const s = (await api(h).get('web')).status;
    assert.equal(s?.readyReplicas, 3);
    assert.equal(s?.currentRevision, s?.updateRevision);
    assert.equal(h.objects<ControllerRevision>('controllerrevisions.apps').length, 1);

    // scale down: highest ordinal first, one at a time (FakeApi deletes at once, so both go in one settle)
    const cur = await api(h).get('web');
    cur.spec.replicas = 1;
    await api(h).update(cur);
    await h.settle();
    assert.deepEqual(names(live(h)), ['web-0']);
    assert.deepEqual(
      h
        .events()
        .filter((e) => e.reason === 'SuccessfulDelete')
        .map((e) => e.message),
      ['delete Pod web-2 in StatefulSet web successful', 'delete Pod web-1 in StatefulSet web successful'],
    );
    assert.equal(h.objects<PersistentVolumeClaim>('persistentvolumeclaims').length, 3, 'PVCs are retained');
  });

  it('RollingUpdate replaces pods from the highest ordinal, respecting the partition', async () => {
    const h = setup();
    await api(h).create(sts('db', 3, { volumeClaimTemplates: [] }));
    for (let i = 0; i < 6; i++) await kubeletStep(h);
    assert.equal(live(h).filter(isReady).length, 3);
    const cur = await api(h).get('db');
    const oldRev = cur.status?.currentRevision;
    cur.spec.template.spec.containers[0] = { name: 'c', image: 'nginx:2' };
    cur.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
    await api(h).update(cur);
    await h.settle();
    for (let i = 0; i < 12; i++) await kubeletStep(h);
    const order = h
      .events()
      .filter((e) => e.reason === 'SuccessfulDelete')
      .map((e) => /delete Pod (\S+)/.exec(e.message)?.[1]);
    assert.deepEqual(order, ['db-2', 'db-1'], 'highest first; db-0 is below the partition');
    const images = Object.fromEntries(live(h).map((p) => [p.metadata.name, p.spec.containers[0]?.image]));
    assert.deepEqual(images, { 'db-0': 'nginx:1', 'db-1': 'nginx:2', 'db-2': 'nginx:2' });
    const s = (await api(h).get('db')).status;
    assert.equal(s?.currentRevision, oldRev);
    assert.notEqual(s?.updateRevision, oldRev);
    assert.equal(s?.updatedReplicas, 2);
    assert.equal(s?.currentReplicas, 1);
    // partition 0 finishes the rollout and the update revision becomes current
    const again = await api(h).get('db');
    again.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    await api(h).update(again);
    for (let i = 0; i < 6; i++) await kubeletStep(h);
    const done = (await api(h).get('db')).status;
    assert.equal(done?.currentRevision, done?.updateRevision);
    assert.equal(done?.updatedReplicas, 3);
  });

  it('Parallel creates every pod at once; OnDelete leaves running pods alone', async () => {
    const h = setup();
    await api(h).create(
      sts('par', 3, {
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'OnDelete' },
        volumeClaimTemplates: [],
      }),
    );
    await h.settle();
    assert.deepEqual(names(live(h)), ['par-0', 'par-1', 'par-2']);
    for (let i = 0; i < 3; i++) await kubeletStep(h);
    const cur = await api(h).get('par');
    cur.spec.template.spec.containers[0] = { name: 'c', image: 'nginx:2' };
    await api(h).update(cur);
    await h.settle(500);
    assert.ok(live(h).every((p) => p.spec.containers[0]?.image === 'nginx:1'));
    await podsApi(h).delete('par-1', { gracePeriodSeconds: 0 });
    await h.settle();
    const p1 = live(h).find((p) => p.metadata.name === 'par-1');
    assert.equal(p1?.spec.containers[0]?.image, 'nginx:2', 'recreated from the update revision');
  });

  it('persistentVolumeClaimRetentionPolicy Delete/Delete: claims owned by the set, a scaled-down pod takes its own', async () => {
    const h = setup();
    const created = await api(h).create(
      sts('ret', 2, { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } }),
    );
    for (let i = 0; i < 4; i++) await kubeletStep(h);
    const claims = () =>
      Object.fromEntries(
        h
          .objects<PersistentVolumeClaim>('persistentvolumeclaims')
          .map((c) => [c.metadata.name, (c.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`)]),
      );
    assert.deepEqual(claims(), { 'www-ret-0': ['StatefulSet/ret'], 'www-ret-1': ['StatefulSet/ret'] });
    assert.equal(
      h.objects<PersistentVolumeClaim>('persistentvolumeclaims')[0]?.metadata.ownerReferences?.[0]?.uid,
      created.metadata.uid,
    );
    const cur = await api(h).get('ret');
    cur.spec.replicas = 1;
    await api(h).update(cur);
    await h.settle();
    assert.deepEqual(claims(), { 'www-ret-0': ['StatefulSet/ret'], 'www-ret-1': ['Pod/ret-1'] });
  });
});
