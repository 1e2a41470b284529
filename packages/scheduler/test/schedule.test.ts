import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '@kemu/api';
import { SeededRandom } from '@kemu/runtime';
import {
  FitError,
  fitErrorMessage,
  type NodeStatus,
  numFeasibleNodesToFind,
  reject,
  type ScheduleResult,
  SchedulerInputError,
  Snapshot,
  schedule,
} from '../src/index.js';
import { controlPlane, node, pod } from './fixtures.js';

function nodeOf(r: ScheduleResult): string {
  if ('fitError' in r) assert.fail(`unschedulable: ${r.fitError.message}`);
  return r.node;
}

function cluster(): Snapshot {
  return new Snapshot([controlPlane(), node('worker-1'), node('worker-2'), node('worker-3')], []);
}

function placeAll(snap: Snapshot, pods: Pod[], seed: number): Map<string, number> {
  const random = new SeededRandom(seed);
  const per = new Map<string, number>();
  for (const p of pods) {
    const n = nodeOf(schedule(p, snap, { random }));
    snap.assume(p, n);
    per.set(n, (per.get(n) ?? 0) + 1);
  }
  return per;
}

test('9 replicas over 3 equal workers land 3/3/3 and never on the control plane', () => {
  for (const seed of [1, 2, 3, 42]) {
    const replicas = Array.from({ length: 9 }, (_, i) =>
      pod(`web-${i}`, { cpu: '100m', labels: { app: 'web' }, owner: 'web-rs' }),
    );
    const per = placeAll(cluster(), replicas, seed);
    assert.deepEqual(
      [...per.entries()].sort(),
      [
        ['worker-1', 3],
        ['worker-2', 3],
        ['worker-3', 3],
      ],
      `seed ${seed}`,
    );
  }
});

test('requestless replicas also spread evenly (non-zero defaults and default spreading)', () => {
  const replicas = Array.from({ length: 6 }, (_, i) => pod(`r-${i}`, { owner: 'rs' }));
  const per = placeAll(cluster(), replicas, 7);
  assert.deepEqual([...per.values()], [2, 2, 2]);
  assert.equal(per.has('control-plane'), false);
});

test('the control-plane taint is never chosen, even when workers are busy', () => {
  const snap = new Snapshot(
    [controlPlane(), node('worker-1', { cpu: '1' })],
    [pod('big', { cpu: '900m', nodeName: 'worker-1' })],
  );
  const random = new SeededRandom(3);
  for (let i = 0; i < 20; i++) {
    const r = schedule(pod(`p${i}`), snap, { random });
    assert.equal(nodeOf(r), 'worker-1');
  }
});

test('resources exhausted → the exact upstream FailedScheduling message', () => {
  const snap = cluster();
  const r = schedule(pod('huge', { cpu: '3' }), snap, { random: new SeededRandom(1) });
  assert.ok('fitError' in r);
  assert.ok(r.fitError instanceof FitError);
  assert.equal(
    r.fitError.message,
    '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. ' +
      'preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod..',
  );
  assert.deepEqual([...r.fitError.unschedulablePlugins].sort(), ['NodeResourcesFit', 'TaintToleration']);
});

test('preemption message: not helpful anywhere, policy Never, and a real candidate', () => {
  const snap = new Snapshot([controlPlane(), node('worker-1', { unschedulable: true })], []);
  const r = schedule(pod('p'), snap, { random: new SeededRandom(1) });
  assert.ok('fitError' in r);
  assert.equal(
    r.fitError.message,
    '0/2 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..',
  );
  const full = new Snapshot([node('w', { cpu: '1' })], [pod('low', { cpu: '1', nodeName: 'w' })]);
  const never = schedule(pod('hi', { cpu: '1', priority: 100 }, { preemptionPolicy: 'Never' }), full, {
    random: new SeededRandom(1),
  });
  assert.ok('fitError' in never);
  assert.equal(
    never.fitError.message,
    '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..',
  );
  const preempting = schedule(pod('hi', { cpu: '1', priority: 100 }), full, { random: new SeededRandom(1) });
  assert.ok('fitError' in preempting);
  assert.deepEqual(preempting.fitError.preemptionCandidates, ['w']);
  assert.equal(preempting.fitError.message, '0/1 nodes are available: 1 Insufficient cpu.');
});

test('reason histogram sorts as Go strings and counts every reason of a node', () => {
  const statuses = new Map<string, NodeStatus>([
    ['a', reject('NodeResourcesFit', 'Unschedulable', 'Insufficient cpu', 'Insufficient memory')],
  ]);
  for (let i = 0; i < 10; i++)
    statuses.set(
      `t${i}`,
      reject('TaintToleration', 'UnschedulableAndUnresolvable', 'node(s) had untolerated taint {a: b}'),
    );
  assert.equal(
    fitErrorMessage(11, statuses),
    '0/11 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 10 node(s) had untolerated taint {a: b}.',
  );
  assert.equal(new FitError(0, new Map(), '').message, 'no nodes available to schedule pods');
});

test('required anti-affinity puts one replica per node; the fourth is unschedulable', () => {
  const snap = cluster();
  const random = new SeededRandom(5);
  const mk = (i: number): Pod =>
    pod(
      `db-${i}`,
      { labels: { app: 'db' } },
      {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'db' } } },
            ],
          },
        },
      },
    );
  const used = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const n = nodeOf(schedule(mk(i), snap, { random }));
    assert.ok(!used.has(n));
    used.add(n);
    snap.assume(mk(i), n);
  }
  const r = schedule(mk(3), snap, { random });
  assert.ok('fitError' in r);
  assert.equal(
    r.fitError.message,
    "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 node(s) didn't match pod anti-affinity rules. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod..",
  );
});

test('topology spread maxSkew is respected across zones of unequal size', () => {
  const snap = new Snapshot(
    [
      node('a1', { labels: { zone: 'a' } }),
      node('a2', { labels: { zone: 'a' } }),
      node('a3', { labels: { zone: 'a' } }),
      node('b1', { labels: { zone: 'b' } }),
    ],
    [],
  );
  const random = new SeededRandom(9);
  const zoneCount = new Map<string, number>();
  for (let i = 0; i < 8; i++) {
    const p = pod(
      `s-${i}`,
      { labels: { app: 's' } },
      {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'zone',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app: 's' } },
          },
        ],
      },
    );
    const n = nodeOf(schedule(p, snap, { random }));
    snap.assume(p, n);
    const z = n.startsWith('a') ? 'a' : 'b';
    zoneCount.set(z, (zoneCount.get(z) ?? 0) + 1);
    assert.ok(
      Math.abs((zoneCount.get('a') ?? 0) - (zoneCount.get('b') ?? 0)) <= 1,
      `skew after ${i + 1}: ${[...zoneCount]}`,
    );
  }
  assert.deepEqual([zoneCount.get('a'), zoneCount.get('b')], [4, 4]);
});

test('ties are broken by the injected random source, reproducibly', () => {
  const pick = (seed: number): string[] => {
    const snap = new Snapshot([node('n1'), node('n2'), node('n3'), node('n4')], []);
    const random = new SeededRandom(seed);
    return Array.from({ length: 4 }, (_, i) => nodeOf(schedule(pod(`x${i}`), snap, { random })));
  };
  assert.deepEqual(pick(11), pick(11));
  const seen = new Set([1, 2, 3, 4, 5, 6, 7, 8].flatMap((s) => pick(s)));
  assert.ok(seen.size > 1, 'different seeds explore different tied nodes');
});

test('malformed input is a typed SchedulerInputError naming the object', () => {
  const snap = cluster();
  const bad = pod('bad', { cpu: 'lots' });
  assert.throws(
    () => schedule(bad, snap, { random: new SeededRandom(1) }),
    (err: unknown) => {
      assert.ok(err instanceof SchedulerInputError);
      assert.equal(err.code, 'SCHEDULER_INPUT_INVALID');
      assert.match(err.message, /^pod default\/bad: quantities must match/);
      return true;
    },
  );
  const badSelector = pod(
    'sel',
    {},
    {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'k', labelSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } },
          ],
        },
      },
    },
  );
  assert.throws(() => schedule(badSelector, snap, { random: new SeededRandom(1) }), SchedulerInputError);
  assert.throws(() => new Snapshot([node('n', { cpu: 'x' })], []), /node n: bad allocatable/);
  assert.throws(
    () => new Snapshot([node('n')], [pod('b', { memory: '1Zi', nodeName: 'n' })]),
    /pod default\/b: bad resource requests/,
  );
  // The snapshot stays usable after a rejected pod.
  assert.equal(nodeOf(schedule(pod('ok'), snap, { random: new SeededRandom(1) })).startsWith('worker-'), true);
});

test('large clusters stop filtering at the adaptive share of feasible nodes and rotate the start', () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(1000), 420);
  assert.equal(numFeasibleNodesToFind(5000), 500);
  assert.equal(numFeasibleNodesToFind(150), 100);
  assert.equal(numFeasibleNodesToFind(1000, 100), 1000);
  const snap = new Snapshot(
    Array.from({ length: 200 }, (_, i) => node(`n${i}`)),
    [],
  );
  const r = schedule(pod('p'), snap, { random: new SeededRandom(1), startNodeIndex: 150 });
  assert.ok('node' in r);
  assert.equal(r.feasibleNodes, 100);
  assert.equal(r.nextStartNodeIndex, 50);
  const idx = Number(r.node.slice(1));
  assert.ok(idx >= 150 || idx < 50, `chosen among the nodes examined: ${r.node}`);
});
