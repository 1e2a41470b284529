import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Namespace, ServiceAccount } from '@kemu/api';
import { serviceAccountController } from '../src/controllers/serviceaccount.js';
import { harness, until } from './harness.js';

describe('serviceaccount controller', () => {
  it('creates default in every active namespace and recreates it when deleted', async () => {
    const h = harness();
    const nss = h.api.resource<Namespace>('namespaces');
    await nss.create({ metadata: { name: 'a' }, status: { phase: 'Active' } });
    await h.start(serviceAccountController);
    const sas = (ns: string) => h.api.resource<ServiceAccount>('serviceaccounts', { namespace: ns });
    await until(async () => (await sas('a').list()).items.length === 1, 'default in a');
    await nss.create({ metadata: { name: 'b' }, status: { phase: 'Active' } });
    await until(async () => (await sas('b').list()).items.some((s) => s.metadata.name === 'default'), 'default in b');
    await sas('b').delete('default');
    await until(async () => (await sas('b').list()).items.length === 1, 'default recreated');
    await nss.create({
      metadata: { name: 'gone', deletionTimestamp: '2026-01-01T00:00:00Z' },
      status: { phase: 'Terminating' },
    });
    await h.settle(50);
    assert.equal((await sas('gone').list()).items.length, 0, 'no account in a terminating namespace');
    await h.stop();
  });
});
