// The cluster DNS and kube-proxy as real processes against a real apiserver: the DNS publishes
// itself as kube-system/kube-dns, kube-proxy carries <kube-dns ClusterIP>:53 (UDP and TCP) to it,
// and names of Services, headless endpoints and pods resolve through node:dns and dns-packet.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { COMPONENT_MAINS, TestCluster, waitFor } from '@kemu/testkit';
import dnsPacket from 'dns-packet';
import { shortLogs, startWithAdmin, waitListener } from './helpers.js';

const octet = 112 + ((process.pid + 7) % 16);
const SERVICE_RANGE = `127.${octet}.0.0/16`;
const DNS_CLUSTER_IP = `127.${octet}.0.10`;
const NODE_IP = `127.${octet - 48}.0.4`;

function udpQuery(port: number, name: string, type: 'A' | 'SRV' | 'AAAA', host = '127.0.0.1') {
  return new Promise<dnsPacket.DecodedPacket & { rcode?: string }>((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no DNS answer for ${name}`));
    }, 3000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m) as dnsPacket.DecodedPacket & { rcode?: string });
    });
    s.send(
      dnsPacket.encode({ type: 'query', id: 99, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }),
      port,
      host,
    );
  });
}

describe('cluster DNS (real processes)', () => {
  let c: TestCluster;
  let dnsPort = 0;
  let proxyAdmin = 0;

  before(async () => {
    c = await TestCluster.start({ apiserverArgs: ['--service-cluster-ip-range', SERVICE_RANGE] });
    const dns = await startWithAdmin(
      c,
      'cluster-dns',
      COMPONENT_MAINS.dns,
      ['--apiserver', c.wireUrl, '--listen', '127.0.0.1:0', '--cluster-ip', DNS_CLUSTER_IP],
      'cluster DNS serving',
    );
    dnsPort = Number(String(dns.line.listen).split(':')[1]);
    proxyAdmin = (
      await startWithAdmin(
        c,
        'kube-proxy',
        COMPONENT_MAINS.proxy,
        ['--apiserver', c.wireUrl, '--node-name', 'node-a', '--node-ip', NODE_IP],
        'kube-proxy started',
      )
    ).adminPort;
  });

  after(async () => {
    await c?.destroy();
  });

  it('answers Services, headless endpoints, SRV, pods and NXDOMAIN from the API', async () => {
    const items = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db', namespace: 'default' },
        spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
        addressType: 'IPv4',
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
        endpoints: [
          { addresses: ['127.128.0.5'], hostname: 'db-0', conditions: { ready: true } },
          { addresses: ['127.128.1.5'], hostname: 'db-1', conditions: { ready: true } },
          { addresses: ['127.128.2.5'], hostname: 'db-2', conditions: { ready: false } },
        ],
      },
    ];
    for (const item of items) await c.k(['apply', '-f', '-'], { input: JSON.stringify(item) });
    const web = await c.getJson<{ spec: { clusterIP: string } }>(['service', 'web']);
    const name = 'web.default.svc.cluster.local';
    const a = await waitFor(
      'web resolves',
      async () => {
        const r = await udpQuery(dnsPort, name, 'A');
        return r.answers?.length ? r : undefined;
      },
      { timeoutMs: 20000 },
    );
    assert.deepEqual(
      a.answers?.map((x) => ('data' in x ? x.data : '')),
      [web.spec.clusterIP],
      shortLogs(c),
    );
    assert.equal(a.flag_aa, true);

    const nx = await udpQuery(dnsPort, 'nope.default.svc.cluster.local', 'A');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.authorities?.[0]?.type, 'SOA');

    // node:dns through kube-proxy: the kube-dns ClusterIP on port 53 (UDP).
    const svc = await c.getJson<{ spec: { clusterIP: string } }>(['service', 'kube-dns', '-n', 'kube-system']);
    assert.equal(svc.spec.clusterIP, DNS_CLUSTER_IP);
    await waitListener(proxyAdmin, `UDP/${DNS_CLUSTER_IP}:53`, 'holding');
    await waitListener(proxyAdmin, `TCP/${DNS_CLUSTER_IP}:53`, 'holding');
    const resolver = new Resolver({ timeout: 2000, tries: 2 });
    resolver.setServers([`${DNS_CLUSTER_IP}:53`]);
    assert.deepEqual(await resolver.resolve4(name), [web.spec.clusterIP]);
    assert.deepEqual((await resolver.resolve4('db.default.svc.cluster.local')).sort(), ['127.128.0.5', '127.128.1.5']);
    assert.deepEqual(await resolver.resolve4('db-1.db.default.svc.cluster.local'), ['127.128.1.5']);
    assert.deepEqual(await resolver.resolve4('127-128-7-9.default.pod.cluster.local'), ['127.128.7.9']);
    const srv = await resolver.resolveSrv('_pg._tcp.db.default.svc.cluster.local');
    assert.deepEqual(srv.map((s) => `${s.name}:${s.port}`).sort(), [
      'db-0.db.default.svc.cluster.local:5432',
      'db-1.db.default.svc.cluster.local:5432',
    ]);
    const srvWeb = await resolver.resolveSrv('_http._tcp.web.default.svc.cluster.local');
    assert.deepEqual(
      srvWeb.map((s) => `${s.name}:${s.port}`),
      [`${name}:80`],
    );
    await assert.rejects(
      resolver.resolve4('nope.default.svc.cluster.local'),
      (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND',
    );
    await assert.rejects(resolver.resolve4('example.com'), (e: NodeJS.ErrnoException) => e.code === 'EREFUSED');

    // A deleted Service is gone from DNS.
    await c.k(['delete', 'service', 'web']);
    await waitFor('web gone from DNS', async () => (await udpQuery(dnsPort, name, 'A')).rcode === 'NXDOMAIN', {
      timeoutMs: 20000,
    });
  });

  it('republishes kube-dns when its EndpointSlice is deleted', async () => {
    await c.k(['delete', 'endpointslice', 'kube-dns-cluster-dns', '-n', 'kube-system']);
    await waitFor(
      'kube-dns slice recreated',
      async () => (await c.kubectl(['get', 'endpointslice', 'kube-dns-cluster-dns', '-n', 'kube-system'])).code === 0,
      { timeoutMs: 20000 },
    );
  });

  it('removes its EndpointSlice on a graceful stop', async () => {
    const dns = c.components.find((p) => p.name === 'cluster-dns');
    await dns?.stopGracefully();
    assert.equal(dns?.proc?.exitCode, 0, 'SIGTERM → exit 0');
    const r = await c.kubectl(['get', 'endpointslice', 'kube-dns-cluster-dns', '-n', 'kube-system']);
    assert.notEqual(r.code, 0, `slice still there: ${r.stdout}`);
  });

  it('both processes print usage for --help (exit 0) and reject bad flags (exit 2)', () => {
    for (const [main, prefix] of [
      [COMPONENT_MAINS.proxy, 'kube-proxy'],
      [COMPONENT_MAINS.dns, 'cluster-dns'],
    ] as const) {
      const help = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
      assert.equal(help.status, 0);
      assert.match(help.stdout, /^usage: /);
      const bad = spawnSync(process.execPath, [main, '--apiserver', 'http://x', '--bogus'], { encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, new RegExp(`^${prefix}: .+\\nusage: `));
    }
    const noIp = spawnSync(
      process.execPath,
      [COMPONENT_MAINS.proxy, '--apiserver', 'ws://127.0.0.1:1', '--node-name', 'a', '--node-ip', 'x'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(noIp.status, 2);
    assert.match(noIp.stderr, /--node-ip must be an IPv4 address/);
    const badListen = spawnSync(
      process.execPath,
      [COMPONENT_MAINS.dns, '--apiserver', 'ws://127.0.0.1:1', '--listen', '53'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(badListen.status, 2);
    assert.match(badListen.stderr, /--listen must be IP:PORT/);
  });
});
