/**
 * Proves the protobuf subset's field numbers against the real kubectl: each typed `kubectl create`
 * generator POSTs a protobuf body to a stub apiserver; the decoded object must equal what the same
 * command prints with `--dry-run=client -o json` (the generator's object rendered by Go's JSON).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decodeKubernetesProtobuf,
  type JsonObject,
  type JsonValue,
  KUBERNETES_PROTOBUF_CONTENT_TYPE,
} from '../src/protobuf/index.js';
import {
  type KubectlEnv,
  kubectlEnv,
  runKubectl,
  type StubApiserver,
  sendJson,
  startStubApiserver,
} from './fixtures/streams-kubectl.js';

interface Captured {
  method: string;
  path: string;
  contentType: string;
  body: Buffer;
}

/** Drops what Go's JSON prints for unset non-pointer structs: `null` times and empty objects. */
function normalize(value: JsonValue): JsonValue | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map((v) => normalize(v) ?? null);
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const n = normalize(v);
      if (n === undefined) continue;
      if (typeof n === 'object' && n !== null && !Array.isArray(n) && Object.keys(n).length === 0) continue;
      out[k] = n;
    }
    return out;
  }
  return value;
}

const BINARY_FILE = path.join(mkdtempSync(path.join(os.tmpdir(), 'kemu-pb-')), 'bin');
writeFileSync(BINARY_FILE, Buffer.from([0xff, 0x00, 0x80, 0x0a, 0x41]));

describe('protobuf bodies from real kubectl create', () => {
  let server: StubApiserver;
  let env: KubectlEnv;
  const captured: Captured[] = [];

  before(async () => {
    server = await startStubApiserver({
      route: (req, body, res) => {
        // `kubectl autoscale` reads its target first.
        if (req.method === 'GET' && req.url?.startsWith('/apis/apps/v1/namespaces/default/deployments/web')) {
          sendJson(res, 200, {
            kind: 'Deployment',
            apiVersion: 'apps/v1',
            metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '5' },
            spec: {
              replicas: 1,
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                spec: { containers: [{ name: 'web', image: 'nginx' }] },
              },
            },
          });
          return true;
        }
        if (req.method !== 'POST') return false;
        const contentType = req.headers['content-type'] ?? '';
        captured.push({ method: req.method, path: req.url ?? '', contentType, body });
        let object: JsonObject = {};
        if (contentType === KUBERNETES_PROTOBUF_CONTENT_TYPE) object = decodeKubernetesProtobuf(body).object;
        else object = JSON.parse(body.toString('utf8')) as JsonObject;
        if (object.kind === 'TokenRequest') {
          object = { ...object, status: { token: 'kemu-token-123', expirationTimestamp: '2030-01-01T00:00:00Z' } };
        }
        sendJson(res, 201, object);
        return true;
      },
    });
    env = kubectlEnv(server.url);
  });
  after(async () => {
    env.dispose();
    rmSync(path.dirname(BINARY_FILE), { recursive: true, force: true });
    await server.close();
  });

  // ignoreStatus: Go's JSON prints status counters without omitempty as zeros, which the protobuf
  // form (and so the decoder) omits; status is server-owned anyway.
  const cases: { name: string; args: string[]; path: string; ignoreStatus?: boolean }[] = [
    {
      name: 'deployment',
      args: ['create', 'deployment', 'nginx', '--image=nginx', '--replicas=2', '--port=80'],
      path: '/apis/apps/v1/namespaces/default/deployments',
    },
    {
      name: 'deployment with zero replicas (pointer field keeps 0)',
      args: ['create', 'deployment', 'zero', '--image=nginx', '--replicas=0'],
      path: '/apis/apps/v1/namespaces/default/deployments',
    },
    { name: 'namespace', args: ['create', 'namespace', 'x'], path: '/api/v1/namespaces' },
    {
      name: 'configmap',
      args: ['create', 'configmap', 'c', '--from-literal=a=b', '--from-literal=empty='],
      path: '/api/v1/namespaces/default/configmaps',
    },
    {
      name: 'secret generic',
      args: ['create', 'secret', 'generic', 's', '--from-literal=k=v', `--from-file=bin=${BINARY_FILE}`],
      path: '/api/v1/namespaces/default/secrets',
    },
    {
      name: 'service clusterip',
      args: ['create', 'service', 'clusterip', 'svc', '--tcp=80:8080', '--tcp=443:https'],
      path: '/api/v1/namespaces/default/services',
    },
    {
      name: 'service nodeport',
      args: ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080'],
      path: '/api/v1/namespaces/default/services',
    },
    {
      name: 'job',
      args: ['create', 'job', 'j', '--image=busybox', '--', 'echo', 'hi'],
      path: '/apis/batch/v1/namespaces/default/jobs',
    },
    {
      name: 'cronjob',
      args: [
        'create',
        'cronjob',
        'cj',
        '--image=busybox',
        '--schedule=*/1 * * * *',
        '--restart=OnFailure',
        '--',
        'date',
      ],
      path: '/apis/batch/v1/namespaces/default/cronjobs',
    },
    {
      name: 'serviceaccount',
      args: ['create', 'serviceaccount', 'sa'],
      path: '/api/v1/namespaces/default/serviceaccounts',
    },
    {
      name: 'quota',
      args: ['create', 'quota', 'q', '--hard=cpu=1,memory=1Gi,pods=10', '--scopes=BestEffort'],
      path: '/api/v1/namespaces/default/resourcequotas',
    },
    {
      name: 'role',
      args: ['create', 'role', 'r', '--verb=get,list', '--resource=pods,deployments.apps'],
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles',
    },
    {
      name: 'rolebinding',
      args: ['create', 'rolebinding', 'rb', '--role=r', '--serviceaccount=default:sa', '--user=alice'],
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings',
    },
    {
      name: 'clusterrole',
      args: ['create', 'clusterrole', 'cr', '--verb=get', '--non-resource-url=/healthz'],
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    },
    {
      name: 'clusterrole with aggregation rule',
      args: ['create', 'clusterrole', 'agg', '--aggregation-rule=rbac.example.com/aggregate=true'],
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    },
    {
      name: 'clusterrolebinding',
      args: ['create', 'clusterrolebinding', 'crb', '--clusterrole=cr', '--group=devs'],
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    },
    {
      name: 'autoscale (HorizontalPodAutoscaler)',
      args: ['autoscale', 'deployment', 'web', '--min=2', '--max=5', '--cpu-percent=80'],
      path: '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers',
      ignoreStatus: true,
    },
    {
      name: 'poddisruptionbudget',
      args: ['create', 'poddisruptionbudget', 'pdb', '--selector=app=web', '--min-available=50%'],
      path: '/apis/policy/v1/namespaces/default/poddisruptionbudgets',
      ignoreStatus: true,
    },
    {
      name: 'priorityclass',
      args: ['create', 'priorityclass', 'high', '--value=1000', '--description=important', '--preemption-policy=Never'],
      path: '/apis/scheduling.k8s.io/v1/priorityclasses',
    },
    {
      name: 'ingress',
      args: [
        'create',
        'ingress',
        'web',
        '--class=nginx',
        '--rule=foo.example.com/bar*=svc1:8080,tls=my-cert',
        '--rule=/=svc2:http',
        '--default-backend=defsvc:80',
      ],
      path: '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      // Flags go before `--`: everything after it is the container command.
      const split = c.args.indexOf('--');
      const dryArgs =
        split === -1
          ? [...c.args, '--dry-run=client', '-o', 'json']
          : [...c.args.slice(0, split), '--dry-run=client', '-o', 'json', ...c.args.slice(split)];
      const dry = await runKubectl(env, dryArgs);
      assert.equal(dry.code, 0, dry.stderr);
      const expected = JSON.parse(dry.stdout) as JsonObject;
      if (c.ignoreStatus === true) delete expected.status;

      const before = captured.length;
      const run = await runKubectl(env, c.args);
      assert.equal(run.code, 0, run.stderr);
      const posts = captured.slice(before);
      assert.equal(posts.length, 1, `one POST expected, got ${posts.map((p) => p.path).join(', ')}`);
      const post = posts[0];
      assert.ok(post);
      assert.equal(new URL(post.path, 'http://x').pathname, c.path);
      assert.equal(post.contentType, KUBERNETES_PROTOBUF_CONTENT_TYPE);
      const decoded = decodeKubernetesProtobuf(post.body);
      assert.deepEqual(normalize(decoded.object), normalize(expected));
    });
  }

  test('create token: TokenRequest with audiences, expiration and bound object', async () => {
    const before = captured.length;
    const run = await runKubectl(env, [
      'create',
      'token',
      'sa',
      '--audience=api',
      '--audience=vault',
      '--duration=1h',
      '--bound-object-kind=Secret',
      '--bound-object-name=s',
      '--bound-object-uid=1234-uid',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'kemu-token-123');
    const post = captured[before];
    assert.ok(post);
    assert.equal(new URL(post.path, 'http://x').pathname, '/api/v1/namespaces/default/serviceaccounts/sa/token');
    const decoded = decodeKubernetesProtobuf(post.body);
    assert.equal(decoded.kind, 'TokenRequest');
    assert.equal(decoded.apiVersion, 'authentication.k8s.io/v1');
    assert.deepEqual(normalize(decoded.object.spec ?? null), {
      audiences: ['api', 'vault'],
      expirationSeconds: 3600,
      boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 's', uid: '1234-uid' },
    });
  });
});
