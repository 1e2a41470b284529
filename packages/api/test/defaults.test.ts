import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  admitPod,
  type CronJob,
  type DaemonSet,
  type Deployment,
  defaultObject,
  defaultPod,
  imageTag,
  type Job,
  type Namespace,
  type Pod,
  podQOSClass,
  prepareForCreate,
  type Secret,
  type Service,
  type StatefulSet,
} from '../src/index.js';

const container = (image: string) => ({ name: 'c', image });

test('image tags decide imagePullPolicy', () => {
  assert.equal(imageTag('nginx'), 'latest');
  assert.equal(imageTag('nginx:1.27'), '1.27');
  assert.equal(imageTag('localhost:5000/app'), 'latest');
  assert.equal(imageTag('localhost:5000/app:v2'), 'v2');
  assert.equal(imageTag('nginx@sha256:abc'), '');
  const pod = defaultPod({
    metadata: { name: 'p' },
    spec: {
      containers: [
        container('nginx'),
        { ...container('nginx:1.27'), name: 'd' },
        { ...container('a@sha256:1'), name: 'e' },
      ],
    },
  });
  assert.deepEqual(
    pod.spec.containers.map((c) => c.imagePullPolicy),
    ['Always', 'IfNotPresent', 'IfNotPresent'],
  );
});

test('pod defaults like the real apiserver, input untouched', () => {
  const input: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:1.27',
          ports: [{ containerPort: 80 }],
          resources: { limits: { cpu: '500m', memory: '128Mi' } },
          readinessProbe: { httpGet: { port: 80 } },
          env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
        },
      ],
      volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'cfg' } }],
    },
  };
  const pod = defaultObject(input);
  assert.equal(input.spec.restartPolicy, undefined);
  assert.equal(pod.spec.restartPolicy, 'Always');
  assert.equal(pod.spec.terminationGracePeriodSeconds, 30);
  assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
  assert.equal(pod.spec.schedulerName, 'default-scheduler');
  assert.equal(pod.spec.enableServiceLinks, true);
  assert.deepEqual(pod.spec.securityContext, {});
  const c = pod.spec.containers[0];
  assert.equal(c?.terminationMessagePath, '/dev/termination-log');
  assert.equal(c?.terminationMessagePolicy, 'File');
  assert.equal(c?.ports?.[0]?.protocol, 'TCP');
  assert.deepEqual(c?.resources?.requests, { cpu: '500m', memory: '128Mi' });
  assert.deepEqual(c?.readinessProbe, {
    httpGet: { port: 80, path: '/', scheme: 'HTTP' },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(c?.env?.[0]?.valueFrom?.fieldRef?.apiVersion, 'v1');
  assert.deepEqual(pod.spec.volumes?.[0], { name: 'scratch', emptyDir: {} });
  assert.equal(pod.spec.volumes?.[1]?.configMap?.defaultMode, 420);
  assert.equal(podQOSClass(pod.spec), 'Guaranteed');
});

test('admission adds service account, priority and the 300 s NoExecute tolerations once', () => {
  const pod = admitPod(defaultPod({ metadata: { name: 'p' }, spec: { containers: [container('busybox')] } }));
  assert.equal(pod.spec.serviceAccountName, 'default');
  assert.equal(pod.spec.serviceAccount, 'default');
  assert.equal(pod.spec.priority, 0);
  assert.equal(pod.spec.preemptionPolicy, 'PreemptLowerPriority');
  assert.deepEqual(pod.spec.tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ]);
  assert.deepEqual(admitPod(pod).spec.tolerations, pod.spec.tolerations);
  const tolerant = admitPod({
    metadata: { name: 'p' },
    spec: { containers: [], tolerations: [{ operator: 'Exists' }] },
  });
  assert.deepEqual(tolerant.spec.tolerations, [{ operator: 'Exists' }]);
});

test('pod create status and QoS classes', () => {
  const pod = prepareForCreate<Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [container('x')] },
  });
  assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
  assert.equal(podQOSClass({ containers: [{ name: 'a', resources: { requests: { cpu: '100m' } } }] }), 'Burstable');
});

test('workload defaults', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [container('nginx')] } };
  const d = defaultObject<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template },
  });
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
  });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  assert.equal(d.spec.template.spec.enableServiceLinks, undefined, 'templates do not get pod-only defaults');
  const recreate = defaultObject<Deployment>({ ...d, spec: { ...d.spec, strategy: { type: 'Recreate' } } });
  assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });

  const sts = defaultObject<StatefulSet>({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: { selector: {}, template, serviceName: 'db' },
  });
  assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.equal(sts.spec.replicas, 1);
  assert.equal(sts.spec.serviceName, 'db');

  const ds = defaultObject<DaemonSet>({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'x' },
    spec: { selector: {}, template },
  });
  assert.deepEqual(ds.spec.updateStrategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.equal(ds.spec.revisionHistoryLimit, 10);
});

test('job and cronjob defaults; generated job selector', () => {
  const job = defaultObject<Job>({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', uid: 'u-1' },
    spec: { template: { spec: { containers: [container('perl')], restartPolicy: 'Never' } } },
  });
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  assert.equal(job.spec.suspend, false);
  const parallel = defaultObject<Job>({ ...job, spec: { template: job.spec.template, parallelism: 3 } });
  assert.equal(parallel.spec.completions, undefined);
  const created = prepareForCreate(job);
  assert.deepEqual(created.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
  assert.equal(created.spec.template.metadata?.labels?.['job-name'], 'pi');
  assert.equal(created.metadata.labels?.['batch.kubernetes.io/job-name'], 'pi');
  const cj = defaultObject<CronJob>({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'c' },
    spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers: [container('x')] } } } } },
  });
  assert.equal(cj.spec.concurrencyPolicy, 'Allow');
  assert.equal(cj.spec.suspend, false);
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
});

test('service and namespace defaults', () => {
  const svc = defaultObject<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }, { port: 443, targetPort: 'https' }] },
  });
  assert.equal(svc.spec?.type, 'ClusterIP');
  assert.equal(svc.spec?.sessionAffinity, 'None');
  assert.deepEqual(svc.spec?.ports, [
    { port: 80, protocol: 'TCP', targetPort: 80 },
    { port: 443, targetPort: 'https', protocol: 'TCP' },
  ]);
  assert.deepEqual(svc.spec?.ipFamilies, ['IPv4']);
  assert.equal(svc.spec?.internalTrafficPolicy, 'Cluster');
  assert.equal(svc.spec?.externalTrafficPolicy, undefined);
  const np = defaultObject<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'n' },
    spec: { type: 'NodePort', ports: [] },
  });
  assert.equal(np.spec?.externalTrafficPolicy, 'Cluster');

  const ns = prepareForCreate(
    defaultObject<Namespace>({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }),
  );
  assert.deepEqual(ns.metadata.labels, { 'kubernetes.io/metadata.name': 'team-a' });
  assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
  assert.deepEqual(ns.status, { phase: 'Active' });
});

test('secret stringData is folded into base64 data; service clusterIPs follow clusterIP', () => {
  const secret = defaultObject({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    data: { a: 'eA==', b: 'eQ==' },
    stringData: { b: 'hello', c: 'world' },
  } as Secret);
  assert.deepEqual(secret.data, { a: 'eA==', b: 'aGVsbG8=', c: 'd29ybGQ=' });
  assert.equal(secret.stringData, undefined);
  assert.equal(secret.type, 'Opaque');
  const svc = defaultObject<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: { clusterIP: 'None', ports: [] },
  });
  assert.deepEqual(svc.spec?.clusterIPs, ['None']);
});

test('defaulting is idempotent for every defaulted kind', () => {
  const template = {
    metadata: { labels: { a: 'b' } },
    spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] },
  };
  const objects = [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: template.spec },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { clusterIP: '10.0.0.1', ports: [{ port: 80 }] },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { a: 'b' } },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: {} },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { selector: {}, template } },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd' }, spec: { selector: {}, template } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template } },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } },
    },
  ];
  for (const o of objects) {
    const once = defaultObject(o as never);
    assert.deepEqual(defaultObject(once), once, (o as { kind: string }).kind);
  }
});

test('resource quantities are stored canonical and rounded up to milli; hostNetwork hostPorts on pods only', () => {
  const pod = defaultPod({
    metadata: { name: 'p' },
    spec: {
      hostNetwork: true,
      containers: [
        {
          name: 'c',
          image: 'x',
          ports: [{ containerPort: 8080 }],
          resources: { limits: { cpu: '0.5', memory: '1024Mi' }, requests: { cpu: '100u' } },
        },
      ],
    },
  });
  assert.deepEqual(pod.spec.containers[0]?.resources, {
    limits: { cpu: '500m', memory: '1Gi' },
    requests: { cpu: '1m', memory: '1Gi' },
  });
  assert.equal(pod.spec.containers[0]?.ports?.[0]?.hostPort, 8080);
  const d = defaultObject<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: {
      selector: {},
      template: {
        spec: { hostNetwork: true, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] },
      },
    },
  });
  assert.equal(d.spec.template.spec.containers[0]?.ports?.[0]?.hostPort, undefined);
});

test('ClientIP session affinity gets the 3 h default timeout', () => {
  const svc = defaultObject<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] },
  });
  assert.deepEqual(svc.spec?.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
});
