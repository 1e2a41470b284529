import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { kubeconfigYaml } from '../src/kubeconfig.js';
import { planCluster, readClusterFile, resolveSpec, TopologyError } from '../src/topology.js';

test('defaults: 3 etcd members, ports in the block, missing components listed', () => {
  const spec = resolveSpec({}, {}, '/work');
  assert.equal(spec.stateDir, '/work/.kemu');
  const plan = planCluster(spec, { apiserverAvailable: true, node: 'node' });
  assert.deepEqual(plan.etcdEndpoints, ['ws://127.0.0.1:2379', 'ws://127.0.0.1:2380', 'ws://127.0.0.1:2381']);
  const etcd1 = plan.components.find((c) => c.name === 'etcd-1')!;
  assert.deepEqual(etcd1.ports, { client: 2380, admin: 2390 });
  assert.ok(etcd1.argv.join(' ').includes('--peers etcd-0=ws://127.0.0.1:2379,etcd-1=ws://127.0.0.1:2380'));
  assert.equal(etcd1.dataDir, '/work/.kemu/etcd/etcd-1');
  const api = plan.components.find((c) => c.kind === 'kube-apiserver')!;
  assert.deepEqual(api.ports, { http: 2399, wire: 2409, admin: 2419 });
  assert.equal(plan.apiserverUrl, 'http://127.0.0.1:2399');
  const missing = plan.components.filter((c) => !c.available).map((c) => c.name);
  assert.ok(
    missing.includes('scheduler') &&
      missing.includes('kubelet-worker-3') &&
      missing.includes('kube-proxy-control-plane'),
  );
  assert.ok(plan.components.filter((c) => !c.available).every((c) => c.reason === 'not available in this build'));
});

test('two clusters with different port bases share no port', () => {
  const ports = (base: number) =>
    planCluster(resolveSpec({ portBase: String(base), etcd: '5', apiservers: '3' }, {}, '/x'), {
      apiserverAvailable: true,
    }).components.flatMap((c) => Object.values(c.ports));
  const a = ports(2379);
  const b = ports(2379 + 50);
  assert.equal(new Set(a).size, a.length);
  assert.deepEqual(
    a.filter((p) => b.includes(p)),
    [],
  );
});

test('an apiserver without a build is listed as not available, and there is no kubeconfig server', () => {
  const plan = planCluster(resolveSpec({}, {}, '/x'), { apiserverAvailable: false });
  const api = plan.components.find((c) => c.kind === 'kube-apiserver')!;
  assert.equal(api.available, false);
  assert.match(api.reason ?? '', /not available in this build/);
  assert.equal(plan.apiserverUrl, undefined);
});

test('bad values are typed errors', () => {
  for (const bad of [
    { etcd: '2' },
    { etcd: '7' },
    { portBase: 'x' },
    { runtime: 'docker' },
    { profile: 'slow' },
    { nodes: '-1' },
  ]) {
    assert.throws(
      () => resolveSpec(bad, {}, '/x'),
      (e: unknown) => e instanceof TopologyError && e.code === 'KEMU_BAD_TOPOLOGY',
    );
  }
});

test('a cluster YAML fills what flags leave unset; unknown keys are refused', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-topo-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(file, 'etcd: 5\nportBase: 40000\nnodes: 1\nprofile: real\n');
  const spec = resolveSpec({ nodes: '2' }, readClusterFile(file), dir);
  assert.equal(spec.etcd, 5);
  assert.equal(spec.portBase, 40000);
  assert.equal(spec.nodes, 2);
  assert.equal(spec.profile, 'real');
  fs.writeFileSync(file, 'etcdd: 3\n');
  assert.throws(() => readClusterFile(file), /unknown key 'etcdd'/);
  fs.writeFileSync(file, '- a\n');
  assert.throws(() => readClusterFile(file), TopologyError);
});

test('kubeconfig: cluster kemu, user kemu-admin, http server, insecure-skip-tls-verify', () => {
  const doc = YAML.parse(kubeconfigYaml('http://127.0.0.1:6443')) as Record<string, unknown>;
  assert.equal(doc['current-context'], 'kemu');
  assert.deepEqual(doc.clusters, [
    { name: 'kemu', cluster: { server: 'http://127.0.0.1:6443', 'insecure-skip-tls-verify': true } },
  ]);
  assert.deepEqual(doc.users, [{ name: 'kemu-admin', user: {} }]);
});
