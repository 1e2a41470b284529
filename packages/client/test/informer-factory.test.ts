import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '@kemu/api';
import { ManualRuntime, SeededRandom } from '@kemu/runtime';
import { ClientConfigError, FakeApi, fieldIndexFunc, SharedInformerFactory } from '../src/index.js';
import { flush } from './helpers.js';

describe('SharedInformerFactory', () => {
  it('shares one informer per resource and selector, starts late ones, syncs all', async () => {
    const rt = new ManualRuntime(0);
    const api = new FakeApi({ clock: rt });
    await api
      .resource<Pod>('pods', { namespace: 'default' })
      .create({ metadata: { name: 'p' }, spec: { containers: [], nodeName: 'n1' } });
    const factory = new SharedInformerFactory({ api, runtime: rt, random: new SeededRandom(1) });
    const a = factory.forResource<Pod>('pods');
    const b = factory.forResource<Pod>('po', { indexers: { byNode: fieldIndexFunc('spec.nodeName') } });
    assert.equal(a, b, 'same resource, same informer (short name resolved)');
    assert.notEqual(factory.forResource('pods', { labelSelector: 'app=x' }), a);
    assert.throws(() => factory.forResource('widgets'), ClientConfigError);
    factory.start();
    const nodes = factory.forResource('nodes');
    assert.equal(nodes.hasStarted, true);
    assert.equal(await factory.waitForCacheSync({ timeoutMs: 1000 }), true);
    assert.deepEqual(
      a.store.byIndex('byNode', 'n1').map((p) => p.metadata.name),
      ['p'],
    );
    await flush();
    assert.equal(
      api.calls.filter((c) => c.verb === 'list' && c.resource === 'pods').length,
      2,
      'one list per distinct selector',
    );
    await factory.stop();
    assert.equal(api.watchCount, 0);
  });
});
