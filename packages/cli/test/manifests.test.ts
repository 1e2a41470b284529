import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import {
  LOG_FILE_ANNOTATION,
  MANAGED_ANNOTATION,
  PID_FILE_ANNOTATION,
  writeStaticManifests,
} from '../src/manifests.js';
import { pidFileOf, planCluster, resolveSpec } from '../src/topology.js';

const ALL = {
  etcd: true,
  apiserver: true,
  scheduler: true,
  controllerManager: true,
  kubelet: true,
  proxy: true,
  dns: true,
};

interface Pod {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { hostNetwork: boolean; priorityClassName: string; containers: Array<{ image: string; command: string[] }> };
}

test('static manifests: kubeadm-like control-plane pods on the control plane, kube-proxy on every node', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-manifests-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const plan = planCluster(resolveSpec({ stateDir: dir, nodes: '2' }, {}, '/'), { programs: ALL, node: 'node' });
  // A file of the user's stays; a stale one of ours (etcd-4 from a bigger topology) goes.
  const cpDir = path.join(dir, 'nodes', 'control-plane', 'manifests');
  fs.mkdirSync(cpDir, { recursive: true });
  fs.writeFileSync(path.join(cpDir, 'mine.yaml'), 'apiVersion: v1\nkind: Pod\n');
  fs.writeFileSync(path.join(cpDir, 'etcd-4.yaml'), `metadata:\n  annotations:\n    ${MANAGED_ANNOTATION}: kemu\n`);
  writeStaticManifests(plan);
  assert.deepEqual(fs.readdirSync(cpDir).sort(), [
    'coredns.yaml',
    'etcd-0.yaml',
    'etcd-1.yaml',
    'etcd-2.yaml',
    'kube-apiserver.yaml',
    'kube-controller-manager.yaml',
    'kube-proxy.yaml',
    'kube-scheduler.yaml',
    'mine.yaml',
  ]);
  for (const w of ['worker-1', 'worker-2']) {
    assert.deepEqual(fs.readdirSync(path.join(dir, 'nodes', w, 'manifests')), ['kube-proxy.yaml']);
  }
  const read = (node: string, f: string): Pod =>
    YAML.parse(fs.readFileSync(path.join(dir, 'nodes', node, 'manifests', f), 'utf8')) as Pod;
  const sched = read('control-plane', 'kube-scheduler.yaml');
  assert.equal(sched.metadata.name, 'kube-scheduler');
  assert.equal(sched.metadata.namespace, 'kube-system');
  assert.deepEqual(sched.metadata.labels, { component: 'kube-scheduler', tier: 'control-plane' });
  assert.equal(sched.metadata.annotations[PID_FILE_ANNOTATION], pidFileOf(dir, 'kube-scheduler'));
  assert.ok(path.isAbsolute(sched.metadata.annotations[PID_FILE_ANNOTATION]!));
  assert.equal(sched.metadata.annotations[LOG_FILE_ANNOTATION], path.join(dir, 'logs', 'kube-scheduler.log'));
  assert.equal(sched.spec.hostNetwork, true);
  assert.equal(sched.spec.priorityClassName, 'system-node-critical');
  assert.equal(sched.spec.containers[0]?.image, 'registry.k8s.io/kube-scheduler:v1.32.0');
  const etcd = read('control-plane', 'etcd-1.yaml');
  assert.deepEqual(etcd.metadata.labels, { component: 'etcd', tier: 'control-plane' });
  assert.equal(etcd.metadata.annotations[PID_FILE_ANNOTATION], path.join(dir, 'run', 'etcd-1.pid'));
  const proxy = read('worker-2', 'kube-proxy.yaml');
  assert.equal(proxy.metadata.annotations[PID_FILE_ANNOTATION], path.join(dir, 'run', 'kube-proxy-worker-2.pid'));
  assert.equal(proxy.metadata.labels['k8s-app'], 'kube-proxy');
});

test('no manifest for a component this build lacks', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-manifests-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const plan = planCluster(resolveSpec({ stateDir: dir, nodes: '1' }, {}, '/'), {
    programs: { ...ALL, scheduler: false, proxy: false },
    node: 'node',
  });
  writeStaticManifests(plan);
  const files = fs.readdirSync(path.join(dir, 'nodes', 'control-plane', 'manifests'));
  assert.ok(!files.includes('kube-scheduler.yaml') && !files.includes('kube-proxy.yaml'));
  assert.ok(files.includes('kube-apiserver.yaml'));
});
