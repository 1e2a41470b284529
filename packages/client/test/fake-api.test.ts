import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigMap, Deployment, Namespace, Pod } from '@kemu/api';
import { KemuError, ManualRuntime } from '@kemu/runtime';
import { RemoteError } from '@kemu/wire';
import {
  ApiError,
  FakeApi,
  failureStatus,
  isBadRequest,
  isConflict,
  isInvalid,
  isNotFound,
  isResourceExpired,
  isRetryable,
  isServiceUnavailable,
  isTimeout,
  toApiError,
  type WatchEvent,
} from '../src/index.js';
import { flush } from './helpers.js';

async function collect<T>(stream: AsyncIterable<WatchEvent<T>>, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const ev of stream) {
    const o = ev.object as { metadata: { name?: string; resourceVersion?: string }; code?: number };
    out.push(
      ev.type === 'ERROR' ? `ERROR ${o.code}` : `${ev.type} ${o.metadata.name ?? ''}@${o.metadata.resourceVersion}`,
    );
    if (out.length === n) break;
  }
  return out;
}

describe('FakeApi', () => {
  it('stamps resourceVersions, refuses stale writes, keeps status on main updates', async () => {
    const api = new FakeApi({ clock: new ManualRuntime(0) });
    const deps = api.resource<Deployment>('deployments.apps', { namespace: 'default' });
    const d = await deps.create({
      metadata: { name: 'web' },
      spec: { replicas: 1, selector: {}, template: { spec: { containers: [] } } },
    });
    assert.equal(d.metadata.resourceVersion, '1');
    assert.equal(d.metadata.generation, 1);
    assert.equal(d.kind, 'Deployment');
    assert.equal(d.apiVersion, 'apps/v1');
    const s = await deps.updateStatus({
      ...d,
      spec: { replicas: 9, selector: {}, template: { spec: { containers: [] } } },
      status: { replicas: 1 },
    });
    assert.equal(s.spec?.replicas, 1, 'status update ignores spec');
    assert.equal(s.status?.replicas, 1);
    const u = await deps.update({
      ...s,
      spec: { replicas: 3, selector: {}, template: { spec: { containers: [] } } },
      status: { replicas: 7 },
    });
    assert.equal(u.status?.replicas, 1, 'main update ignores status');
    assert.equal(u.metadata.generation, 2);
    await assert.rejects(deps.update({ ...d }), isConflict);
    assert.equal(
      (await deps.update({ ...u })).metadata.resourceVersion,
      u.metadata.resourceVersion,
      'no-op write keeps the RV',
    );
    await assert.rejects(
      deps.get('nope'),
      (e: unknown) => isNotFound(e) && (e as ApiError).message === 'deployments.apps "nope" not found',
    );
    await assert.rejects(deps.create({ metadata: {} } as Deployment), isInvalid);
    const gen = await deps.create({ metadata: { generateName: 'web-' } } as Deployment);
    assert.match(gen.metadata.name ?? '', /^web-/);
    await assert.rejects(deps.list({ labelSelector: 'a in (' }), isBadRequest);
  });

  it('finalizers: delete marks, removing the last finalizer deletes', async () => {
    const api = new FakeApi({ clock: new ManualRuntime(1000) });
    const cms = api.resource<ConfigMap>('configmaps', { namespace: 'x' });
    await cms.create({ metadata: { name: 'f', finalizers: ['kemu.io/hold'] } });
    const marked = await cms.delete('f');
    assert.equal(marked.deleted, false);
    const obj = await cms.get('f');
    assert.equal(obj.metadata.deletionTimestamp, '1970-01-01T00:00:01Z');
    await cms.update({ ...obj, metadata: { ...obj.metadata, finalizers: [] } });
    await assert.rejects(cms.get('f'), isNotFound);
    await cms.create({ metadata: { name: 'g' } });
    await assert.rejects(cms.delete('g', { preconditions: { uid: 'other' } }), isConflict);
  });

  it('propagationPolicy adds the garbage collector finalizers; namespaces wait for spec.finalizers (finalize subresource)', async () => {
    const api = new FakeApi({ clock: new ManualRuntime(0) });
    const cms = api.resource<ConfigMap>('configmaps', { namespace: 'default' });
    await cms.create({ metadata: { name: 'fg' } });
    await cms.create({ metadata: { name: 'or' } });
    const fg = await cms.delete('fg', { propagationPolicy: 'Foreground' });
    assert.equal(fg.deleted, false);
    assert.deepEqual(fg.deleted ? [] : fg.object.metadata.finalizers, ['foregroundDeletion']);
    const or = await cms.delete('or', { propagationPolicy: 'Orphan' });
    assert.deepEqual(or.deleted ? [] : or.object.metadata.finalizers, ['orphan']);
    const nss = api.resource<Namespace>('namespaces');
    await nss.create({ metadata: { name: 'x' }, spec: { finalizers: ['kubernetes'] } });
    const pending = await nss.delete('x');
    assert.equal(pending.deleted, false);
    assert.equal(pending.deleted ? '' : pending.object.status?.phase, 'Terminating');
    await assert.rejects(
      cms.update({ metadata: { name: 'fg' } }, { subresource: 'finalize' }),
      /only served for namespaces/,
    );
    const ns = await nss.get('x');
    await nss.update({ ...ns, spec: { finalizers: [] } }, { subresource: 'finalize' });
    await assert.rejects(nss.get('x'), (err: unknown) => isNotFound(err));
  });

  it('watch replays from a resourceVersion, filters by selector, and 410s once history is compacted', async () => {
    const api = new FakeApi({ clock: new ManualRuntime(0), historyLimit: 3 });
    const pods = api.resource<Pod>('pods', { namespace: 'default' });
    const mk = (name: string, app: string): Pod => ({ metadata: { name, labels: { app } }, spec: { containers: [] } });
    await pods.create(mk('a', 'web'));
    await pods.create(mk('b', 'db'));
    const web = pods.watch({ resourceVersion: '0', labelSelector: 'app=web' });
    const fromStart = pods.watch({ resourceVersion: '1' });
    const a = await pods.get('a');
    await pods.update({ ...a, metadata: { ...a.metadata, labels: { app: 'db' } } });
    assert.deepEqual(await collect(web, 2), ['ADDED a@1', 'DELETED a@3'], 'leaving the selection is a DELETED');
    assert.deepEqual(await collect(fromStart, 2), ['ADDED b@2', 'MODIFIED a@3']);
    await pods.create(mk('c', 'web'));
    await pods.create(mk('d', 'web'));
    assert.deepEqual(await collect(pods.watch({ resourceVersion: '1' }), 1), ['ERROR 410']);
    assert.deepEqual(await collect(pods.watch({ resourceVersion: '2' }), 3), [
      'MODIFIED a@3',
      'ADDED c@4',
      'ADDED d@5',
    ]);
    await assert.rejects(pods.list({ limit: 1, continue: '1:default/a' }), isResourceExpired);
    const page = await pods.list({ limit: 2 });
    assert.deepEqual(
      page.items.map((p) => p.metadata.name),
      ['a', 'b'],
    );
    assert.equal(page.remainingItemCount, 2);
    const rest = await pods.list({ limit: 2, continue: page.continue ?? '' });
    assert.deepEqual(
      rest.items.map((p) => p.metadata.name),
      ['c', 'd'],
    );
    assert.equal(rest.continue, undefined);
    await flush();
    assert.equal(api.watchCount, 0, 'broken-off iterations released their watches');
  });

  it('maps transport and remote errors to typed ApiErrors', () => {
    const remote = new RemoteError(
      'API_NOT_FOUND',
      'pods "x" not found',
      'kube-apiserver/a',
      failureStatus(404, 'NotFound', 'pods "x" not found'),
    );
    assert.ok(isNotFound(toApiError(remote)));
    assert.ok(isServiceUnavailable(toApiError(new KemuError('WIRE_DISCONNECTED', 'gone'))));
    assert.ok(isTimeout(toApiError(new KemuError('WIRE_TIMEOUT', 'slow'))));
    assert.ok(isRetryable(toApiError(new KemuError('WIRE_PEER_DEAD', 'dead'))));
    const other = new KemuError('SOMETHING', 'x');
    assert.equal(toApiError(other), other);
    const gone = new ApiError(failureStatus(410, 'Gone', 'continue expired'));
    assert.ok(isResourceExpired(gone));
    assert.equal(gone.code, 'API_GONE');
    assert.equal(new ApiError(failureStatus(503, 'ServiceUnavailable', 'x')).code, 'API_SERVICE_UNAVAILABLE');
  });
});

describe('FakeApi with defaultAndValidate', () => {
  it('defaults, admits and validates like the apiserver', async () => {
    const api = new FakeApi({ clock: new ManualRuntime(0), defaultAndValidate: true });
    const deps = api.resource<Deployment>('deployments.apps', { namespace: 'default' });
    const tpl = { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    const d = await deps.create({
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'w' } }, template: tpl },
    });
    assert.equal(d.spec?.replicas, 1);
    assert.equal(d.spec?.strategy?.type, 'RollingUpdate');
    await assert.rejects(
      deps.update({ ...d, spec: { ...d.spec, replicas: -1, selector: { matchLabels: { app: 'w' } }, template: tpl } }),
      (e: unknown) => isInvalid(e) && /spec\.replicas: Invalid value: -1/.test((e as ApiError).message),
    );
    const pod = await api
      .resource<Pod>('pods', { namespace: 'default' })
      .create({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.equal(pod.status?.phase, 'Pending');
    await assert.rejects(
      api.resource<ConfigMap>('configmaps', { namespace: 'default' }).create({ metadata: { name: 'Bad_Name' } }),
      isInvalid,
    );
  });
});
