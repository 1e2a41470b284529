import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '@kemu/api';
import {
  AFFINITY_REASON,
  ANTI_AFFINITY_REASON,
  EXISTING_ANTI_AFFINITY_REASON,
  type FilterPlugin,
  interPodAffinityPlugin,
  NODE_AFFINITY_REASON,
  NODE_NAME_REASON,
  NODE_UNSCHEDULABLE_REASON,
  nodeAffinityPlugin,
  nodeNamePlugin,
  nodeResourcesFitPlugin,
  nodeUnschedulablePlugin,
  podRequests,
  podTopologySpreadPlugin,
  Snapshot,
  SPREAD_MISSING_LABEL_REASON,
  SPREAD_REASON,
  taintTolerationPlugin,
} from '../src/index.js';
import { CONTROL_PLANE_TAINT, controlPlane, node, pod } from './fixtures.js';

function verdict(plugin: FilterPlugin, p: Pod, snap: Snapshot, nodeName: string): string | null {
  const info = snap.get(nodeName);
  assert.ok(info);
  const s = plugin.prepareFilter(p, snap)(info);
  return s === null ? null : `${s.code}: ${s.reasons.join(' | ')}`;
}

test('requests: containers add up, an init container counts by the max rule, sidecars add', () => {
  const p = pod(
    'p',
    { cpu: '200m', memory: '100Mi' },
    {
      initContainers: [
        { name: 'init', resources: { requests: { cpu: '500m', memory: '10Mi' } } },
        { name: 'side', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
      ],
    },
  );
  const r = podRequests(p);
  assert.equal(r.get('cpu'), 500); // init 500m alone beats 200m + 50m sidecar
  assert.equal(r.get('memory'), 100 * 1024 * 1024);
  const nz = podRequests(pod('empty'), true);
  assert.equal(nz.get('cpu'), 100);
});

test('snapshot sums requests of bound non-terminal pods only', () => {
  const done = pod('done', { cpu: '1', nodeName: 'w1' });
  done.status = { phase: 'Succeeded' };
  const snap = new Snapshot(
    [node('w1')],
    [
      pod('a', { cpu: '300m', nodeName: 'w1' }),
      pod('pending', { cpu: '1' }),
      done,
      pod('gone', { cpu: '1', nodeName: 'nope' }),
    ],
  );
  const w1 = snap.get('w1');
  assert.equal(w1?.requested.get('cpu'), 300);
  assert.equal(w1?.pods.length, 1);
  snap.assume(pod('b', { cpu: '200m' }), 'w1');
  assert.equal(w1?.requested.get('cpu'), 500);
});

test('NodeName', () => {
  const snap = new Snapshot([node('w1'), node('w2')], []);
  const p = pod('p', {}, { nodeName: 'w2' });
  assert.equal(verdict(nodeNamePlugin, p, snap, 'w2'), null);
  assert.equal(verdict(nodeNamePlugin, p, snap, 'w1'), `UnschedulableAndUnresolvable: ${NODE_NAME_REASON}`);
});

test('NodeUnschedulable: cordoned nodes refuse pods unless tolerated', () => {
  const snap = new Snapshot([node('w1', { unschedulable: true }), node('w2')], []);
  assert.equal(
    verdict(nodeUnschedulablePlugin, pod('p'), snap, 'w1'),
    `UnschedulableAndUnresolvable: ${NODE_UNSCHEDULABLE_REASON}`,
  );
  assert.equal(NODE_UNSCHEDULABLE_REASON, 'node(s) were unschedulable');
  assert.equal(verdict(nodeUnschedulablePlugin, pod('p'), snap, 'w2'), null);
  const tolerant = pod(
    't',
    {},
    { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] },
  );
  assert.equal(verdict(nodeUnschedulablePlugin, tolerant, snap, 'w1'), null);
});

test('TaintToleration: upstream message, incl. not-ready/unreachable; tolerations by key/value/effect', () => {
  const snap = new Snapshot(
    [
      controlPlane('cp'),
      node('nr', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
      node('ur', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] }),
      node('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      node('soft', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }),
    ],
    [],
  );
  const p = pod('p');
  assert.equal(
    verdict(taintTolerationPlugin, p, snap, 'cp'),
    'UnschedulableAndUnresolvable: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }',
  );
  assert.equal(
    verdict(taintTolerationPlugin, p, snap, 'nr'),
    'UnschedulableAndUnresolvable: node(s) had untolerated taint {node.kubernetes.io/not-ready: }',
  );
  assert.equal(
    verdict(taintTolerationPlugin, p, snap, 'ur'),
    'UnschedulableAndUnresolvable: node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
  );
  assert.equal(
    verdict(taintTolerationPlugin, p, snap, 'gpu'),
    'UnschedulableAndUnresolvable: node(s) had untolerated taint {dedicated: gpu}',
  );
  assert.equal(verdict(taintTolerationPlugin, p, snap, 'soft'), null);
  const wrongValue = pod(
    'w',
    {},
    { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu', effect: 'NoSchedule' }] },
  );
  assert.notEqual(verdict(taintTolerationPlugin, wrongValue, snap, 'gpu'), null);
  const right = pod('r', {}, { tolerations: [{ key: 'dedicated', value: 'gpu' }] });
  assert.equal(verdict(taintTolerationPlugin, right, snap, 'gpu'), null);
  const cpTolerant = pod(
    'c',
    {},
    { tolerations: [{ key: CONTROL_PLANE_TAINT.key, operator: 'Exists', effect: 'NoSchedule' }] },
  );
  assert.equal(verdict(taintTolerationPlugin, cpTolerant, snap, 'cp'), null);
  const all = pod('all', {}, { tolerations: [{ operator: 'Exists' }] });
  for (const n of ['cp', 'nr', 'ur', 'gpu']) assert.equal(verdict(taintTolerationPlugin, all, snap, n), null);
  // PreferNoSchedule: the untainted node scores 100, the tainted one 0.
  const nodes = [snap.get('soft'), snap.get('gpu')].filter((n) => n !== undefined);
  assert.deepEqual(taintTolerationPlugin.score(p, snap, nodes), [0, 100]);
});

test('NodeAffinity: nodeSelector and required terms (OR of ANDs, Gt/Lt, matchFields)', () => {
  const snap = new Snapshot(
    [node('a', { labels: { disk: 'ssd', gen: '5' } }), node('b', { labels: { disk: 'hdd', gen: '3' } })],
    [],
  );
  const sel = pod('s', {}, { nodeSelector: { disk: 'ssd' } });
  assert.equal(verdict(nodeAffinityPlugin, sel, snap, 'a'), null);
  assert.equal(verdict(nodeAffinityPlugin, sel, snap, 'b'), `UnschedulableAndUnresolvable: ${NODE_AFFINITY_REASON}`);
  const req = pod(
    'r',
    {},
    {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] },
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['zzz'] }] },
            ],
          },
        },
      },
    },
  );
  assert.equal(verdict(nodeAffinityPlugin, req, snap, 'a'), null);
  assert.notEqual(verdict(nodeAffinityPlugin, req, snap, 'b'), null);
  const byName = pod(
    'n',
    {},
    {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }],
          },
        },
      },
    },
  );
  assert.equal(verdict(nodeAffinityPlugin, byName, snap, 'b'), null);
  assert.notEqual(verdict(nodeAffinityPlugin, byName, snap, 'a'), null);
  const preferred = pod(
    'p',
    {},
    {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['hdd'] }] } },
          ],
        },
      },
    },
  );
  assert.deepEqual(nodeAffinityPlugin.score(preferred, snap, snap.nodes), [0, 100]);
});

test('NodeResourcesFit: Insufficient cpu / memory, Too many pods, and LeastAllocated', () => {
  const snap = new Snapshot(
    [node('w1', { cpu: '1', memory: '1Gi', pods: '2' }), node('w2', { cpu: '4', memory: '8Gi' })],
    [pod('a', { cpu: '600m', memory: '512Mi', nodeName: 'w1' })],
  );
  assert.equal(verdict(nodeResourcesFitPlugin, pod('p', { cpu: '400m', memory: '512Mi' }), snap, 'w1'), null);
  assert.equal(
    verdict(nodeResourcesFitPlugin, pod('p', { cpu: '500m' }), snap, 'w1'),
    'Unschedulable: Insufficient cpu',
  );
  assert.equal(
    verdict(nodeResourcesFitPlugin, pod('p', { cpu: '500m', memory: '600Mi' }), snap, 'w1'),
    'Unschedulable: Insufficient cpu | Insufficient memory',
  );
  snap.assume(pod('b'), 'w1');
  assert.equal(verdict(nodeResourcesFitPlugin, pod('p'), snap, 'w1'), 'Unschedulable: Too many pods');
  const scores = nodeResourcesFitPlugin.score(pod('p', { cpu: '100m' }), snap, snap.nodes);
  assert.ok((scores[1] ?? 0) > (scores[0] ?? 0), `less allocated node scores higher: ${scores}`);
});

test('InterPodAffinity: affinity and anti-affinity by topology key; existing pods anti-affinity', () => {
  const zones = { w1: 'z1', w2: 'z1', w3: 'z2' };
  const nodes = Object.entries(zones).map(([n, z]) => node(n, { labels: { zone: z } }));
  const snap = new Snapshot(nodes, [pod('db', { labels: { app: 'db' }, nodeName: 'w1' })]);
  const wantsDb = pod(
    'web',
    { labels: { app: 'web' } },
    {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } } },
          ],
        },
      },
    },
  );
  assert.equal(verdict(interPodAffinityPlugin, wantsDb, snap, 'w2'), null);
  assert.equal(
    verdict(interPodAffinityPlugin, wantsDb, snap, 'w3'),
    `UnschedulableAndUnresolvable: ${AFFINITY_REASON}`,
  );
  const avoidsDb = pod(
    'x',
    {},
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
  assert.equal(verdict(interPodAffinityPlugin, avoidsDb, snap, 'w1'), `Unschedulable: ${ANTI_AFFINITY_REASON}`);
  assert.equal(verdict(interPodAffinityPlugin, avoidsDb, snap, 'w2'), null);
  // The first pod of a self-selecting group may land anywhere.
  const first = pod(
    'c0',
    { labels: { app: 'cache' } },
    {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'cache' } } },
          ],
        },
      },
    },
  );
  assert.equal(verdict(interPodAffinityPlugin, first, snap, 'w3'), null);
  // An existing pod that refuses company in its zone.
  const loner = pod(
    'loner',
    { labels: { app: 'loner' }, nodeName: 'w3' },
    {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'web' } } },
          ],
        },
      },
    },
  );
  const snap2 = new Snapshot(nodes, [loner]);
  assert.equal(
    verdict(interPodAffinityPlugin, pod('web', { labels: { app: 'web' } }), snap2, 'w3'),
    `Unschedulable: ${EXISTING_ANTI_AFFINITY_REASON}`,
  );
  assert.equal(verdict(interPodAffinityPlugin, pod('web', { labels: { app: 'web' } }), snap2, 'w1'), null);
  assert.equal(verdict(interPodAffinityPlugin, pod('other', { labels: { app: 'other' } }), snap2, 'w3'), null);
});

test('PodTopologySpread: DoNotSchedule maxSkew, missing label', () => {
  const nodes = [node('w1', { labels: { zone: 'a' } }), node('w2', { labels: { zone: 'b' } }), node('bare')];
  delete nodes[2]?.metadata.labels?.zone;
  const snap = new Snapshot(nodes, [
    pod('a1', { labels: { app: 'web' }, nodeName: 'w1' }),
    pod('a2', { labels: { app: 'web' }, nodeName: 'w1' }),
  ]);
  const p = pod(
    'p',
    { labels: { app: 'web' } },
    {
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'web' } },
        },
      ],
    },
  );
  assert.equal(verdict(podTopologySpreadPlugin, p, snap, 'w1'), `Unschedulable: ${SPREAD_REASON}`);
  assert.equal(verdict(podTopologySpreadPlugin, p, snap, 'w2'), null);
  assert.equal(
    verdict(podTopologySpreadPlugin, p, snap, 'bare'),
    `UnschedulableAndUnresolvable: ${SPREAD_MISSING_LABEL_REASON}`,
  );
  const loose = pod(
    'q',
    { labels: { app: 'web' } },
    {
      topologySpreadConstraints: [
        {
          maxSkew: 2,
          topologyKey: 'zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'web' } },
        },
      ],
    },
  );
  assert.equal(verdict(podTopologySpreadPlugin, loose, snap, 'w1'), 'Unschedulable: ' + SPREAD_REASON);
  snap.assume(pod('b1', { labels: { app: 'web' } }), 'w2');
  assert.equal(verdict(podTopologySpreadPlugin, loose, snap, 'w1'), null);
});

test('InterPodAffinity scoring: preferred affinity attracts, preferred anti-affinity repels', () => {
  const snap = new Snapshot(
    [node('w1'), node('w2'), node('w3')],
    [pod('cache', { labels: { app: 'cache' }, nodeName: 'w2' })],
  );
  const term = { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'cache' } } };
  const near = pod(
    'near',
    {},
    {
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term }] },
      },
    },
  );
  assert.deepEqual(interPodAffinityPlugin.score(near, snap, snap.nodes), [0, 100, 0]);
  const far = pod(
    'far',
    {},
    {
      affinity: {
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term }] },
      },
    },
  );
  assert.deepEqual(interPodAffinityPlugin.score(far, snap, snap.nodes), [100, 0, 100]);
  assert.deepEqual(interPodAffinityPlugin.score(pod('plain'), snap, snap.nodes), [0, 0, 0]);
  // An existing pod's preference for the incoming pod counts too.
  const friendly = pod(
    'f',
    { labels: { app: 'f' }, nodeName: 'w3' },
    {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 10,
              podAffinityTerm: {
                topologyKey: 'kubernetes.io/hostname',
                labelSelector: { matchLabels: { app: 'web' } },
              },
            },
          ],
        },
      },
    },
  );
  const snap2 = new Snapshot([node('w1'), node('w2'), node('w3')], [friendly]);
  assert.deepEqual(
    interPodAffinityPlugin.score(pod('web', { labels: { app: 'web' } }), snap2, snap2.nodes),
    [0, 0, 100],
  );
});
