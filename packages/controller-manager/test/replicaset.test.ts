import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Pod, ReplicaSet } from '@kemu/api';
import { ReplicaSetController } from '../src/controllers/replicaset.js';
import { Gate, gatedApi } from './helpers/gated-api.js';
import { Harness } from './helpers/harness.js';

function rs(name: string, replicas: number, extra: Partial<ReplicaSet['spec']> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      ...extra,
    },
  };
}

describe('ReplicaSet controller', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });
  const setup = () => {
    const h = new Harness();
    harnesses.push(h);
    const ctl = new ReplicaSetController(h.ctx);
    h.start(ctl.run());
    return { h, ctl };
  };

  it('creates replicas with a controller ownerReference, events and status', async () => {
    const { h } = setup();
    const created = await h.api.resource<ReplicaSet>('replicasets.apps').create(rs('web', 3));
    await h.settle();
    const pods = h.pods();
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.match(p.metadata.name ?? '', /^web-/);
      assert.deepEqual(p.metadata.labels, { app: 'web' });
      const ref = p.metadata.ownerReferences?.[0];
      assert.equal(ref?.uid, created.metadata.uid);
      assert.equal(ref?.controller, true);
      assert.equal(ref?.blockOwnerDeletion, true);
      assert.equal(ref?.kind, 'ReplicaSet');
    }
    const ev = h.events().filter((e) => e.reason === 'SuccessfulCreate');
    assert.equal(ev.length, 3);
    assert.match(ev[0]?.message ?? '', /^Created pod: web-/);
    let cur = h.objects<ReplicaSet>('replicasets.apps')[0];
    assert.equal(cur?.status?.replicas, 3);
    assert.equal(cur?.status?.readyReplicas, 0);
    await h.readyAll();
    await h.settle();
    cur = h.objects<ReplicaSet>('replicasets.apps')[0];
    assert.deepEqual(
      { ...cur?.status },
      { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 },
    );
  });

  it('scales down deleting unscheduled and not-ready pods first', async () => {
    const { h } = setup();
    const api = h.api.resource<ReplicaSet>('replicasets.apps', { namespace: 'default' });
    await api.create(rs('db', 4));
    await h.settle();
    const [a, b] = h.pods();
    assert.ok(a && b);
    await h.setPodPhase(a, 'Running', true, 'n1');
    await h.setPodPhase(b, 'Running', false, 'n2');
    await h.settle();
    const cur = await api.get('db');
    cur.spec.replicas = 1;
    await api.update(cur);
    await h.settle();
    const left = h.pods().filter((p) => !p.metadata.deletionTimestamp);
    assert.deepEqual(
      left.map((p) => p.metadata.name),
      [a.metadata.name],
    );
    assert.equal(h.events().filter((e) => e.reason === 'SuccessfulDelete').length, 3);
  });

  it('expectations: while the cache lags behind its own creates, syncing again creates nothing more', async () => {
    const gate = new Gate();
    const h = new Harness({ informerApi: (api) => gatedApi(api, ['pods'], gate) });
    harnesses.push(h);
    const ctl = new ReplicaSetController(h.ctx);
    h.start(ctl.run());
    await h.settle();
    gate.close(); // pod events stop reaching the controller's cache
    const api = h.api.resource<ReplicaSet>('replicasets.apps', { namespace: 'default' });
    await api.create(rs('exp', 3));
    await h.settle();
    assert.equal(h.pods().length, 3);
    assert.deepEqual(ctl.expectations.pending('default/exp'), { add: 3, del: 0 });
    // More RS events and direct syncs while the cache still shows no pods.
    const cur = await api.get('exp');
    cur.metadata.annotations = { touched: 'yes' };
    await api.update(cur);
    await h.settle();
    await ctl.sync('default/exp');
    assert.equal(h.pods().length, 3, 'no second batch of pods');
    gate.open();
    await h.settle();
    assert.deepEqual(ctl.expectations.pending('default/exp'), { add: 0, del: 0 });
    assert.equal(h.pods().length, 3);
    assert.equal(h.objects<ReplicaSet>('replicasets.apps').find((r) => r.metadata.name === 'exp')?.status?.replicas, 3);
  });

  it('expectations expire after 5 minutes, so a lost watch event cannot wedge a ReplicaSet', async () => {
    const gate = new Gate();
    const h = new Harness({ informerApi: (api) => gatedApi(api, ['pods'], gate) });
    harnesses.push(h);
    const ctl = new ReplicaSetController(h.ctx);
    h.start(ctl.run());
    await h.settle();
    gate.close();
    await h.api.resource<ReplicaSet>('replicasets.apps', { namespace: 'default' }).create(rs('ttl', 1));
    await h.settle();
    assert.equal(ctl.expectations.satisfied('default/ttl'), false);
    h.rt.advance(5 * 60 * 1000 + 1);
    assert.equal(ctl.expectations.satisfied('default/ttl'), true);
    gate.open();
    await h.settle();
  });

  it('adopts matching orphans and releases pods whose labels stop matching', async () => {
    const { h } = setup();
    const podsApi = h.api.resource<Pod>('pods', { namespace: 'default' });
    await podsApi.create({
      metadata: { name: 'orphan', namespace: 'default', labels: { app: 'adopt' } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    const owner = await h.api.resource<ReplicaSet>('replicasets.apps').create(rs('adopt', 2));
    await h.settle();
    const orphan = await podsApi.get('orphan');
    assert.equal(orphan.metadata.ownerReferences?.[0]?.uid, owner.metadata.uid);
    assert.equal(h.pods().length, 2);
    orphan.metadata.labels = { app: 'other' };
    await podsApi.update(orphan);
    await h.settle();
    const released = await podsApi.get('orphan');
    assert.deepEqual(released.metadata.ownerReferences ?? [], []);
    assert.equal(h.pods().filter((p) => p.metadata.labels?.app === 'adopt').length, 2);
  });

  it('availableReplicas waits minReadySeconds', async () => {
    const { h } = setup();
    await h.api.resource<ReplicaSet>('replicasets.apps').create(rs('slow', 1, { minReadySeconds: 5 }));
    await h.settle();
    await h.readyAll();
    await h.settle();
    let cur = h.objects<ReplicaSet>('replicasets.apps').find((r) => r.metadata.name === 'slow');
    assert.equal(cur?.status?.readyReplicas, 1);
    assert.equal(cur?.status?.availableReplicas, 0);
    await h.settle(5200, 200);
    cur = h.objects<ReplicaSet>('replicasets.apps').find((r) => r.metadata.name === 'slow');
    assert.equal(cur?.status?.availableReplicas, 1);
  });
});
