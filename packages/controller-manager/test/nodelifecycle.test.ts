import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Event, formatMicroTime, formatTime, type Lease, type Node, type Pod, type Toleration } from '@kemu/api';
import { nodeLifecycleController } from '../src/controllers/nodelifecycle/node-lifecycle.js';
import { evictionDue, taintEvictionController } from '../src/controllers/nodelifecycle/taint-eviction.js';
import { reconcileTaints } from '../src/controllers/nodelifecycle/taints.js';
import { type Harness, harness, until } from './harness.js';

function readyNode(name: string, at: number, status: 'True' | 'False' = 'True'): Node {
  const t = formatTime(at);
  return {
    metadata: { name },
    spec: {},
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: t, lastTransitionTime: t },
        { type: 'DiskPressure', status: 'False', lastHeartbeatTime: t, lastTransitionTime: t },
        { type: 'PIDPressure', status: 'False', lastHeartbeatTime: t, lastTransitionTime: t },
        { type: 'Ready', status, reason: 'KubeletReady', lastHeartbeatTime: t, lastTransitionTime: t },
      ],
    },
  };
}

function pod(name: string, node: string, tolerations: Toleration[]): Pod {
  return {
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }], tolerations },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

async function renew(h: Harness, node: string) {
  const leases = h.api.resource<Lease>('leases.coordination.k8s.io', { namespace: 'kube-node-lease' });
  const spec = { holderIdentity: node, leaseDurationSeconds: 4, renewTime: formatMicroTime(h.rt.now()) };
  try {
    const l = await leases.get(node);
    await leases.update({ ...l, spec });
  } catch {
    await leases.create({ metadata: { name: node, namespace: 'kube-node-lease' }, spec });
  }
}

const unreachable = (seconds?: number): Toleration => ({
  key: 'node.kubernetes.io/unreachable',
  operator: 'Exists',
  effect: 'NoExecute',
  ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}),
});

describe('nodelifecycle + taint eviction', () => {
  it('a node whose lease stops renewing turns Unknown, is tainted, its pods not ready, then evicted by toleration', async () => {
    const h = harness();
    const nodes = h.api.resource<Node>('nodes');
    const pods = h.api.resource<Pod>('pods', { namespace: 'default' });
    await nodes.create(readyNode('n1', h.rt.now()));
    await renew(h, 'n1');
    await pods.create(pod('tolerates-5s', 'n1', [unreachable(5)]));
    await pods.create(pod('intolerant', 'n1', []));
    await pods.create(pod('forever', 'n1', [unreachable()]));
    await h.start(nodeLifecycleController, taintEvictionController);
    // Renewing: 8 s (> grace 5 s) pass and the node stays Ready and untainted.
    for (let i = 0; i < 8; i++) {
      await h.advance(1000);
      await renew(h, 'n1');
    }
    let n = await nodes.get('n1');
    assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(n.spec?.taints ?? [], []);
    // Silence: after the 5 s grace the node is Unknown.
    const silentAt = h.rt.now();
    await h.advance(5600);
    n = await nodes.get('n1');
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      const c = n.status?.conditions?.find((x) => x.type === type);
      assert.equal(c?.status, 'Unknown', type);
      assert.equal(c?.reason, 'NodeStatusUnknown');
      assert.equal(c?.message, 'Kubelet stopped posting node status.');
    }
    assert.ok(h.rt.now() - silentAt > 5000);
    const taints = (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
    assert.deepEqual(taints, ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    assert.ok(n.spec?.taints?.find((t) => t.effect === 'NoExecute')?.timeAdded);
    await until(
      async () => (await pods.list()).items.every((p) => p.metadata.name !== 'intolerant'),
      'intolerant evicted',
    );
    const left = (await pods.list()).items;
    assert.deepEqual(left.map((p) => p.metadata.name).sort(), ['forever', 'tolerates-5s']);
    for (const p of left) {
      assert.equal(
        p.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        'False',
        `${p.metadata.name} not ready`,
      );
    }
    const events = (await h.api.resource<Event>('events', { namespace: 'default' }).list()).items;
    assert.ok(
      events.some(
        (e) => e.reason === 'TaintManagerEviction' && e.message === 'Marking for deletion Pod default/intolerant',
      ),
    );
    assert.ok(
      (await h.api.resource<Event>('events', { namespace: 'default' }).list()).items.some(
        (e) => e.reason === 'NodeNotReady',
      ),
    );
    // tolerationSeconds 5 from the taint's timeAdded (whole seconds): gone within 6 s, not before 4 s.
    await h.advance(3500);
    assert.ok(
      (await pods.list()).items.some((p) => p.metadata.name === 'tolerates-5s'),
      'not evicted early',
    );
    await h.advance(2600);
    await until(
      async () => (await pods.list()).items.every((p) => p.metadata.name !== 'tolerates-5s'),
      'evicted after 5s',
    );
    assert.ok((await pods.list()).items.some((p) => p.metadata.name === 'forever'));
    // The kubelet comes back: lease renewed and Ready posted → taints removed.
    await renew(h, 'n1');
    const back = readyNode('n1', h.rt.now());
    await nodes.updateStatus({ ...(await nodes.get('n1')), status: back.status ?? {} });
    await h.advance(1000);
    n = await nodes.get('n1');
    assert.deepEqual(n.spec?.taints ?? [], []);
    assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    await h.stop();
  });

  it('a node reporting Ready=False gets not-ready taints; unschedulable gets its NoSchedule taint; other taints stay', async () => {
    const h = harness();
    const nodes = h.api.resource<Node>('nodes');
    const n0 = readyNode('n2', h.rt.now(), 'False');
    n0.spec = { unschedulable: true, taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] };
    await nodes.create(n0);
    await renew(h, 'n2');
    await h.start(nodeLifecycleController);
    await h.advance(300);
    const n = await nodes.get('n2');
    assert.deepEqual((n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort(), [
      'dedicated:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/not-ready:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
    await h.stop();
  });

  it('reconcileTaints swaps not-ready for unreachable and keeps timeAdded of a taint that stays', () => {
    const node = readyNode('n', 0, 'False');
    node.spec = { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: 'T0' }] };
    assert.deepEqual(reconcileTaints(node, 'T1'), [
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: 'T0' },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
    ]);
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready) ready.status = 'Unknown';
    assert.deepEqual(
      reconcileTaints(node, 'T1').map((t) => `${t.key}:${t.effect}:${t.timeAdded ?? ''}`),
      ['node.kubernetes.io/unreachable:NoSchedule:', 'node.kubernetes.io/unreachable:NoExecute:T1'],
    );
  });

  it('evictionDue: intolerant now, minimum of tolerationSeconds, no seconds = never', () => {
    const t = {
      key: 'node.kubernetes.io/unreachable',
      effect: 'NoExecute' as const,
      timeAdded: '2026-01-01T00:00:00Z',
    };
    const base = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(
      evictionDue([], [t], () => 0),
      'now',
    );
    assert.equal(
      evictionDue([unreachable()], [t], () => 0),
      undefined,
    );
    assert.equal(
      evictionDue([unreachable(30), { operator: 'Exists' }], [t], () => 0),
      base + 30_000,
    );
    assert.equal(
      evictionDue([{ operator: 'Exists', tolerationSeconds: -5 }], [t], () => 0),
      base,
    );
    assert.equal(
      evictionDue([unreachable(3)], [{ key: t.key, effect: 'NoExecute' }], () => 1000),
      4000,
    );
  });

  it('a node that never posted status gets Unknown conditions (NodeStatusNeverUpdated) after the grace period', async () => {
    const h = harness();
    const nodes = h.api.resource<Node>('nodes');
    await nodes.create({ metadata: { name: 'mute' } });
    await h.start(nodeLifecycleController);
    await h.advance(4000);
    assert.equal((await nodes.get('mute')).status?.conditions, undefined, 'not before the grace period');
    await h.advance(2000);
    const n = await nodes.get('mute');
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'Unknown');
    assert.equal(ready?.reason, 'NodeStatusNeverUpdated');
    assert.equal(ready?.message, 'Kubelet never posted node status.');
    assert.deepEqual((n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort(), [
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/unreachable:NoSchedule',
    ]);
    await h.stop();
  });

  it('a restarted taint-eviction controller keeps the deadline from the taint timeAdded', async () => {
    const h = harness();
    const nodes = h.api.resource<Node>('nodes');
    const pods = h.api.resource<Pod>('pods', { namespace: 'default' });
    const n = readyNode('n3', h.rt.now());
    n.spec = {
      taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: formatTime(h.rt.now()) }],
    };
    await nodes.create(n);
    await pods.create(pod('p', 'n3', [unreachable(5)]));
    await h.start(taintEvictionController);
    await h.advance(3000);
    await h.stop();
    const h2 = harness({ reuse: h });
    await h2.start(taintEvictionController);
    await h2.advance(1500);
    assert.equal((await pods.list()).items.length, 1, 'not yet: 4.5 s of 5');
    await h2.advance(1000);
    await until(
      async () => (await pods.list()).items.length === 0,
      'evicted 5 s after timeAdded, not 5 s after the restart',
    );
    await h2.stop();
  });
});
