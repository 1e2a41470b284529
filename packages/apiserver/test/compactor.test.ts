import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EtcdClient } from '@kemu/etcd';
import { silentLogger } from '@kemu/runtime';
import { Compactor } from '../src/storage/compactor.js';

test('each tick compacts to the revision seen one interval earlier; refusals are ignored', async () => {
  const compacted: number[] = [];
  let revision = 100;
  const etcd = {
    range: async () => ({ header: { revision } }),
    compact: async (rev: number) => {
      if (compacted.includes(rev))
        throw Object.assign(new Error('mvcc: required revision has been compacted'), { code: 'ETCD_COMPACTED' });
      compacted.push(rev);
    },
  } as unknown as EtcdClient;
  const c = new Compactor(etcd, 1000, silentLogger(), { setInterval: () => ({ cancel() {} }) } as never);
  await c.tick();
  assert.deepEqual(compacted, [], 'nothing to compact on the first tick');
  revision = 250;
  await c.tick();
  assert.deepEqual(compacted, [100]);
  revision = 260;
  await c.tick();
  assert.deepEqual(compacted, [100, 250]);
});
