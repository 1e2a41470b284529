import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Deployment,
  defaultObject,
  errorString,
  invalidStatusFor,
  type Job,
  type KubeObject,
  type Pod,
  type Service,
  type StatefulSet,
  validateObject,
  validateObjectUpdate,
} from '../src/index.js';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

function messages(obj: KubeObject, old?: KubeObject): string[] {
  return (old === undefined ? validateObject(obj) : validateObjectUpdate(obj, old)).map(errorString);
}

function pod(name: string, spec: Partial<Pod['spec']> = {}): Pod {
  return defaultObject<Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
  });
}

function deployment(labels: Record<string, string>, selector: Record<string, string>, replicas = 1): Deployment {
  return defaultObject<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      template: { metadata: { labels }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
    },
  });
}

test('a valid pod and deployment have no errors', () => {
  assert.deepEqual(messages(pod('p1')), []);
  assert.deepEqual(messages(deployment({ app: 'web' }, { app: 'web' })), []);
});

test('metadata.name rules with the real messages', () => {
  assert.deepEqual(messages(pod('Bad_Name')), [`metadata.name: Invalid value: "Bad_Name": ${SUBDOMAIN_MSG}`]);
  assert.deepEqual(messages({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } }), [
    `metadata.name: Invalid value: "a.b": ${LABEL_MSG}`,
  ]);
  assert.deepEqual(messages(pod('')), ['metadata.name: Required value: name or generateName is required']);
  const svc = messages({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: '1svc', namespace: 'd' },
    spec: { ports: [{ port: 80, protocol: 'TCP' }] },
  } as Service);
  assert.deepEqual(svc, [
    `metadata.name: Invalid value: "1svc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
  ]);
  const gen = pod('web-abcde');
  gen.metadata.generateName = 'Web-';
  assert.equal(messages(gen)[0], `metadata.generateName: Invalid value: "Web-": ${SUBDOMAIN_MSG}`);
  const ok = pod('web-abcde');
  ok.metadata.generateName = 'web-';
  assert.deepEqual(messages(ok), []);
  const noNs = pod('p');
  noNs.metadata.namespace = undefined;
  assert.deepEqual(messages(noNs), ['metadata.namespace: Required value']);
  assert.deepEqual(messages({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', namespace: 'x' } }), [
    'metadata.namespace: Forbidden: not allowed on this type',
  ]);
});

test('labels and annotations', () => {
  const p = pod('p');
  p.metadata.labels = { 'bad key!': 'v', ok: 'bad value!' };
  p.metadata.annotations = { 'a/b/c': 'x' };
  assert.deepEqual(messages(p), [
    `metadata.labels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    `metadata.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    `metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
  ]);
});

test('pod containers: required name/image, duplicates, ports, policies', () => {
  assert.deepEqual(messages(pod('p', { containers: [] })), ['spec.containers: Required value']);
  const bad = pod('p', {
    containers: [
      { name: 'a', image: '' },
      {
        name: 'a',
        image: 'x',
        ports: [
          { containerPort: 70000, protocol: 'TCP' },
          { containerPort: 0, protocol: 'HTTP' as 'TCP' },
        ],
      },
      { name: '', image: 'y', imagePullPolicy: 'Sometimes' as 'Always' },
    ],
    restartPolicy: 'Sometimes' as 'Always',
  });
  assert.deepEqual(messages(bad), [
    'spec.containers[0].image: Required value',
    'spec.containers[1].name: Duplicate value: "a"',
    'spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    'spec.containers[1].ports[1].containerPort: Required value',
    'spec.containers[1].ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    'spec.containers[2].name: Required value',
    'spec.containers[2].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  ]);
  const res = pod('p', {
    containers: [
      {
        name: 'c',
        image: 'x',
        resources: { requests: { cpu: '2' }, limits: { cpu: '1' } },
        volumeMounts: [{ name: 'data', mountPath: '/d' }],
      },
    ],
  });
  assert.deepEqual(messages(res), [
    'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    'spec.containers[0].volumeMounts[0].name: Not found: "data"',
  ]);
});

test('deployment selector must match template labels; replicas >= 0', () => {
  const d = deployment({ app: 'other' }, { app: 'web' }, -1);
  const status = invalidStatusFor(d, validateObject(d));
  assert.equal(
    status?.message,
    'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`]',
  );
  assert.deepEqual(status?.details?.causes?.[1], {
    reason: 'FieldValueInvalid',
    message: 'Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
    field: 'spec.template.metadata.labels',
  });
  assert.equal(status?.details?.kind, 'Deployment');
  assert.equal(status?.details?.group, 'apps');
  const noSel = deployment({ app: 'web' }, {});
  assert.deepEqual(messages(noSel), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  ]);
  const never = deployment({ app: 'web' }, { app: 'web' });
  never.spec.template.spec.restartPolicy = 'Never';
  assert.deepEqual(messages(never), [
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  ]);
});

test('immutable fields on update', () => {
  const old = deployment({ app: 'web' }, { app: 'web' });
  const changed = deployment({ app: 'web2' }, { app: 'web2' });
  assert.deepEqual(messages(changed, old), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
  const scaled = deployment({ app: 'web' }, { app: 'web' }, 5);
  assert.deepEqual(messages(scaled, old), []);
  const renamed = structuredClone(old);
  renamed.metadata.name = 'other';
  assert.deepEqual(messages(renamed, old), ['metadata.name: Invalid value: "other": field is immutable']);

  const p = pod('p');
  const newImage = structuredClone(p);
  (newImage.spec.containers[0] as { image: string }).image = 'nginx:2';
  assert.deepEqual(messages(newImage, p), []);
  const newPolicy = structuredClone(p);
  newPolicy.spec.restartPolicy = 'Never';
  assert.match(
    messages(newPolicy, p)[0] ?? '',
    /^spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/,
  );

  const sts = defaultObject<StatefulSet>({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'd' },
    spec: {
      serviceName: 'db',
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
  });
  const sts2 = structuredClone(sts);
  sts2.spec.serviceName = 'other';
  assert.deepEqual(messages(sts2, sts), [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
  const svc = defaultObject<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'd' },
    spec: { clusterIP: '10.96.0.5', ports: [{ port: 80 }] },
  });
  const svc2 = structuredClone(svc);
  if (svc2.spec) svc2.spec.clusterIP = '10.96.0.6';
  assert.deepEqual(messages(svc2, svc), [
    'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.6"}: may not change once set',
  ]);
});

test('service ports and jobs', () => {
  const svc = defaultObject<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'd' },
    spec: { ports: [{ port: 0 }, { port: 80, name: 'web', nodePort: 30080 }] },
  });
  assert.deepEqual(messages(svc), [
    'spec.ports[0].name: Required value',
    'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
    'spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive',
    "spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
  ]);
  assert.deepEqual(
    messages({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'd' }, spec: {} } as Service),
    ['spec.ports: Required value'],
  );
  const job = defaultObject<Job>({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', namespace: 'd' },
    spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } },
  });
  assert.deepEqual(messages(job), [
    'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);
  assert.deepEqual(
    messages({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c', namespace: 'd' },
      spec: {
        schedule: 'bad',
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } },
        },
      },
    } as KubeObject),
    ['spec.schedule: Invalid value: "bad": expected exactly 5 fields, found 1: [bad]'],
  );
});

test('configmap keys', () => {
  assert.deepEqual(
    messages({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'd' },
      data: { 'a b': 'x' },
    } as KubeObject),
    [
      "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    ],
  );
});
