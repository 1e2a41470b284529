import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, Pod } from '@kemu/api';
import { podGcController } from '../src/controllers/podgc.js';
import { harness, until } from './harness.js';

const pod = (name: string, nodeName: string, finalizers?: string[]): Pod => ({
  metadata: { name, namespace: 'default', ...(finalizers ? { finalizers } : {}) },
  spec: { nodeName, containers: [] },
  status: { phase: 'Running' },
});

describe('podgc', () => {
  it('force-deletes pods of vanished nodes after the quarantine, and terminating pods on NotReady nodes after the threshold', async () => {
    const h = harness(); // fast profile: threshold 5 s
    const nodes = h.api.resource<Node>('nodes');
    const pods = h.api.resource<Pod>('pods', { namespace: 'default' });
    await nodes.create({ metadata: { name: 'alive' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    await nodes.create({ metadata: { name: 'dead' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } });
    await pods.create(pod('on-missing', 'gone-node'));
    await pods.create(pod('on-alive', 'alive'));
    await pods.create(pod('stuck', 'dead', ['hold']));
    await pods.create(pod('stuck-on-alive', 'alive', ['hold']));
    await pods.create({
      metadata: { name: 'unbound', namespace: 'default', finalizers: ['hold'] },
      spec: { containers: [] },
    });
    for (const n of ['stuck', 'stuck-on-alive', 'unbound']) await pods.delete(n);
    const deletes = () => h.api.calls.filter((c) => c.verb === 'delete' && c.resource === 'pods').map((c) => c.name);
    const before = deletes().length;
    await h.start(podGcController);
    await until(() => deletes().slice(before).includes('unbound'), 'unbound terminating pod force-deleted');
    await h.advance(4000);
    assert.ok(
      (await pods.list()).items.some((p) => p.metadata.name === 'on-missing'),
      'still quarantined',
    );
    assert.ok(!deletes().slice(before).includes('stuck'), 'not before the threshold');
    await h.advance(2500);
    await until(
      async () => !(await pods.list()).items.some((p) => p.metadata.name === 'on-missing'),
      'orphan collected',
    );
    assert.ok(deletes().slice(before).includes('stuck'));
    assert.ok(!deletes().slice(before).includes('stuck-on-alive'), 'Ready node: left to its kubelet');
    assert.ok(!deletes().slice(before).includes('on-alive'));
    await h.stop();
  });
});
