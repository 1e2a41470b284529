// The infrastructure controllers across real processes (etcd + kube-apiserver + kube-controller-manager),
// driven with the real kubectl: namespace deletion, garbage collection cascades, Endpoints and
// EndpointSlices following pod readiness, the default ServiceAccount, PVC provisioning and binding.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type {
  ConfigMap,
  EndpointSlice,
  Endpoints,
  Namespace,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
} from '@kemu/api';
import type { WireApiClient } from '@kemu/client';
import { TestCluster } from '@kemu/testkit';
import { connectApi, startControllerManager, waitFor } from './helpers/cluster.js';

describe('infrastructure controllers (cross-process)', () => {
  let c: TestCluster;
  let api: WireApiClient;
  let close: () => Promise<void>;
  let pvRoot = '';

  before(async () => {
    c = await TestCluster.start({ etcd: 1 });
    ({ api, close } = await connectApi(c));
    pvRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-cm-pv-'));
    startControllerManager(c, ['*'], ['--pv-host-path-dir', pvRoot]);
  });
  after(async () => {
    await close?.();
    await c?.destroy();
    if (pvRoot !== '') fs.rmSync(pvRoot, { recursive: true, force: true });
  });
  const fail = (err: unknown): never => {
    throw new Error(`${(err as Error).message}\n${c.dumpLogs(40)}`);
  };
  const apply = (obj: unknown) => c.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const cm = (name: string, ns: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, ...extra },
  });

  it('kubectl delete namespace empties it, reports conditions while content remains, and returns once it is gone', async () => {
    try {
      await c.k(['create', 'namespace', 'doomed']);
      await waitFor(
        'default ServiceAccount in the new namespace',
        async () => (await c.kubectl(['get', 'sa', 'default', '-n', 'doomed'])).code === 0,
      );
      await apply(cm('plain', 'doomed'));
      await apply(cm('held', 'doomed', { finalizers: ['example.com/hold'] }));
      await apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's', namespace: 'doomed' },
        stringData: { a: 'b' },
      });
      await apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'svc', namespace: 'doomed' },
        spec: { selector: { app: 'x' }, ports: [{ port: 80 }] },
      });
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'doomed' },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      });
      await c.k(['delete', 'namespace', 'doomed', '--wait=false']);
      const ns = await waitFor('NamespaceContentRemaining on the held configmap', async () => {
        const n = await c.getJson<Namespace>(['namespace', 'doomed']);
        const cond = n.status?.conditions?.find((x) => x.type === 'NamespaceFinalizersRemaining');
        return cond?.status === 'True' ? n : undefined;
      });
      assert.equal(ns.status?.phase, 'Terminating');
      const cond = (t: string) => ns.status?.conditions?.find((x) => x.type === t);
      assert.equal(
        cond('NamespaceContentRemaining')?.message,
        'Some resources are remaining: configmaps has 1 resource instances',
      );
      assert.equal(
        cond('NamespaceFinalizersRemaining')?.message,
        'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
      );
      assert.equal(cond('NamespaceDeletionDiscoveryFailure')?.status, 'False');
      const left = await c.k(['get', 'all,configmaps,secrets,serviceaccounts', '-n', 'doomed', '-o', 'name']);
      assert.deepEqual(left.trim().split('\n'), ['configmap/held']);
      await c.k([
        'patch',
        'configmap',
        'held',
        '-n',
        'doomed',
        '--type=merge',
        '-p',
        '{"metadata":{"finalizers":null}}',
      ]);
      await c.k(['wait', '--for=delete', 'namespace/doomed', '--timeout=30s']);

      // The plain case: kubectl delete namespace blocks until the namespace is gone.
      await c.k(['create', 'namespace', 'quick']);
      await apply(cm('a', 'quick'));
      await c.k(['delete', 'namespace', 'quick', '--timeout=30s']);
      const r = await c.kubectl(['get', 'namespace', 'quick']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /namespaces "quick" not found/);
    } catch (err) {
      fail(err);
    }
  });

  it('kubectl delete --cascade=foreground|orphan|background', async () => {
    try {
      await c.k(['create', 'namespace', 'gc']);
      const cms = api.resource<ConfigMap>('configmaps', { namespace: 'gc' });
      const family = async (owner: string, holdFirst = false) => {
        await apply(cm(owner, 'gc'));
        const o = await cms.get(owner);
        const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: o.metadata.uid, blockOwnerDeletion: true };
        await apply(
          cm(`${owner}-dep-1`, 'gc', {
            ownerReferences: [ref],
            ...(holdFirst ? { finalizers: ['example.com/hold'] } : {}),
          }),
        );
        await apply(cm(`${owner}-dep-2`, 'gc', { ownerReferences: [ref] }));
      };
      const names = async () => (await cms.list()).items.map((x) => x.metadata.name).sort();

      // Foreground: the owner waits (foregroundDeletion finalizer) until its blocking dependents are gone.
      await family('fg', true);
      await c.k(['delete', 'configmap', 'fg', '-n', 'gc', '--cascade=foreground', '--wait=false']);
      await waitFor('fg-dep-2 deleted, fg-dep-1 held', async () => (await names()).join() === 'fg,fg-dep-1');
      const waiting = await cms.get('fg');
      assert.ok(waiting.metadata.deletionTimestamp);
      assert.deepEqual(waiting.metadata.finalizers, ['foregroundDeletion']);
      await c.k([
        'patch',
        'configmap',
        'fg-dep-1',
        '-n',
        'gc',
        '--type=merge',
        '-p',
        '{"metadata":{"finalizers":null}}',
      ]);
      await waitFor('owner removed after its dependents', async () => (await names()).length === 0);

      // Foreground with kubectl waiting: when it returns, the dependents are already gone.
      await family('fg2');
      await c.k(['delete', 'configmap', 'fg2', '-n', 'gc', '--cascade=foreground', '--timeout=30s']);
      assert.deepEqual(await names(), []);

      // Orphan: the owner goes, the dependents stay without the reference.
      await family('or');
      await c.k(['delete', 'configmap', 'or', '-n', 'gc', '--cascade=orphan', '--timeout=30s']);
      assert.deepEqual(await names(), ['or-dep-1', 'or-dep-2']);
      for (const d of (await cms.list()).items) assert.equal(d.metadata.ownerReferences, undefined);
      for (const d of ['or-dep-1', 'or-dep-2']) await c.k(['delete', 'configmap', d, '-n', 'gc']);

      // Background (kubectl's default): the owner goes at once, the collector deletes the dependents.
      await family('bg');
      await c.k(['delete', 'configmap', 'bg', '-n', 'gc']);
      await waitFor('background dependents collected', async () => (await names()).length === 0);
    } catch (err) {
      fail(err);
    }
  });

  it('Endpoints and EndpointSlices follow pod readiness', async () => {
    try {
      await c.k(['create', 'namespace', 'ep']);
      await apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'ep' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      });
      const pods = api.resource<Pod>('pods', { namespace: 'ep' });
      const setReady = async (name: string, ip: string, ready: boolean) => {
        const p = await pods.get(name);
        await pods.updateStatus({
          ...p,
          status: {
            ...p.status,
            phase: 'Running',
            podIP: ip,
            conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
          },
        });
      };
      for (const [i, name] of ['w-1', 'w-2'].entries()) {
        await pods.create({
          metadata: { name, labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        });
        await setReady(name, `10.244.1.${i + 1}`, true);
      }
      const endpoints = () => c.getJson<Endpoints>(['endpoints', 'web', '-n', 'ep']);
      const ips = (ep: Endpoints, k: 'addresses' | 'notReadyAddresses') =>
        (ep.subsets ?? [])
          .flatMap((s) => (s[k] ?? []).map((a) => a.ip))
          .sort()
          .join(',');
      await waitFor(
        'both pods ready in Endpoints',
        async () => ips(await endpoints(), 'addresses') === '10.244.1.1,10.244.1.2',
      );
      const ep = await endpoints();
      assert.deepEqual(ep.subsets?.[0]?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      assert.ok(ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);
      await setReady('w-1', '10.244.1.1', false);
      await waitFor('w-1 moved to notReadyAddresses', async () => {
        const e = await endpoints();
        return ips(e, 'addresses') === '10.244.1.2' && ips(e, 'notReadyAddresses') === '10.244.1.1';
      });
      const slices = await waitFor('the slice shows w-1 not ready', async () => {
        const list = await c.getJson<{ items: EndpointSlice[] }>([
          'endpointslices',
          '-n',
          'ep',
          '-l',
          'kubernetes.io/service-name=web',
        ]);
        const e1 = list.items[0]?.endpoints.find((e) => e.addresses[0] === '10.244.1.1');
        return list.items.length === 1 && e1?.conditions?.ready === false ? list : undefined;
      });
      const slice = slices.items[0];
      assert.equal(
        slice?.metadata.labels?.['endpointslice.kubernetes.io/managed-by'],
        'endpointslice-controller.k8s.io',
      );
      assert.deepEqual(slice?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      await c.k(['delete', 'pod', 'w-2', '-n', 'ep']);
      await waitFor('deleted pod leaves Endpoints', async () => ips(await endpoints(), 'addresses') === '');
      await c.k(['delete', 'service', 'web', '-n', 'ep']);
      await waitFor('Endpoints and slices deleted with the service', async () => {
        const e = await c.kubectl(['get', 'endpoints,endpointslices', '-n', 'ep', '-o', 'name']);
        return e.code === 0 && e.stdout.trim() === '';
      });
    } catch (err) {
      fail(err);
    }
  });

  it('a PVC of the default class gets a provisioned hostPath volume, bound both ways, deleted with the claim', async () => {
    try {
      await c.k(['create', 'namespace', 'pv']);
      await apply({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: 'pv' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
      const pvc = await waitFor('claim Bound', async () => {
        const p = await c.getJson<PersistentVolumeClaim>(['pvc', 'data', '-n', 'pv']);
        return p.status?.phase === 'Bound' ? p : undefined;
      });
      const pvName = `pvc-${pvc.metadata.uid}`;
      assert.equal(pvc.spec?.volumeName, pvName);
      assert.equal(pvc.spec?.storageClassName, 'standard');
      assert.match(
        await c.k(['get', 'storageclass']),
        /standard \(default\)\s+kemu\.dev\/hostpath\s+Delete\s+Immediate/,
      );
      const pv = await c.getJson<PersistentVolume>(['pv', pvName]);
      assert.equal(pv.status?.phase, 'Bound');
      assert.equal(pv.spec?.claimRef?.name, 'data');
      const dir = pv.spec?.hostPath?.path ?? '';
      assert.equal(dir, path.join(pvRoot, pvName), '--pv-host-path-dir');
      assert.ok(fs.existsSync(dir), `${dir} exists`);
      await c.k(['delete', 'pvc', 'data', '-n', 'pv']);
      await waitFor('volume deleted with the claim', async () => (await c.kubectl(['get', 'pv', pvName])).code !== 0);
      assert.ok(!fs.existsSync(dir), `${dir} removed`);
    } catch (err) {
      fail(err);
    }
  });
});
