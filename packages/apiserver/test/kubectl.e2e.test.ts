// The real kubectl v1.32 against a real apiserver process over a real 3-member etcd (issue 5,
// acceptance 1 and 3). One cluster for the whole file; each test uses its own object names.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { TestCluster, waitFor } from './helpers/cluster.js';

let c: TestCluster;

before(async () => {
  c = await TestCluster.start({ apiserverArgs: ['--max-request-bytes', '262144'] });
});

after(async () => {
  await c?.destroy();
});

const deployment = (name: string, replicas: number, image = 'nginx:1.27') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: nginx
        image: ${image}
`;

async function api(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${c.api.url}${path}`, {
    method,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    headers: { 'content-type': contentType },
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text };
}

test('version reports v1.32 so the dispatcher runs kubectl 1.32', async () => {
  const out = await c.k(['version']);
  assert.match(out, /Server Version: v1\.32\.4/);
});

test('api-resources lists built-in kinds with short names', async () => {
  const out = await c.k(['api-resources']);
  assert.match(out, /^pods\s+po\s+v1\s+true\s+Pod$/m);
  assert.match(out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  assert.match(out, /^nodes\s+no\s+v1\s+false\s+Node$/m);
});

test('bootstrap: the system namespaces and the kubernetes Service; system namespaces cannot be deleted', async () => {
  const out = await c.k(['get', 'ns']);
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    assert.match(out, new RegExp(`^${ns}\\s+Active\\s+\\d+s`, 'm'));
  }
  await waitFor('the kubernetes Service', async () => (await c.kubectl(['get', 'svc', 'kubernetes'])).code === 0);
  assert.match(
    await c.k(['get', 'svc', 'kubernetes']),
    /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+/m,
  );
  const del = await c.kubectl(['delete', 'ns', 'kube-system']);
  assert.match(
    del.stderr,
    /Error from server \(Forbidden\): namespaces "kube-system" is forbidden: this namespace may not be deleted/,
  );
});

test('apply creates then configures, unchanged on a no-op; client-side and server-side', async () => {
  const f = c.writeFile('web.yaml', deployment('web', 2));
  assert.equal((await c.k(['apply', '-f', f])).trim(), 'deployment.apps/web created');
  assert.equal((await c.k(['apply', '-f', f])).trim(), 'deployment.apps/web unchanged');
  c.writeFile('web.yaml', deployment('web', 3));
  assert.equal((await c.k(['apply', '-f', f])).trim(), 'deployment.apps/web configured');
  const d = JSON.parse(await c.k(['get', 'deploy', 'web', '-o', 'json'])) as {
    spec: { replicas: number };
    metadata: { generation: number; annotations: Record<string, string> };
  };
  assert.equal(d.spec.replicas, 3);
  assert.equal(d.metadata.generation, 2);
  assert.ok(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  const ssa = c.writeFile('ssa.yaml', deployment('ssa', 1));
  assert.equal((await c.k(['apply', '--server-side', '-f', ssa])).trim(), 'deployment.apps/ssa serverside-applied');
  c.writeFile('ssa.yaml', deployment('ssa', 4, 'nginx:1.28'));
  assert.equal((await c.k(['apply', '--server-side', '-f', ssa])).trim(), 'deployment.apps/ssa serverside-applied');
  assert.equal(
    await c.k(['get', 'deploy', 'ssa', '-o', 'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}']),
    '4 nginx:1.28',
  );
});

test('server-side apply tracks field managers: conflicts, --force-conflicts, and removing what it no longer applies', async () => {
  const manifest = (labels: string, replicas: number) =>
    c.writeFile(
      'owned.yaml',
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: owned
  labels: {${labels}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: owned}}
  template:
    metadata: {labels: {app: owned}}
    spec:
      containers: [{name: web, image: nginx}]
`,
    );
  await c.k(['apply', '--server-side', '-f', manifest('a: "1", b: "2"', 2)]);
  await c.k(['apply', '--server-side', '-f', manifest('a: "1"', 2)]);
  assert.equal(await c.k(['get', 'deploy', 'owned', '-o', 'jsonpath={.metadata.labels}']), '{"a":"1"}');
  // A label added by another manager survives the applier's next apply.
  await c.k(['label', 'deploy', 'owned', 'extra=yes']);
  await c.k(['scale', 'deploy', 'owned', '--replicas=5']);
  const conflict = await c.kubectl(['apply', '--server-side', '-f', manifest('a: "1"', 2)]);
  assert.equal(conflict.code, 1);
  assert.match(
    conflict.stderr,
    /^error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps\/v1: \.spec\.replicas$/m,
  );
  assert.equal(await c.k(['get', 'deploy', 'owned', '-o', 'jsonpath={.spec.replicas}']), '5');
  await c.k(['apply', '--server-side', '--force-conflicts', '-f', manifest('a: "1"', 2)]);
  assert.equal(
    await c.k(['get', 'deploy', 'owned', '-o', 'jsonpath={.spec.replicas} {.metadata.labels}']),
    '2 {"a":"1","extra":"yes"}',
  );
  const managers = JSON.parse(await c.k(['get', 'deploy', 'owned', '-o', 'json', '--show-managed-fields'])) as {
    metadata: { managedFields: { manager: string; operation: string }[] };
  };
  assert.deepEqual(
    managers.metadata.managedFields.map((m) => `${m.manager}/${m.operation}`),
    ['kubectl-label/Update', 'kubectl/Apply'],
  );
});

test('policy, rbac, networking, storage and scheduling kinds: kubectl create and get print as upstream', async () => {
  await c.k(['create', 'pdb', 'web-pdb', '--selector=app=web', '--min-available=1']);
  assert.match(
    await c.k(['get', 'pdb', 'web-pdb']),
    /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\nweb-pdb\s+1\s+N\/A\s+0\s+\d+s\n$/,
  );
  await c.k(['create', 'role', 'reader', '--verb=get,list', '--resource=pods']);
  await c.k(['create', 'rolebinding', 'reader', '--role=reader', '--user=alice', '--serviceaccount=default:default']);
  assert.match(
    await c.k(['get', 'rolebinding', 'reader', '-o', 'wide']),
    /^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS\nreader\s+Role\/reader\s+\d+s\s+alice\s+default\/default\n$/,
  );
  assert.match(await c.k(['get', 'role', 'reader']), /^NAME\s+CREATED AT\nreader\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
  await c.k(['create', 'ingress', 'web', '--rule=foo.com/=web:80', '--class=nginx']);
  assert.match(
    await c.k(['get', 'ing', 'web']),
    /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\nweb\s+nginx\s+foo\.com\s+80\s+\d+s\n$/,
  );
  // The built-in PriorityClasses exist; a pod gets its class's value; an unknown class is refused.
  assert.match(await c.k(['get', 'pc', 'system-node-critical']), /system-node-critical\s+2000001000\s+false/);
  await c.k(['create', 'priorityclass', 'high', '--value=1000']);
  await c.k(['run', 'prio', '-n', 'kube-public', '--image=nginx', '--overrides={"spec":{"priorityClassName":"high"}}']);
  assert.equal(await c.k(['get', 'pod', 'prio', '-n', 'kube-public', '-o', 'jsonpath={.spec.priority}']), '1000');
  await c.k(['delete', 'pod', 'prio', '-n', 'kube-public']); // later tests count every pod
  const refused = await c.kubectl([
    'run',
    'noprio',
    '--image=nginx',
    '--overrides={"spec":{"priorityClassName":"nope"}}',
  ]);
  assert.equal(
    refused.stderr.trim(),
    'Error from server (Forbidden): pods "noprio" is forbidden: no PriorityClass with name nope was found',
  );
  await c.k(['apply', '-f', '-'], {
    input:
      'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: fast\n  annotations: {storageclass.kubernetes.io/is-default-class: "true"}\nprovisioner: kemu.dev/hostpath\n',
  });
  assert.match(
    await c.k(['get', 'sc', 'fast']),
    /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE\nfast \(default\)\s+kemu\.dev\/hostpath\s+Delete\s+Immediate\s+false\s+\d+s\n$/,
  );
});

test('get in all its forms: wide, yaml, json, -n, -A, --show-labels, -l, all, several names and types', async () => {
  await c.k(['run', 'p1', '--image=nginx', '--labels=app=p1,tier=web']);
  await c.k(['run', 'p2', '--image=busybox', '--labels=app=p2']);
  await c.k(['run', 'sys1', '--image=nginx', '-n', 'kube-system']);
  const table = await c.k(['get', 'pods']);
  assert.match(table, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
  assert.match(table, /^p1\s+0\/1\s+Pending\s+0\s+\d+s$/m);
  const wide = await c.k(['get', 'pods', '-o', 'wide']);
  assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
  const yaml = await c.k(['get', 'pod', 'p1', '-o', 'yaml']);
  assert.match(yaml, /^kind: Pod$/m);
  assert.match(yaml, /serviceAccountName: default/);
  assert.match(yaml, /tolerationSeconds: 300/);
  const json = JSON.parse(await c.k(['get', 'pods', '-o', 'json'])) as { kind: string; items: unknown[] };
  assert.equal(json.kind, 'List');
  assert.equal(json.items.length, 2);
  assert.match(await c.k(['get', 'po', '-n', 'kube-system']), /^sys1\s+0\/1\s+Pending/m);
  const all = await c.k(['get', 'pods', '-A']);
  assert.match(all, /^NAMESPACE\s+NAME\s+READY/m);
  assert.match(all, /^kube-system\s+sys1\s+/m);
  assert.match(all, /^default\s+p1\s+/m);
  assert.match(await c.k(['get', 'pods', '--show-labels']), /^p1\s+.*app=p1,tier=web$/m);
  const sel = await c.k(['get', 'pods', '-l', 'tier=web', '-o', 'name']);
  assert.equal(sel.trim(), 'pod/p1');
  const fsel = await c.k(['get', 'pods', '--field-selector', 'metadata.name=p2', '-o', 'name']);
  assert.equal(fsel.trim(), 'pod/p2');
  const everything = await c.k(['get', 'all']);
  assert.match(everything, /^pod\/p1\s+/m);
  assert.match(everything, /^deployment\.apps\/web\s+0\/3\s+0\s+0\s+/m);
  const several = await c.k(['get', 'pod/p1', 'deployment/web', '-o', 'name']);
  assert.deepEqual(several.trim().split('\n'), ['pod/p1', 'deployment.apps/web']);
  const names = await c.k(['get', 'pods', 'p1', 'p2', '--no-headers', '-o', 'custom-columns=N:.metadata.name']);
  assert.deepEqual(names.trim().split('\n'), ['p1', 'p2']);
  const chunked = await c.k(['get', 'pods', '-A', '--chunk-size=1', '-o', 'name']);
  assert.equal(chunked.trim().split('\n').length, 3);
  const missing = await c.kubectl(['get', 'pod', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Error from server \(NotFound\): pods "nope" not found/);
  const nons = await c.kubectl(['get', 'pod', 'x', '-n', 'nope-ns']);
  assert.match(nons.stderr, /namespaces "nope-ns" not found/);
});

test('get -w streams changes as table rows', async () => {
  await c.k(['run', 'w1', '--image=nginx', '--labels=app=w1']);
  const watch: ChildProcess = spawn('kubectl', [`--cache-dir=${c.cacheDir}`, 'get', 'pods', '-w', '-l', 'app=w1'], {
    env: { ...process.env, KUBECONFIG: c.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  watch.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const rows = () => (out.match(/^w1\s+0\/1\s+Pending/gm) ?? []).length;
  try {
    await waitFor('the listed row', () => rows() === 1);
    await c.k(['label', 'pod', 'w1', 'extra=1']);
    await waitFor('MODIFIED row', () => rows() >= 2);
    await c.k(['delete', 'pod', 'w1']);
    await waitFor('DELETED row', () => rows() >= 3);
    assert.match(out, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    assert.equal((out.match(/^NAME/gm) ?? []).length, 1, 'one header');
    assert.equal(watch.exitCode, null, 'kubectl get -w keeps running');
  } finally {
    watch.kill('SIGKILL');
  }
});

test('create namespace and create -f; namespace admission; already exists', async () => {
  const nsFile = c.writeFile('ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n');
  assert.equal((await c.k(['create', '-f', nsFile])).trim(), 'namespace/team-a created');
  const cm = c.writeFile('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {k: v}\n');
  assert.equal((await c.k(['create', '-f', cm, '-n', 'team-a'])).trim(), 'configmap/cfg created');
  const again = await c.kubectl(['create', '-f', cm, '-n', 'team-a']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Error from server \(AlreadyExists\).*configmaps "cfg" already exists/);
  const nons = await c.kubectl(['create', '-f', cm, '-n', 'ghost']);
  assert.match(nons.stderr, /Error from server \(NotFound\).*namespaces "ghost" not found/);
  assert.match(await c.k(['get', 'cm', '-n', 'team-a']), /^cfg\s+1\s+\d+s$/m);
});

test('typed generators send protobuf: create namespace, configmap, secret, deployment, service', async () => {
  assert.equal((await c.k(['create', 'namespace', 'pb'])).trim(), 'namespace/pb created');
  assert.equal(
    (await c.k(['create', 'configmap', 'pbc', '-n', 'pb', '--from-literal=a=b'])).trim(),
    'configmap/pbc created',
  );
  assert.equal(
    (await c.k(['create', 'secret', 'generic', 'pbs', '-n', 'pb', '--from-literal=pw=s3cret'])).trim(),
    'secret/pbs created',
  );
  assert.equal(
    (await c.k(['create', 'deployment', 'pbd', '-n', 'pb', '--image=nginx', '--replicas=2'])).trim(),
    'deployment.apps/pbd created',
  );
  assert.equal(
    (await c.k(['create', 'service', 'clusterip', 'pbsvc', '-n', 'pb', '--tcp=80:8080'])).trim(),
    'service/pbsvc created',
  );
  assert.equal(await c.k(['get', 'cm', 'pbc', '-n', 'pb', '-o', 'jsonpath={.data.a}']), 'b');
  assert.equal(
    await c.k(['get', 'secret', 'pbs', '-n', 'pb', '-o', 'jsonpath={.data.pw}']),
    Buffer.from('s3cret').toString('base64'),
  );
  assert.match(await c.k(['get', 'deploy', '-n', 'pb']), /^pbd\s+0\/2\s+0\s+0\s+\d+s$/m);
  assert.match(
    await c.k(['get', 'svc', '-n', 'pb']),
    /^pbsvc\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s$/m,
  );
  const ip = await c.k(['get', 'svc', 'pbsvc', '-n', 'pb', '-o', 'jsonpath={.spec.clusterIP}']);
  const taken = await c.kubectl([
    'create',
    '-n',
    'pb',
    '-f',
    c.writeFile(
      'svc2.json',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'twin' },
        spec: { clusterIP: ip, ports: [{ port: 80 }] },
      }),
    ),
  ]);
  assert.match(
    taken.stderr,
    new RegExp(
      `The Service "twin" is invalid: spec.clusterIPs: Invalid value: \\[\\]string\\{"${ip.replace(/\./g, '\\.')}"\\}: failed to allocate IP ${ip.replace(/\./g, '\\.')}: provided IP is already allocated`,
    ),
  );
  await c.k(['expose', 'deployment', 'pbd', '-n', 'pb', '--name=pbnp', '--type=NodePort', '--port=80']);
  assert.match(
    await c.k(['get', 'svc', 'pbnp', '-n', 'pb']),
    /^pbnp\s+NodePort\s+10\.96\.\S+\s+<none>\s+80:3\d{4}\/TCP\s+/m,
  );
  const dup = await c.kubectl(['create', 'namespace', 'pb']);
  assert.match(dup.stderr, /Error from server \(AlreadyExists\): namespaces "pb" already exists/);
});

test('server-side dry run and diff change nothing', async () => {
  const f = c.writeFile('dry.yaml', deployment('dry', 1));
  assert.equal(
    (await c.k(['apply', '--dry-run=server', '-f', f])).trim(),
    'deployment.apps/dry created (server dry run)',
  );
  assert.equal((await c.kubectl(['get', 'deploy', 'dry'])).code, 1);
  assert.equal(
    (await c.k(['delete', 'deploy', 'web', '--dry-run=server'])).trim(),
    'deployment.apps "web" deleted (server dry run)',
  );
  assert.equal((await c.kubectl(['get', 'deploy', 'web'])).code, 0);
  const web = c.writeFile('web-diff.yaml', deployment('web', 9));
  const diff = await c.kubectl(['diff', '-f', web]);
  assert.equal(diff.code, 1, diff.stderr);
  assert.match(diff.stdout, /^- {2}replicas: 3$/m);
  assert.match(diff.stdout, /^\+ {2}replicas: 9$/m);
  assert.equal(await c.k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '3');
});

test('scale deployment and statefulset through the scale subresource', async () => {
  await c.k(['apply', '-f', c.writeFile('sc.yaml', deployment('sc', 1))]);
  assert.equal((await c.k(['scale', 'deployment', 'sc', '--replicas=3'])).trim(), 'deployment.apps/sc scaled');
  assert.equal(await c.k(['get', 'deploy', 'sc', '-o', 'jsonpath={.spec.replicas}/{.metadata.generation}']), '3/2');
  assert.equal(
    (await c.k(['scale', 'deployment', 'sc', '--current-replicas=3', '--replicas=5'])).trim(),
    'deployment.apps/sc scaled',
  );
  const wrong = await c.kubectl(['scale', 'deployment', 'sc', '--current-replicas=1', '--replicas=2']);
  assert.notEqual(wrong.code, 0);
  const sts = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: kv, image: kemu/kv}]}
`;
  await c.k(['apply', '-f', c.writeFile('sts.yaml', sts)]);
  assert.equal((await c.k(['scale', 'statefulset', 'db', '--replicas=3'])).trim(), 'statefulset.apps/db scaled');
  assert.equal(await c.k(['get', 'sts', 'db', '-o', 'jsonpath={.spec.replicas}']), '3');
});

test('label, annotate and patch (strategic, merge, json)', async () => {
  await c.k(['apply', '-f', c.writeFile('pt.yaml', deployment('pt', 1))]);
  assert.equal((await c.k(['label', 'deploy', 'pt', 'team=blue'])).trim(), 'deployment.apps/pt labeled');
  assert.equal((await c.k(['annotate', 'deploy', 'pt', 'owner=me'])).trim(), 'deployment.apps/pt annotated');
  await c.k([
    'patch',
    'deploy',
    'pt',
    '-p',
    '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:2"}]}}}}',
  ]);
  await c.k(['patch', 'deploy', 'pt', '--type=merge', '-p', '{"spec":{"paused":true}}']);
  await c.k(['patch', 'deploy', 'pt', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":2}]']);
  const d = JSON.parse(await c.k(['get', 'deploy', 'pt', '-o', 'json'])) as {
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    spec: { replicas: number; paused: boolean; template: { spec: { containers: { image: string }[] } } };
  };
  assert.equal(d.metadata.labels.team, 'blue');
  assert.equal(d.metadata.annotations.owner, 'me');
  assert.equal(d.spec.template.spec.containers.length, 1);
  assert.equal(d.spec.template.spec.containers[0]?.image, 'nginx:2');
  assert.equal(d.spec.paused, true);
  assert.equal(d.spec.replicas, 2);
  const badJson = await c.kubectl([
    'patch',
    'deploy',
    'pt',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/nope/x","value":1}]',
  ]);
  assert.equal(badJson.code, 1);
});

test('edit through KUBE_EDITOR', async () => {
  await c.k(['apply', '-f', c.writeFile('ed.yaml', deployment('ed', 1))]);
  const editor = c.writeFile('editor.sh', '#!/bin/sh\nsed -i "s/replicas: 1/replicas: 7/" "$1"\n');
  await import('node:fs').then((fs) => fs.chmodSync(editor, 0o755));
  const out = await c.k(['edit', 'deployment', 'ed'], { env: { KUBE_EDITOR: editor } });
  assert.equal(out.trim(), 'deployment.apps/ed edited');
  assert.equal(await c.k(['get', 'deploy', 'ed', '-o', 'jsonpath={.spec.replicas}']), '7');
});

test('describe pod (with events), deployment and node', async () => {
  const uid = await c.k(['get', 'pod', 'p1', '-o', 'jsonpath={.metadata.uid}']);
  const ev = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'p1.1', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'p1', uid, apiVersion: 'v1' },
    reason: 'Scheduled',
    message: 'Successfully assigned default/p1 to node-1',
    source: { component: 'default-scheduler' },
    firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    count: 1,
    type: 'Normal',
  };
  await c.k(['create', '-f', c.writeFile('ev.json', JSON.stringify(ev))]);
  const pod = await c.k(['describe', 'pod', 'p1']);
  assert.match(pod, /^Name:\s+p1$/m);
  assert.match(pod, /^Status:\s+Pending$/m);
  assert.match(pod, /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default\/p1 to node-1/);
  const dep = await c.k(['describe', 'deployment', 'web']);
  assert.match(dep, /^Replicas:\s+3 desired/m);
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok' }] },
  };
  await c.k(['create', '-f', c.writeFile('node.json', JSON.stringify(node))]);
  const nd = await c.k(['describe', 'node', 'node-1']);
  assert.match(nd, /^Name:\s+node-1$/m);
  assert.match(await c.k(['get', 'nodes']), /^node-1\s+Ready\s+<none>\s+\d+s/m);
});

test('rollout history reads the ReplicaSets the deployment owns', async () => {
  const uid = await c.k(['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.uid}']);
  const rs = (rev: number, image: string) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${rev}abc`,
      labels: { app: 'web', 'pod-template-hash': `${rev}abc` },
      annotations: { 'deployment.kubernetes.io/revision': String(rev) },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': `${rev}abc` } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': `${rev}abc` } },
        spec: { containers: [{ name: 'nginx', image }] },
      },
    },
  });
  await c.k(['create', '-f', c.writeFile('rs1.json', JSON.stringify(rs(1, 'nginx:1.26')))]);
  await c.k(['create', '-f', c.writeFile('rs2.json', JSON.stringify(rs(2, 'nginx:1.27')))]);
  const out = await c.k(['rollout', 'history', 'deployment/web']);
  assert.match(out, /^REVISION\s+CHANGE-CAUSE$/m);
  assert.match(out, /^1\s+<none>$/m);
  assert.match(out, /^2\s+<none>$/m);
  // undo sends a JSON patch with the chosen ReplicaSet's template (minus pod-template-hash).
  assert.equal(
    (await c.k(['rollout', 'undo', 'deployment/web', '--to-revision=1'])).trim(),
    'deployment.apps/web rolled back',
  );
  assert.equal(
    await c.k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']),
    'nginx:1.26',
  );
});

test('delete waits until gone: unbound pod at once, bound pod after the kubelet confirms', async () => {
  assert.equal((await c.k(['delete', 'pod', 'p2'])).trim(), 'pod "p2" deleted');
  assert.equal((await c.kubectl(['get', 'pod', 'p2'])).code, 1);
  await c.k(['run', 'bound', '--image=nginx']);
  const bind = await api('POST', '/api/v1/namespaces/default/pods/bound/binding', {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'bound' },
    target: { kind: 'Node', name: 'node-1' },
  });
  assert.equal(bind.status, 201);
  const rebind = await api('POST', '/api/v1/namespaces/default/pods/bound/binding', {
    metadata: { name: 'bound' },
    target: { kind: 'Node', name: 'node-2' },
  });
  assert.equal(rebind.status, 409);
  let done = false;
  const del = c.kubectl(['delete', 'pod', 'bound']).then((r) => {
    done = true;
    return r;
  });
  await waitFor('Terminating', async () => /Terminating/.test(await c.k(['get', 'pod', 'bound'])));
  assert.equal(done, false, 'kubectl delete waits while the pod terminates');
  const pod = (await api('GET', '/api/v1/namespaces/default/pods/bound')).body as {
    metadata: { deletionGracePeriodSeconds: number; deletionTimestamp: string };
  };
  assert.equal(pod.metadata.deletionGracePeriodSeconds, 30);
  // The kubelet's confirmation: a delete with grace period 0.
  const confirm = await api('DELETE', '/api/v1/namespaces/default/pods/bound', { gracePeriodSeconds: 0 });
  assert.equal(confirm.status, 200);
  const r = await del;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'pod "bound" deleted');
});

test('cordon and drain: the node is marked unschedulable and its pods are evicted', async () => {
  await c.k(['run', 'drained', '--image=nginx']);
  const bind = await api('POST', '/api/v1/namespaces/default/pods/drained/binding', {
    metadata: { name: 'drained' },
    target: { kind: 'Node', name: 'node-1' },
  });
  assert.equal(bind.status, 201);
  const out = await c.k(['drain', 'node-1', '--force', '--grace-period=0', '--timeout=30s']);
  assert.match(out, /node\/node-1 cordoned/);
  assert.match(out, /pod\/drained evicted/);
  assert.match(out, /node\/node-1 drained/);
  assert.match(await c.k(['get', 'node', 'node-1']), /^node-1\s+Ready,SchedulingDisabled\s+/m);
  assert.equal((await c.kubectl(['get', 'pod', 'drained'])).code, 1);
  assert.equal((await c.k(['uncordon', 'node-1'])).trim(), 'node/node-1 uncordoned');
});

test('finalizers hold deletion until an update empties them', async () => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n';
  await c.k(['create', '-f', c.writeFile('held.yaml', cm)]);
  assert.match(await c.k(['delete', 'cm', 'held', '--wait=false']), /configmap "held" deleted/);
  const obj = (await api('GET', '/api/v1/namespaces/default/configmaps/held')).body as {
    metadata: Record<string, unknown>;
  };
  assert.ok(obj.metadata.deletionTimestamp);
  await c.k(['patch', 'cm', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  assert.equal((await api('GET', '/api/v1/namespaces/default/configmaps/held')).status, 404);
});

test('bad input gets real Status errors and leaves nothing half-written', async () => {
  const etcd = c.etcdClient();
  const before = await etcd.count('/registry/');
  const malformedYaml = await c.kubectl([
    'apply',
    '-f',
    c.writeFile('bad.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n'),
  ]);
  assert.equal(malformedYaml.code, 1);
  const unknownField = await c.kubectl([
    'apply',
    '-f',
    c.writeFile(
      'uf.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: uf}\nspec:\n  foo: 1\n  containers: [{name: c, image: nginx}]\n',
    ),
  ]);
  assert.match(
    unknownField.stderr,
    /Error from server \(BadRequest\).*strict decoding error: unknown field "spec.foo"/,
  );
  const warned = await c.kubectl([
    'create',
    '--validate=warn',
    '-f',
    c.writeFile('uf2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: warned}\ncolour: blue\n'),
  ]);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(warned.stderr, /Warning: unknown field "colour"/);
  await c.k(['delete', 'cm', 'warned']);
  const badName = await c.kubectl([
    'apply',
    '-f',
    c.writeFile('bn.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n'),
  ]);
  assert.match(badName.stderr, /ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"/);
  const invalid = await c.kubectl(['apply', '-f', c.writeFile('inv.yaml', deployment('inv', -1))]);
  assert.match(
    invalid.stderr,
    /The Deployment "inv" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0/,
  );
  const rawJson = await api('POST', '/api/v1/namespaces/default/configmaps', '{"kind": "ConfigMap", ');
  assert.equal(rawJson.status, 400);
  assert.equal((rawJson.body as { reason: string }).reason, 'BadRequest');
  const wrongType = await api('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 7 } });
  assert.equal(wrongType.status, 400);
  const huge = await api('POST', '/api/v1/namespaces/default/configmaps', {
    metadata: { name: 'huge' },
    data: { k: 'x'.repeat(300 * 1024) },
  });
  assert.equal(huge.status, 413);
  assert.equal((huge.body as { reason: string }).reason, 'RequestEntityTooLarge');
  const cm = (await api('GET', '/api/v1/namespaces/team-a/configmaps/cfg')).body as {
    metadata: { resourceVersion: string };
  };
  await c.k(['label', 'cm', 'cfg', '-n', 'team-a', 'bump=1']);
  const stale = await api('PUT', '/api/v1/namespaces/team-a/configmaps/cfg', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: 'team-a', resourceVersion: cm.metadata.resourceVersion },
    data: { k: 'stale' },
  });
  assert.equal(stale.status, 409);
  assert.equal(
    (stale.body as { message: string }).message,
    'Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again',
  );
  assert.equal((await api('GET', '/api/v1/namespaces/%zz/pods')).status, 404);
  assert.equal((await api('GET', '/apis/nope.example.com/v1/widgets')).status, 404);
  assert.equal((await api('PUT', '/api/v1/namespaces/team-a/configmaps')).status, 405);
  const unsupported = await api('PATCH', '/api/v1/namespaces/team-a/configmaps/cfg', '{}', 'text/plain');
  assert.equal(unsupported.status, 415);
  assert.equal(await etcd.count('/registry/'), before, 'no failed request wrote to etcd');
  assert.equal((await fetch(`${c.api.url}/readyz`)).status, 200);
});
