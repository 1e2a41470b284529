import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildTable,
  type ContainerStatus,
  columnDefinitions,
  type Deployment,
  type Event,
  humanDuration,
  type Job,
  type KubeObject,
  type Node,
  type Pod,
  rowCells,
  type Service,
} from '../src/index.js';

const NOW = Date.parse('2026-11-22T05:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

test('humanDuration follows kubectl', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-3 * s, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [16 * s, '16s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [303 * s, '5m3s'],
    [600 * s, '10m'],
    [179 * 60 * s, '179m'],
    [3 * 3600 * s, '3h'],
    [(3 * 3600 + 5 * 60) * s, '3h5m'],
    [7 * 3600 * s, '7h'],
    [8 * 3600 * s, '8h'],
    [47 * 3600 * s, '47h'],
    [48 * 3600 * s, '2d'],
    [(3 * 24 + 4) * 3600 * s, '3d4h'],
    [8 * 24 * 3600 * s, '8d'],
    [729 * 24 * 3600 * s, '729d'],
    [(2 * 365 + 45) * 24 * 3600 * s, '2y45d'],
    [3 * 365 * 24 * 3600 * s, '3y'],
    [9 * 365 * 24 * 3600 * s, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});

function pod(status: Pod['status'], extra: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1', namespace: 'default', creationTimestamp: ago(16), ...meta },
    spec: { containers: [{ name: 'app', image: 'nginx' }], ...extra },
    status,
  };
}

function cs(
  name: string,
  state: ContainerStatus['state'],
  ready = false,
  restartCount = 0,
  lastState?: ContainerStatus['lastState'],
): ContainerStatus {
  const s: ContainerStatus = { name, state, ready, restartCount, image: 'nginx', imageID: '' };
  if (lastState !== undefined) s.lastState = lastState;
  return s;
}

const cells = (p: Pod) => rowCells('pods', p, NOW);

test('pod columns and wide cells', () => {
  assert.deepEqual(
    columnDefinitions('pods').map((c) => [c.name, c.priority]),
    [
      ['Name', 0],
      ['Ready', 0],
      ['Status', 0],
      ['Restarts', 0],
      ['Age', 0],
      ['IP', 1],
      ['Node', 1],
      ['Nominated Node', 1],
      ['Readiness Gates', 1],
    ],
  );
  const running = pod(
    {
      phase: 'Running',
      podIPs: [{ ip: '10.244.0.10' }],
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [cs('app', { running: { startedAt: ago(10) } }, true)],
    },
    { nodeName: 'node-1' },
  );
  assert.deepEqual(cells(running), ['p1', '1/1', 'Running', '0', '16s', '10.244.0.10', 'node-1', '<none>', '<none>']);
});

test('pod STATUS in every state', () => {
  const pending = pod({ phase: 'Pending' });
  assert.deepEqual(cells(pending).slice(1, 4), ['0/1', 'Pending', '0']);

  const creating = pod({
    phase: 'Pending',
    containerStatuses: [cs('app', { waiting: { reason: 'ContainerCreating' } })],
  });
  assert.equal(cells(creating)[2], 'ContainerCreating');

  const crash = pod({
    phase: 'Running',
    containerStatuses: [
      cs('app', { waiting: { reason: 'CrashLoopBackOff' } }, false, 5, {
        terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(5) },
      }),
    ],
  });
  assert.deepEqual(cells(crash).slice(1, 4), ['0/1', 'CrashLoopBackOff', '5 (5s ago)']);

  const completed = pod({
    phase: 'Succeeded',
    containerStatuses: [cs('app', { terminated: { exitCode: 0, reason: 'Completed' } })],
  });
  assert.equal(cells(completed)[2], 'Completed');
  const table = buildTable('pods', [completed], { now: NOW });
  assert.deepEqual(table.rows[0]?.conditions, [
    { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
  ]);

  const error = pod({ phase: 'Failed', containerStatuses: [cs('app', { terminated: { exitCode: 2 } })] });
  assert.equal(cells(error)[2], 'ExitCode:2');
  const signal = pod({ phase: 'Failed', containerStatuses: [cs('app', { terminated: { exitCode: 137, signal: 9 } })] });
  assert.equal(cells(signal)[2], 'Signal:9');

  const init = pod(
    {
      phase: 'Pending',
      initContainerStatuses: [cs('init', { running: {} })],
      containerStatuses: [cs('app', { waiting: { reason: 'PodInitializing' } })],
    },
    { initContainers: [{ name: 'init', image: 'busybox' }] },
  );
  assert.equal(cells(init)[2], 'Init:0/1');
  const initCrash = pod(
    { phase: 'Pending', initContainerStatuses: [cs('init', { waiting: { reason: 'CrashLoopBackOff' } }, false, 2)] },
    { initContainers: [{ name: 'init', image: 'busybox' }] },
  );
  assert.deepEqual(cells(initCrash).slice(2, 4), ['Init:CrashLoopBackOff', '2']);
  const initFailed = pod(
    { phase: 'Pending', initContainerStatuses: [cs('init', { terminated: { exitCode: 3 } })] },
    { initContainers: [{ name: 'init', image: 'busybox' }] },
  );
  assert.equal(cells(initFailed)[2], 'Init:ExitCode:3');

  const sidecar = pod(
    {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      initContainerStatuses: [{ ...cs('proxy', { running: {} }, true), started: true }],
      containerStatuses: [cs('app', { running: {} }, true)],
    },
    { initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }] },
  );
  assert.deepEqual(cells(sidecar).slice(1, 3), ['2/2', 'Running']);

  const notReady = pod({
    phase: 'Running',
    containerStatuses: [cs('a', { terminated: { exitCode: 0, reason: 'Completed' } }), cs('b', { running: {} }, true)],
  });
  assert.equal(cells(notReady)[2], 'NotReady');

  const terminating = pod(
    { phase: 'Running', containerStatuses: [cs('app', { running: {} }, true)] },
    {},
    { deletionTimestamp: ago(1), deletionGracePeriodSeconds: 30 },
  );
  assert.deepEqual(cells(terminating).slice(1, 3), ['1/1', 'Terminating']);
  const lost = pod({ phase: 'Running', reason: 'NodeLost' }, {}, { deletionTimestamp: ago(1) });
  assert.equal(cells(lost)[2], 'Unknown');
  const evicted = pod({ phase: 'Failed', reason: 'Evicted' });
  assert.equal(cells(evicted)[2], 'Evicted');
  const gated = pod({
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
  });
  assert.equal(cells(gated)[2], 'SchedulingGated');
});

test('table envelope with PartialObjectMetadata rows', () => {
  const p = pod({ phase: 'Running' }, {}, { labels: { run: 'p1' }, uid: 'u1', resourceVersion: '1028' });
  const t = buildTable('pods', [p], { now: new Date(NOW), resourceVersion: '1028' });
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(t.metadata, { resourceVersion: '1028' });
  assert.deepEqual(t.columnDefinitions?.[0]?.format, 'name');
  assert.deepEqual(t.rows[0]?.object, {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: p.metadata,
  });
  assert.equal(buildTable('pods', [p], { now: NOW, includeObject: 'None' }).rows[0]?.object, undefined);
  assert.equal(
    (buildTable('pods', [p], { now: NOW, includeObject: 'Object' }).rows[0]?.object as Pod | undefined)?.kind,
    'Pod',
  );
  assert.equal(buildTable('pods', [], { now: NOW, omitColumns: true }).columnDefinitions, null);
  assert.deepEqual(
    buildTable('bindings', [{ metadata: { name: 'x', creationTimestamp: ago(7 * 3600) } }], { now: NOW }).rows[0]
      ?.cells,
    ['x', '7h'],
  );
});

test('deployment, service, node, event and job rows', () => {
  const d: Deployment = {
    metadata: { name: 'web', creationTimestamp: ago(303) },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        spec: {
          containers: [
            { name: 'nginx', image: 'nginx:1.27' },
            { name: 'side', image: 'busybox' },
          ],
        },
      },
    },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  assert.deepEqual(rowCells('deployments', d, NOW), [
    'web',
    '2/3',
    3,
    2,
    '5m3s',
    'nginx,side',
    'nginx:1.27,busybox',
    'app=web',
  ]);

  const svc = (spec: Service['spec']): Service => ({
    metadata: { name: 's', creationTimestamp: ago(3 * 86400) },
    spec,
  });
  assert.deepEqual(
    rowCells(
      'services',
      svc({
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        ports: [{ port: 80, protocol: 'TCP' }],
        selector: { app: 'web' },
      }),
      NOW,
    ),
    ['s', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP', '3d', 'app=web'],
  );
  assert.deepEqual(
    rowCells(
      'services',
      svc({
        type: 'NodePort',
        clusterIP: '10.96.0.11',
        ports: [
          { port: 80, nodePort: 30080, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ],
      }),
      NOW,
    ).slice(1, 5),
    ['NodePort', '10.96.0.11', '<none>', '80:30080/TCP,53/UDP'],
  );
  assert.equal(
    rowCells('services', svc({ type: 'LoadBalancer', clusterIP: '10.0.0.1', ports: [] }), NOW)[3],
    '<pending>',
  );
  assert.equal(rowCells('services', svc({ type: 'ExternalName', externalName: 'example.com' }), NOW)[2], '<none>');

  const node = (ready: 'True' | 'False' | 'Unknown', labels: Record<string, string>, unschedulable = false): Node => ({
    metadata: { name: 'node-1', labels, creationTimestamp: ago(7 * 3600) },
    spec: { unschedulable },
    status: {
      conditions: [{ type: 'Ready', status: ready }],
      nodeInfo: {
        kubeletVersion: 'v1.32.4',
        osImage: 'kemu',
        kernelVersion: '6.1',
        containerRuntimeVersion: 'kemu://1',
      },
      addresses: [{ type: 'InternalIP', address: '127.0.0.2' }],
    },
  });
  assert.deepEqual(rowCells('nodes', node('True', { 'node-role.kubernetes.io/control-plane': '' }), NOW), [
    'node-1',
    'Ready',
    'control-plane',
    '7h',
    'v1.32.4',
    '127.0.0.2',
    '<none>',
    'kemu',
    '6.1',
    'kemu://1',
  ]);
  assert.deepEqual(rowCells('nodes', node('Unknown', {}, true), NOW).slice(1, 3), [
    'NotReady,SchedulingDisabled',
    '<none>',
  ]);
  assert.deepEqual(rowCells('nodes', node('True', {}, true), NOW)[1], 'Ready,SchedulingDisabled');

  const ev: Event = {
    metadata: { name: 'p1.18a', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'p1', namespace: 'default' },
    reason: 'Scheduled',
    message: 'Successfully assigned default/p1 to node-1 ',
    source: { component: 'default-scheduler' },
    firstTimestamp: ago(60),
    lastTimestamp: ago(16),
    count: 2,
    type: 'Normal',
  };
  assert.deepEqual(rowCells('events', ev, NOW), [
    '16s',
    'Normal',
    'Scheduled',
    'pod/p1',
    '',
    'default-scheduler',
    'Successfully assigned default/p1 to node-1',
    '60s',
    2,
    'p1.18a',
  ]);

  const job: Job = {
    metadata: { name: 'pi', creationTimestamp: ago(120) },
    spec: {
      completions: 5,
      template: { spec: { containers: [{ name: 'pi', image: 'perl' }] } },
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } },
    },
    status: { succeeded: 1, startTime: ago(100) },
  };
  assert.deepEqual(rowCells('jobs', job, NOW).slice(0, 5), ['pi', 'Running', '1/5', '100s', '2m']);
  const done: Job = {
    ...job,
    status: {
      succeeded: 5,
      startTime: ago(100),
      completionTime: ago(40),
      conditions: [{ type: 'Complete', status: 'True' }],
    },
  };
  assert.deepEqual(rowCells('jobs', done, NOW).slice(1, 4), ['Complete', '5/5', '60s']);
});

test('small kinds: configmaps, secrets, leases, endpoints, pvcs', () => {
  const cm = { metadata: { name: 'c', creationTimestamp: ago(5) }, data: { a: '1', b: '2' } } as KubeObject;
  assert.deepEqual(rowCells('configmaps', cm, NOW), ['c', 2, '5s']);
  assert.deepEqual(
    rowCells(
      'secrets',
      { metadata: { name: 's', creationTimestamp: ago(5) }, type: 'Opaque', data: { k: 'dg==' } } as KubeObject,
      NOW,
    ),
    ['s', 'Opaque', 1, '5s'],
  );
  assert.deepEqual(
    rowCells(
      'leases',
      { metadata: { name: 'node-1', creationTimestamp: ago(5) }, spec: { holderIdentity: 'node-1' } } as KubeObject,
      NOW,
    ),
    ['node-1', 'node-1', '5s'],
  );
  const ep = {
    metadata: { name: 'web', creationTimestamp: ago(5) },
    subsets: [
      {
        addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }],
        ports: [{ port: 80 }],
      },
    ],
  } as KubeObject;
  assert.equal(rowCells('endpoints', ep, NOW)[1], '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...');
  assert.equal(rowCells('endpoints', { metadata: { name: 'e' } } as KubeObject, NOW)[1], '<none>');
  const pvc = {
    metadata: { name: 'data', creationTimestamp: ago(5) },
    spec: { volumeName: 'pv1', storageClassName: 'standard', accessModes: ['ReadWriteOnce'] },
    status: { phase: 'Bound', capacity: { storage: '1024Mi' }, accessModes: ['ReadWriteOnce'] },
  } as KubeObject;
  assert.deepEqual(rowCells('persistentvolumeclaims', pvc, NOW), [
    'data',
    'Bound',
    'pv1',
    '1Gi',
    'RWO',
    'standard',
    '<unset>',
    '5s',
    '<unset>',
  ]);
  const cr = {
    metadata: {
      name: 'web-7d4',
      creationTimestamp: ago(5),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }],
    },
    revision: 2,
  } as KubeObject;
  assert.deepEqual(rowCells('controllerrevisions', cr, NOW), ['web-7d4', 'statefulset.apps/web', 2, '5s']);
});

test('load balancer ingress and empty endpoint subsets', () => {
  const lb = {
    metadata: { name: 'lb', creationTimestamp: ago(5) },
    spec: { type: 'LoadBalancer', clusterIPs: ['10.0.0.1'], ports: [{ port: 80, protocol: 'TCP' }] },
    status: {
      loadBalancer: {
        ingress: [{ ip: '9.9.9.9', hostname: 'ignored.example' }, { hostname: 'a.example' }, { ip: '9.9.9.9' }],
      },
    },
  } as KubeObject;
  assert.equal(rowCells('services', lb, NOW)[3], '9.9.9.9,a.example');
  assert.equal(
    rowCells('endpoints', { metadata: { name: 'e' }, subsets: [{ ports: [{ port: 80 }] }] } as KubeObject, NOW)[1],
    '',
  );
});
