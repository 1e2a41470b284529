import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { TIMING_PROFILES } from '@kemu/api';
import YAML from 'yaml';
import { clusterAddresses, clusterSlot } from '../src/addresses.js';
import { kubeconfigYaml } from '../src/kubeconfig.js';
import {
  type ClusterSpec,
  MAX_PROCESS_NODES,
  PORT_BLOCK,
  planCluster,
  readClusterFile,
  resolveSpec,
  TopologyError,
} from '../src/topology.js';

const ALL = {
  etcd: true,
  apiserver: true,
  scheduler: true,
  controllerManager: true,
  kubelet: true,
  proxy: true,
  dns: true,
};
const plan = (spec: ClusterSpec, programs: Partial<typeof ALL> = ALL, tolerations = true) =>
  planCluster(spec, { programs: { ...ALL, ...programs }, apiserverTolerationFlags: tolerations, node: 'node' });
const argOf = (argv: string[], flag: string): string | undefined => argv[argv.indexOf(flag) + 1];

test('defaults: the DESIGN.md topology with its ports, names and identities', () => {
  const spec = resolveSpec({}, {}, '/work');
  assert.equal(spec.stateDir, '/work/.kemu');
  const p = plan(spec);
  assert.deepEqual(
    p.components.map((c) => c.name),
    [
      'etcd-0',
      'etcd-1',
      'etcd-2',
      'kube-apiserver',
      'kube-scheduler',
      'kube-controller-manager',
      'cluster-dns',
      'kubelet-control-plane',
      'kube-proxy-control-plane',
      'kubelet-worker-1',
      'kube-proxy-worker-1',
      'kubelet-worker-2',
      'kube-proxy-worker-2',
      'kubelet-worker-3',
      'kube-proxy-worker-3',
    ],
  );
  assert.deepEqual(p.etcdEndpoints, ['ws://127.0.0.1:2379', 'ws://127.0.0.1:2380', 'ws://127.0.0.1:2381']);
  const etcd1 = p.components.find((c) => c.name === 'etcd-1')!;
  assert.deepEqual(etcd1.ports, { client: 2380, admin: 2385 });
  assert.equal(etcd1.identity, 'etcd/etcd-1');
  assert.ok(etcd1.argv.join(' ').includes('--peers etcd-0=ws://127.0.0.1:2379,etcd-1=ws://127.0.0.1:2380'));
  assert.equal(etcd1.dataDir, '/work/.kemu/etcd/etcd-1');
  const api = p.components.find((c) => c.kind === 'kube-apiserver')!;
  assert.deepEqual(api.ports, { http: 2389, wire: 2399, admin: 2409 });
  assert.equal(api.identity, 'kube-apiserver/apiserver-0');
  assert.equal(p.apiserverUrl, 'http://127.0.0.1:2389');
  assert.deepEqual(p.apiserverWireUrls, ['ws://127.0.0.1:2399']);
  // Every component gets the apiserver's wire URL, an admin port and the profile.
  for (const c of p.components.filter((x) => !['etcd', 'kube-apiserver'].includes(x.kind))) {
    assert.equal(argOf(c.argv, '--apiserver'), 'ws://127.0.0.1:2399', c.name);
    assert.equal(argOf(c.argv, '--admin-port'), String(c.ports.admin), c.name);
    if (c.kind !== 'cluster-dns') assert.equal(argOf(c.argv, '--profile'), 'fast', c.name);
  }
  assert.equal(p.nodes.length, 4);
  assert.deepEqual(
    p.nodes.map((n) => [n.name, n.role, n.kubelet, n.simulated]),
    [
      ['control-plane', 'control-plane', 'kubelet-control-plane', false],
      ['worker-1', 'worker', 'kubelet-worker-1', false],
      ['worker-2', 'worker', 'kubelet-worker-2', false],
      ['worker-3', 'worker', 'kubelet-worker-3', false],
    ],
  );
});

test('kubelets: control-plane taint and label, node IP, pod CIDR, ports, static pod dir', () => {
  const p = plan(resolveSpec({ portBase: '40000', stateDir: '/s' }, {}, '/'));
  const cp = p.components.find((c) => c.name === 'kubelet-control-plane')!;
  assert.equal(argOf(cp.argv, '--register-with-taints'), 'node-role.kubernetes.io/control-plane=:NoSchedule');
  assert.equal(argOf(cp.argv, '--node-labels'), 'node-role.kubernetes.io/control-plane=');
  assert.equal(argOf(cp.argv, '--static-pod-dir'), '/s/nodes/control-plane/manifests');
  assert.equal(argOf(cp.argv, '--root-dir'), '/s/nodes/control-plane/kubelet');
  assert.equal(argOf(cp.argv, '--runtime'), 'process');
  const w2 = p.components.find((c) => c.name === 'kubelet-worker-2')!;
  assert.equal(w2.argv.indexOf('--register-with-taints'), -1);
  const n2 = p.nodes.find((n) => n.name === 'worker-2')!;
  assert.equal(argOf(w2.argv, '--node-ip'), n2.ip);
  assert.equal(argOf(w2.argv, '--pod-cidr'), n2.podCidr);
  assert.equal(argOf(w2.argv, '--port'), String(40000 + 50 + 6));
  assert.equal(argOf(w2.argv, '--admin-port'), String(40000 + 50 + 7));
  const proxy = p.components.find((c) => c.name === 'kube-proxy-worker-2')!;
  assert.equal(argOf(proxy.argv, '--node-ip'), n2.ip);
  assert.equal(proxy.ports.admin, 40000 + 50 + 8);
  assert.equal(proxy.identity, 'kube-proxy/worker-2');
  const ips = p.nodes.map((n) => n.ip);
  assert.equal(new Set(ips).size, ips.length);
  const cidrs = p.nodes.map((n) => n.podCidr);
  assert.equal(new Set(cidrs).size, cidrs.length);
});

test('profiles: --profile is passed on, the apiserver gets the profile toleration seconds when its build has the flags', () => {
  for (const profile of ['fast', 'real'] as const) {
    const p = plan(resolveSpec({ profile }, {}, '/x'));
    const api = p.components.find((c) => c.kind === 'kube-apiserver')!;
    const want = String(TIMING_PROFILES[profile].defaultTolerationSeconds);
    assert.equal(argOf(api.argv, '--default-not-ready-toleration-seconds'), want);
    assert.equal(argOf(api.argv, '--default-unreachable-toleration-seconds'), want);
    assert.equal(argOf(p.components.find((c) => c.name === 'kube-scheduler')!.argv, '--profile'), profile);
  }
  const old = plan(resolveSpec({}, {}, '/x'), ALL, false).components.find((c) => c.kind === 'kube-apiserver')!;
  assert.equal(old.argv.indexOf('--default-not-ready-toleration-seconds'), -1);
});

test('--runtime sim: one kubelet simulates every worker; no kube-proxy for simulated nodes', () => {
  const p = plan(resolveSpec({ runtime: 'sim', nodes: '500' }, {}, '/x'));
  const kubelets = p.components.filter((c) => c.kind === 'kubelet');
  assert.deepEqual(
    kubelets.map((c) => c.name),
    ['kubelet-control-plane', 'kubelet-sim'],
  );
  const sim = kubelets[1]!;
  assert.equal(argOf(sim.argv, '--sim-nodes'), '500');
  assert.equal(argOf(sim.argv, '--sim-node-prefix'), 'worker-');
  assert.equal(argOf(sim.argv, '--runtime'), 'sim');
  assert.equal(sim.argv.indexOf('--static-pod-dir'), -1);
  assert.equal(sim.identity, 'kubelet/kubelet-sim');
  assert.equal(argOf(sim.argv, '--node-name'), 'kubelet-sim');
  assert.equal(p.nodes.length, 501);
  assert.ok(p.nodes.slice(1).every((n) => n.simulated && n.kubelet === 'kubelet-sim' && !n.staticPodDir));
  assert.deepEqual(
    p.components.filter((c) => c.kind === 'kube-proxy').map((c) => c.name),
    ['kube-proxy-control-plane'],
  );
  assert.throws(() => resolveSpec({ nodes: String(MAX_PROCESS_NODES) }, {}, '/x'), TopologyError);
});

test('two clusters one port block apart share no port and no address', () => {
  const ports = (base: number) =>
    plan(
      resolveSpec(
        { portBase: String(base), etcd: '5', apiservers: '10', nodes: String(MAX_PROCESS_NODES - 1) },
        {},
        '/x',
      ),
    ).components.flatMap((c) => Object.values(c.ports));
  const a = ports(2379);
  const b = ports(2379 + PORT_BLOCK);
  assert.equal(new Set(a).size, a.length, 'ports unique within a cluster');
  assert.ok(Math.max(...a) < 2379 + PORT_BLOCK && Math.min(...a) >= 2379);
  assert.deepEqual(
    a.filter((p) => b.includes(p)),
    [],
  );
  const ca = clusterAddresses(2379);
  const cb = clusterAddresses(2379 + PORT_BLOCK);
  assert.notEqual(clusterSlot(2379), clusterSlot(2379 + PORT_BLOCK));
  assert.notEqual(ca.serviceCidr, cb.serviceCidr);
  assert.notEqual(ca.nodeIp(0), cb.nodeIp(0));
  assert.notEqual(ca.podCidr(3), cb.podCidr(3));
  assert.match(ca.dnsServiceIp, /^127\./);
});

test('components without a build are listed as not available, with no command line', () => {
  const p = plan(resolveSpec({}, {}, '/x'), { scheduler: false, kubelet: false, apiserver: false });
  const sched = p.components.find((c) => c.name === 'kube-scheduler')!;
  assert.equal(sched.available, false);
  assert.match(sched.reason ?? '', /^not available in this build \(no scheduler\/dist\/src\/main\.js\)$/);
  assert.deepEqual(sched.argv, []);
  assert.ok(p.components.filter((c) => c.kind === 'kubelet').every((c) => !c.available));
  assert.equal(p.apiserverUrl, undefined);
  assert.deepEqual(p.apiserverWireUrls, []);
});

test('several apiservers: kube-apiserver-<i>, every component gets every wire URL', () => {
  const p = plan(resolveSpec({ apiservers: '2' }, {}, '/x'));
  assert.deepEqual(
    p.components.filter((c) => c.kind === 'kube-apiserver').map((c) => c.name),
    ['kube-apiserver-0', 'kube-apiserver-1'],
  );
  const sched = p.components.find((c) => c.name === 'kube-scheduler')!;
  assert.equal(argOf(sched.argv, '--apiserver'), 'ws://127.0.0.1:2399,ws://127.0.0.1:2400');
});

test('bad values are typed errors', () => {
  for (const bad of [
    { etcd: '2' },
    { etcd: '7' },
    { portBase: 'x' },
    { portBase: '65500' },
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

test('addresses: the default cluster is slot 0 (127.96.0.0/16), eight neighbouring blocks get eight slots', () => {
  const a = clusterAddresses(2379);
  assert.equal(a.serviceCidr, '127.96.0.0/16');
  assert.equal(a.dnsServiceIp, '127.96.0.10');
  assert.equal(a.nodeIp(0), '127.104.0.10');
  assert.equal(a.nodeIp(241), '127.104.1.11');
  assert.equal(a.podCidr(3), '127.128.3.0/24');
  const slots = Array.from({ length: 8 }, (_, i) => clusterSlot(2379 + i * PORT_BLOCK));
  assert.deepEqual(slots, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(clusterSlot(2379 - 7 * PORT_BLOCK), 1, 'bases below the default wrap around');
});

test('cluster DNS: listens in the block and, when its build knows --cluster-ip, keeps the kube-dns Service', () => {
  const p = planCluster(resolveSpec({}, {}, '/x'), { programs: ALL, dnsClusterIpFlag: true, node: 'node' });
  const dns = p.components.find((c) => c.name === 'cluster-dns')!;
  assert.equal(argOf(dns.argv, '--listen'), '127.0.0.1:2422');
  assert.equal(argOf(dns.argv, '--cluster-ip'), '127.96.0.10');
  assert.equal(dns.identity, 'cluster-dns/cluster-dns');
  const old = planCluster(resolveSpec({}, {}, '/x'), { programs: ALL, dnsClusterIpFlag: false, node: 'node' });
  assert.equal(old.components.find((c) => c.name === 'cluster-dns')!.argv.indexOf('--cluster-ip'), -1);
});
