import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { DaemonSet, Node, Pod } from '@kemu/api';
import { DaemonSetController, targetNode } from '../src/controllers/daemonset.js';
import { nodeMatchesPod, tolerates } from '../src/workload/node-fit.js';
import { Harness } from './helpers/harness.js';

function ds(name: string, spec: Partial<DaemonSet['spec']> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'agent:1' }] } },
      ...spec,
    },
  };
}

function node(name: string, labels: Record<string, string> = {}, taints: Node['spec'] = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: taints,
  };
}

describe('node fit', () => {
  it('tolerations and node affinity like upstream', () => {
    assert.equal(tolerates({ operator: 'Exists' }, { key: 'a', effect: 'NoSchedule' }), true);
    assert.equal(
      tolerates(
        { key: 'a', operator: 'Equal', value: 'x', effect: 'NoSchedule' },
        { key: 'a', value: 'y', effect: 'NoSchedule' },
      ),
      false,
    );
    assert.equal(tolerates({ key: 'a', operator: 'Exists' }, { key: 'a', value: 'y', effect: 'NoExecute' }), true);
    const spec = {
      containers: [],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a'] }] }],
          },
        },
      },
    };
    assert.equal(nodeMatchesPod(spec, node('n1', { zone: 'a' })), true);
    assert.equal(nodeMatchesPod(spec, node('n1', { zone: 'b' })), false);
    assert.equal(nodeMatchesPod({ containers: [], nodeSelector: { disk: 'ssd' } }, node('n1', { disk: 'ssd' })), true);
  });
});

describe('DaemonSet controller', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });
  const setup = async (nodes: Node[]) => {
    const h = new Harness();
    harnesses.push(h);
    for (const n of nodes) await h.api.resource<Node>('nodes').create(n);
    h.start(new DaemonSetController(h.ctx).run());
    return h;
  };
  const api = (h: Harness) => h.api.resource<DaemonSet>('daemonsets.apps', { namespace: 'kube-system' });
  const live = (h: Harness) => h.pods('kube-system').filter((p) => !p.metadata.deletionTimestamp);

  it('one pod per eligible node, pinned by matchFields, default tolerations, not on a tainted control plane', async () => {
    const h = await setup([
      node('w1'),
      node('w2'),
      node('cp', {}, { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
      node(
        'cordoned',
        {},
        { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] },
      ),
    ]);
    await api(h).create(ds('agent'));
    await h.settle();
    const pods = live(h);
    assert.deepEqual(pods.map(targetNode).sort(), ['cordoned', 'w1', 'w2']);
    const p = pods[0] as Pod;
    assert.equal(p.spec.nodeName, undefined, 'the scheduler binds it');
    const terms = p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    assert.equal(terms?.length, 1);
    assert.equal(terms?.[0]?.matchFields?.[0]?.key, 'metadata.name');
    const keys = (p.spec.tolerations ?? []).map((t) => `${t.key}:${t.effect}`).sort();
    assert.deepEqual(keys, [
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/pid-pressure:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
    assert.ok(p.metadata.labels?.['controller-revision-hash']);
    const s = (await api(h).get('agent')).status;
    assert.equal(s?.desiredNumberScheduled, 3);
    assert.equal(s?.currentNumberScheduled, 3);
    // a new node gets a pod; a node that stops matching the nodeSelector loses it
    await h.api.resource<Node>('nodes').create(node('w3'));
    await h.settle();
    assert.equal(live(h).length, 4);
  });

  it('nodeSelector, and rolling update within maxUnavailable', async () => {
    const h = await setup([node('a', { role: 'x' }), node('b', { role: 'x' }), node('c', { role: 'x' }), node('d')]);
    await api(h).create(
      ds('sel', {
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: { app: 'sel' } },
          spec: { nodeSelector: { role: 'x' }, containers: [{ name: 'c', image: 'agent:1' }] },
        },
      }),
    );
    await h.settle();
    assert.deepEqual(live(h).map(targetNode).sort(), ['a', 'b', 'c']);
    for (const p of live(h)) await h.setPodPhase(p, 'Running', true, targetNode(p));
    await h.settle();
    const cur = await api(h).get('sel');
    cur.spec.template.spec.containers[0] = { name: 'c', image: 'agent:2' };
    await api(h).update(cur);
    let maxUnavailable = 0;
    for (let i = 0; i < 12; i++) {
      await h.settle();
      const pods = live(h);
      const ready = pods.filter((p) =>
        (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      maxUnavailable = Math.max(maxUnavailable, 3 - ready.length);
      const pending = pods.find((p) => !ready.includes(p));
      if (pending) await h.setPodPhase(pending, 'Running', true, targetNode(pending));
    }
    assert.ok(maxUnavailable <= 1, `unavailable reached ${maxUnavailable}`);
    assert.ok(live(h).every((p) => p.spec.containers[0]?.image === 'agent:2'));
    assert.equal(live(h).length, 3);
    assert.equal((await api(h).get('sel')).status?.updatedNumberScheduled, 3);
  });
});
