// ObjectStore over a scripted stand-in for the etcd client: CAS outcomes, Status errors, and writes
// whose outcome etcd left unknown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '@kemu/api';
import type { CasResult, EtcdClient, KeyValue } from '@kemu/etcd';
import { KemuError } from '@kemu/runtime';
import { ApiStatusError } from '../src/errors.js';
import { encodeObject } from '../src/storage/codec.js';
import { ObjectStore } from '../src/storage/store.js';

const gr = { group: '', resource: 'configmaps' };
const key = '/registry/configmaps/default/c';
const cm = (data: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'default', uid: 'u1' },
    data: { d: data },
  }) as KubeObject;

class Unknown extends KemuError {
  constructor() {
    super('ETCD_UNAVAILABLE', 'etcd client: connection to ws://x lost after sending; result unknown');
  }
}

/** A key-value map with revisions; `failNext` makes the next write apply (or not) and then fail. */
class ScriptedEtcd {
  rev = 10;
  value: KeyValue | undefined;
  failNext: 'applied' | 'not-applied' | undefined;
  writes = 0;

  async get(): Promise<KeyValue | undefined> {
    return this.value;
  }

  async putIfModRevision(k: string, v: Uint8Array, modRevision: number): Promise<CasResult> {
    this.writes++;
    const current = this.value?.modRevision ?? 0;
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail === 'not-applied') throw new Unknown();
    if (current !== modRevision)
      return this.value
        ? { succeeded: false, revision: this.rev, current: this.value }
        : { succeeded: false, revision: this.rev };
    this.rev++;
    this.value = {
      key: new TextEncoder().encode(k),
      value: v,
      modRevision: this.rev,
      createRevision: this.rev,
      version: 1,
      lease: 0,
    };
    if (fail === 'applied') throw new Unknown();
    return { succeeded: true, revision: this.rev };
  }

  async deleteIfModRevision(_k: string, modRevision: number): Promise<CasResult> {
    this.writes++;
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail === 'not-applied') throw new Unknown();
    if (!this.value) return { succeeded: false, revision: this.rev };
    if (this.value.modRevision !== modRevision) return { succeeded: false, revision: this.rev, current: this.value };
    this.rev++;
    this.value = undefined;
    if (fail === 'applied') throw new Unknown();
    return { succeeded: true, revision: this.rev };
  }
}

function setup() {
  const etcd = new ScriptedEtcd();
  return { etcd, store: new ObjectStore(etcd as unknown as EtcdClient) };
}

const reason = (r: string) => (err: unknown) => err instanceof ApiStatusError && err.status.reason === r;

test('create, AlreadyExists, update CAS Conflict with the real message, NotFound after delete', async () => {
  const { store } = setup();
  const created = await store.create(key, cm('a'), gr);
  assert.equal(created.metadata.resourceVersion, '11');
  await assert.rejects(store.create(key, cm('b'), gr), reason('AlreadyExists'));
  await assert.rejects(store.update(key, cm('b'), 5, gr), (err: unknown) => {
    return (
      err instanceof ApiStatusError &&
      err.status.code === 409 &&
      err.status.message ===
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again'
    );
  });
  const updated = await store.update(key, cm('b'), 11, gr);
  assert.equal(updated.metadata.resourceVersion, '12');
  assert.equal((await store.get(key))?.metadata.resourceVersion, '12', 'resourceVersion comes from the mod revision');
  await store.delete(key, 12, gr, 'c');
  await assert.rejects(store.update(key, cm('c'), 12, gr), reason('NotFound'));
});

test('a write whose outcome is unknown is read back: applied counts as success, not applied is retried', async () => {
  const { etcd, store } = setup();
  etcd.failNext = 'applied';
  assert.equal((await store.create(key, cm('a'), gr)).metadata.resourceVersion, '11');
  assert.equal(etcd.writes, 1, 'no second create once the read-back shows ours');
  etcd.failNext = 'not-applied';
  assert.equal((await store.update(key, cm('b'), 11, gr)).metadata.resourceVersion, '12');
  assert.equal(etcd.writes, 3, 'retried once after the read-back showed the old revision');
  etcd.failNext = 'applied';
  assert.equal((await store.update(key, cm('c'), 12, gr)).metadata.resourceVersion, '13');
  etcd.failNext = 'applied';
  await store.delete(key, 13, gr, 'c');
  assert.equal(etcd.value, undefined);
});

test("an unknown outcome that turns out to be someone else's write is a conflict, not a success", async () => {
  const { etcd, store } = setup();
  await store.create(key, cm('a'), gr);
  // Our write is lost; meanwhile another writer changed the object.
  const original = etcd.putIfModRevision.bind(etcd);
  etcd.putIfModRevision = async (k, _ours, rev) => {
    etcd.putIfModRevision = original;
    await original(k, encodeObject(cm('theirs')), rev);
    throw new Unknown();
  };
  await assert.rejects(store.update(key, cm('mine'), 11, gr), reason('Conflict'));
});
