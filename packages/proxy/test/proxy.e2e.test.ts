// kube-proxy as real processes against a real apiserver: Services and EndpointSlices written by hand
// (no controller-manager needed) pointing at TCP servers this test runs on distinct loopback IPs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ChildProc, COMPONENT_MAINS, freePort, TestCluster, waitFor } from '@kemu/testkit';
import {
  type Backend,
  isRefused,
  listeners,
  shortLogs,
  spread,
  startBackend,
  startWithAdmin,
  tcpAsk,
  waitListener,
} from './helpers.js';

// A service range and node IPs of their own, so a `kemu up` (127.96.0.0/16) on this host is untouched.
const octet = 112 + (process.pid % 16);
const SERVICE_RANGE = `127.${octet}.0.0/16`;
const NODE_A = `127.${octet - 48}.0.2`;
const NODE_B = `127.${octet - 48}.0.3`;
const BACKEND_IPS = ['127.1.200.1', '127.1.200.2', '127.1.200.3'];
const DEAD_IP = '127.1.200.9';

interface SvcJson {
  spec: { clusterIP: string; ports: { port: number; nodePort?: number }[] };
}

describe('kube-proxy (real processes)', () => {
  let c: TestCluster;
  const backends: Backend[] = [];
  let backendPort = 0;
  let adminA = 0;
  let adminB = 0;
  let proxyA: ChildProc;

  const apply = (obj: unknown) => c.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const slice = (name: string, svc: string, ready: boolean[], extra: string[] = []) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }],
    endpoints: [
      ...BACKEND_IPS.map((ip, i) => ({ addresses: [ip], conditions: { ready: ready[i] ?? true }, nodeName: 'node-a' })),
      ...extra.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-b' })),
    ],
  });
  const service = (name: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { ports: [{ name: 'http', port: 80, targetPort: backendPort, protocol: 'TCP' }], ...spec },
  });

  before(async () => {
    c = await TestCluster.start({ apiserverArgs: ['--service-cluster-ip-range', SERVICE_RANGE] });
    backendPort = await freePort();
    for (const [i, ip] of BACKEND_IPS.entries()) backends.push(await startBackend(`backend-${i + 1}`, ip, backendPort));
    const a = await startWithAdmin(
      c,
      'kube-proxy-a',
      COMPONENT_MAINS.proxy,
      ['--apiserver', c.wireUrl, '--node-name', 'node-a', '--node-ip', NODE_A, '--profile', 'fast'],
      'kube-proxy started',
    );
    proxyA = a.proc;
    adminA = a.adminPort;
    await waitFor('proxy a ready', async () => (await fetch(`http://127.0.0.1:${adminA}/readyz`)).ok, {
      timeoutMs: 20000,
    });
  });

  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await c?.destroy();
  });

  it('spreads connections over ready endpoints, drops not-ready ones, retries refused ones, honours affinity', async () => {
    await apply(service('web', { type: 'NodePort' }));
    await apply(slice('web-1', 'web', [true, true, true]));
    const svc = await c.getJson<SvcJson>(['service', 'web']);
    const ip = svc.spec.clusterIP;
    assert.ok(ip.startsWith(`127.${octet}.`), `ClusterIP ${ip} from ${SERVICE_RANGE}`);
    const key = `TCP/${ip}:80`;
    await waitListener(adminA, key, 'holding', { endpoints: 3 });

    const all = await spread(ip, 80, 30);
    assert.deepEqual(
      [...all.keys()].sort(),
      ['backend-1', 'backend-2', 'backend-3'],
      `every ready endpoint answers: ${JSON.stringify([...all])}`,
    );
    for (const [who, n] of all) assert.equal(n, 10, `round robin gives ${who} a third of 30, got ${n}`);

    // NodePort on this node's IP reaches the same endpoints.
    const nodePort = svc.spec.ports[0]?.nodePort ?? 0;
    assert.ok(nodePort >= 30000, `nodePort allocated: ${nodePort}`);
    await waitListener(adminA, `TCP/${NODE_A}:${nodePort}`, 'holding');
    assert.match(await tcpAsk(NODE_A, nodePort), /^backend-\d$/);

    // backend-3 not ready → no traffic.
    await apply(slice('web-1', 'web', [true, true, false]));
    await waitListener(adminA, key, 'holding', { endpoints: 2 });
    const two = await spread(ip, 80, 20);
    assert.equal(two.get('backend-3'), undefined, `not-ready endpoint got traffic: ${JSON.stringify([...two])}`);
    assert.equal((two.get('backend-1') ?? 0) + (two.get('backend-2') ?? 0), 20);

    // An endpoint that refuses (nothing listens there) is skipped: every connection still succeeds.
    await apply(slice('web-1', 'web', [true, true, false], [DEAD_IP]));
    await waitListener(adminA, key, 'holding', { endpoints: 3 });
    const withDead = await spread(ip, 80, 12);
    assert.equal((withDead.get('backend-1') ?? 0) + (withDead.get('backend-2') ?? 0), 12);

    // sessionAffinity ClientIP: one client, one backend.
    await apply(
      service('web', {
        type: 'NodePort',
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      }),
    );
    await apply(slice('web-1', 'web', [true, true, true]));
    await waitFor(
      'affinity configured',
      async () =>
        (await listeners(adminA)).find(
          (l) =>
            l.key === key &&
            l.endpoints.length === 3 &&
            (l as unknown as { affinityTimeoutMs: number | null }).affinityTimeoutMs === 60000,
        ),
      { timeoutMs: 20000 },
    );
    for (const client of ['127.0.0.1', '127.0.0.2']) {
      const sticky = new Map<string, number>();
      for (let i = 0; i < 12; i++) {
        const who = await tcpAsk(ip, 80, { localAddress: client });
        sticky.set(who, (sticky.get(who) ?? 0) + 1);
      }
      assert.equal(sticky.size, 1, `client ${client} stuck to one backend: ${JSON.stringify([...sticky])}`);
    }

    // Deleting the Service closes its sockets.
    await c.k(['delete', 'service', 'web']);
    await waitFor('ClusterIP refused after delete', () => isRefused(ip, 80), { timeoutMs: 20000 });
    await waitFor('NodePort refused after delete', () => isRefused(NODE_A, nodePort), { timeoutMs: 20000 });
    assert.equal(
      (await listeners(adminA)).find((l) => l.key === key),
      undefined,
    );
    await c.k(['delete', 'endpointslice', 'web-1']);
  });

  it('keeps carrying traffic while the apiserver is down, and resumes syncing when it returns', async () => {
    await apply(service('keep'));
    await apply(slice('keep-1', 'keep', [true, true, true]));
    const ip = (await c.getJson<SvcJson>(['service', 'keep'])).spec.clusterIP;
    await waitListener(adminA, `TCP/${ip}:80`, 'holding', { endpoints: 3 });
    await c.apiserver.kill9();
    assert.match(await tcpAsk(ip, 80), /^backend-\d$/, 'sockets stay up without the apiserver');
    await c.startApiServer(['--service-cluster-ip-range', SERVICE_RANGE]);
    await apply(service('late'));
    await apply(slice('late-1', 'late', [true, false, false]));
    const lateIp = (await c.getJson<SvcJson>(['service', 'late'])).spec.clusterIP;
    await waitListener(adminA, `TCP/${lateIp}:80`, 'holding', { endpoints: 1, timeoutMs: 40000 });
    assert.equal(await tcpAsk(lateIp, 80), 'backend-1');
    for (const k of [
      ['service', 'keep'],
      ['service', 'late'],
      ['endpointslice', 'keep-1'],
      ['endpointslice', 'late-1'],
    ]) {
      await c.k(['delete', ...k]);
    }
  });

  it('two proxies on one host: one holds each ClusterIP socket, the other takes over when it dies', async () => {
    // Its first apiserver URL leads nowhere: calls go to the one that is connected.
    const deadUrl = `ws://127.0.0.1:${await freePort()}`;
    adminB = (
      await startWithAdmin(
        c,
        'kube-proxy-b',
        COMPONENT_MAINS.proxy,
        ['--apiserver', `${deadUrl},${c.wireUrl}`, '--node-name', 'node-b', '--node-ip', NODE_B, '--profile', 'fast'],
        'kube-proxy started',
      )
    ).adminPort;
    await apply(service('api', { type: 'NodePort' }));
    await apply(slice('api-1', 'api', [true, true, true]));
    const svc = await c.getJson<SvcJson>(['service', 'api']);
    const ip = svc.spec.clusterIP;
    const nodePort = svc.spec.ports[0]?.nodePort ?? 0;
    const key = `TCP/${ip}:80`;
    // Each node's NodePort is its own socket: both hold theirs.
    await waitListener(adminA, `TCP/${NODE_A}:${nodePort}`, 'holding');
    await waitListener(adminB, `TCP/${NODE_B}:${nodePort}`, 'holding');
    // The ClusterIP socket: exactly one holder, the other stands by.
    const states = await waitFor(
      'one holder, one standby',
      async () => {
        const a = (await listeners(adminA)).find((l) => l.key === key)?.state;
        const b = (await listeners(adminB)).find((l) => l.key === key)?.state;
        return [a, b].sort().join(',') === 'holding,standby' ? { a, b } : undefined;
      },
      { timeoutMs: 20000 },
    );
    assert.match(await tcpAsk(ip, 80), /^backend-\d$/);
    assert.match(await tcpAsk(NODE_B, nodePort), /^backend-\d$/);

    // externalTrafficPolicy Local: every endpoint is on node-a, so node-b's NodePort closes.
    await apply(service('api', { type: 'NodePort', externalTrafficPolicy: 'Local' }));
    await waitFor('node-b NodePort refused', () => isRefused(NODE_B, nodePort), { timeoutMs: 20000 });
    assert.match(await tcpAsk(NODE_A, nodePort), /^backend-\d$/);

    if (states.a === 'holding') {
      await proxyA.kill9();
      await waitListener(adminB, key, 'holding');
    } else {
      const b = c.components.find((p) => p.name === 'kube-proxy-b');
      await b?.kill9();
      await waitListener(adminA, key, 'holding');
    }
    const after = await spread(ip, 80, 9);
    assert.equal(
      [...after.values()].reduce((x, y) => x + y, 0),
      9,
      shortLogs(c),
    );
    assert.equal(after.size, 3, `all three backends reachable after takeover: ${JSON.stringify([...after])}`);
  });
});
