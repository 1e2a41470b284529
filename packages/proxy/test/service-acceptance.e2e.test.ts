// Issue 7's acceptance test with the whole stack as real processes: etcd, apiserver, scheduler,
// controller-manager (Deployment, ReplicaSet and EndpointSlice controllers), a kubelet running pods
// as processes, and kube-proxy. An echo Deployment of 3 behind a Service answers `curl` on its
// ClusterIP from all 3 pods; a pod whose readiness probe starts failing leaves the endpoints and
// gets no more traffic.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMPONENT_MAINS, TestCluster, waitFor } from '@kemu/testkit';
import { killStrays, shortLogs, startWithAdmin, waitListener } from './helpers.js';

const octet = 112 + ((process.pid + 3) % 16);
const SERVICE_RANGE = `127.${octet}.0.0/16`;
const NODE_IP = `127.${octet - 48}.0.11`;
// The third octet varies too, so pods of an earlier run that were somehow left behind do not hold our IPs.
const POD_CIDR = `127.${octet + 16}.${200 + (process.pid % 50)}.0/24`;

const missing = (['scheduler', 'controllerManager', 'kubelet'] as const).filter(
  (k) => !fs.existsSync(COMPONENT_MAINS[k]),
);
const skip = missing.length > 0 ? `needs built ${missing.join(', ')} (not on this branch yet)` : false;

function curl(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '5', url], (err, stdout, stderr) => {
      if (err) reject(new Error(`curl ${url}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The pod name the echo server reports (`Hostname: <pod>`). */
async function who(url: string): Promise<string> {
  const out = await curl(url);
  const m = /^Hostname: (\S+)$/m.exec(out);
  if (!m) throw new Error(`unexpected answer from ${url}: ${out}`);
  return m[1] as string;
}

interface PodList {
  items: { metadata: { name: string }; status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
}

describe('Service → Deployment pods through kube-proxy (issue 7 acceptance)', { skip }, () => {
  let c: TestCluster;
  let proxyAdmin = 0;
  let unreadyDir = '';
  let dnsPort = 0;

  before(async () => {
    c = await TestCluster.start({ apiserverArgs: ['--service-cluster-ip-range', SERVICE_RANGE] });
    unreadyDir = path.join(c.dir, 'unready');
    fs.mkdirSync(unreadyDir);
    const api = ['--apiserver', c.wireUrl];
    c.startComponent('kube-scheduler', COMPONENT_MAINS.scheduler, [
      ...api,
      ...['--name', 'kube-scheduler-0', '--admin-port', '0', '--profile', 'fast', '--leader-elect', 'false'],
    ]);
    c.startComponent('kube-controller-manager', COMPONENT_MAINS.controllerManager, [
      ...api,
      ...['--name', 'kube-controller-manager-0', '--admin-port', '0', '--profile', 'fast', '--leader-elect', 'false'],
      ...['--controllers', '*'],
    ]);
    c.startComponent('kubelet-worker-1', COMPONENT_MAINS.kubelet, [
      ...api,
      ...['--node-name', 'worker-1', '--runtime', 'process', '--root-dir', path.join(c.dir, 'kubelet-worker-1')],
      ...['--node-ip', NODE_IP, '--port', '0', '--admin-port', '0'],
      ...['--pod-cidr', POD_CIDR, '--profile', 'fast'],
    ]);
    const dns = await startWithAdmin(
      c,
      'cluster-dns',
      COMPONENT_MAINS.dns,
      [...api, '--listen', '127.0.0.1:0'],
      'cluster DNS serving',
    );
    dnsPort = Number(String(dns.line.listen).split(':')[1]);
    proxyAdmin = (
      await startWithAdmin(
        c,
        'kube-proxy-worker-1',
        COMPONENT_MAINS.proxy,
        [...api, '--node-name', 'worker-1', '--node-ip', NODE_IP, '--profile', 'fast'],
        'kube-proxy started',
      )
    ).adminPort;
  });

  after(async () => {
    if (!c) return;
    // A kubelet stopped gracefully kills its containers; one killed outright leaves them running.
    const kubelet = c.components.find((p) => p.name === 'kubelet-worker-1');
    if (kubelet?.running) {
      kubelet.signal('SIGTERM');
      await Promise.race([kubelet.exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    const dir = c.dir;
    await c.destroy();
    killStrays(dir);
  });

  it('curl on the ClusterIP reaches all 3 pods; a pod failing readiness gets no traffic', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'echo', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            containers: [
              {
                name: 'echo',
                image: 'kemu/echo',
                ports: [{ containerPort: 8080, name: 'http' }],
                readinessProbe: {
                  // Ready unless the test drops a file named after the pod into unreadyDir.
                  exec: { command: ['sh', '-c', `test ! -e "${unreadyDir}/$KEMU_POD_NAME"`] },
                  periodSeconds: 1,
                  // Generous: on a loaded machine spawning `sh` can take over the default 1 s.
                  timeoutSeconds: 10,
                  failureThreshold: 2,
                },
              },
            ],
          },
        },
      },
    };
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: 'default' },
      spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    };
    for (const obj of [deployment, service]) await c.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    const ip = (await c.getJson<{ spec: { clusterIP: string } }>(['service', 'echo'])).spec.clusterIP;
    const url = `http://${ip}:80/`;

    await waitListener(proxyAdmin, `TCP/${ip}:80`, 'holding', { endpoints: 3, timeoutMs: 60000 }).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${shortLogs(c)}`);
      },
    );
    const pods = await c.getJson<PodList>(['pods', '-l', 'app=echo']);
    const names = pods.items.map((p) => p.metadata.name).sort();
    assert.equal(names.length, 3);

    const seen = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const name = await who(url);
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), names, `answers from every pod: ${JSON.stringify([...seen])}`);

    // One pod's readiness probe starts failing: it leaves the EndpointSlice and the proxy.
    const victim = names[0] as string;
    fs.writeFileSync(path.join(unreadyDir, victim), '');
    await waitFor(
      `${victim} not Ready`,
      async () => {
        const p = await c.getJson<PodList['items'][number]>(['pod', victim]);
        return p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'False');
      },
      { timeoutMs: 30000 },
    );
    await waitListener(proxyAdmin, `TCP/${ip}:80`, 'holding', { endpoints: 2, timeoutMs: 30000 });
    const after = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const name = await who(url);
      after.set(name, (after.get(name) ?? 0) + 1);
    }
    assert.equal(after.get(victim), undefined, `unready pod got traffic: ${JSON.stringify([...after])}`);
    assert.equal(after.size, 2);

    // Ready again: back in rotation.
    fs.rmSync(path.join(unreadyDir, victim));
    await waitListener(proxyAdmin, `TCP/${ip}:80`, 'holding', { endpoints: 3, timeoutMs: 30000 });
    const back = new Set<string>();
    for (let i = 0; i < 9; i++) back.add(await who(url));
    assert.ok(back.has(victim), `${victim} back in rotation: ${JSON.stringify([...back])}`);
  });

  it('a StatefulSet behind a headless Service: each pod by name in DNS, answering as itself', async () => {
    const objects = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db', namespace: 'default' },
        spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'http', port: 8080 }] },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'default' },
        spec: {
          serviceName: 'db',
          replicas: 2,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: {
              containers: [{ name: 'echo', image: 'kemu/echo', ports: [{ containerPort: 8080, name: 'http' }] }],
            },
          },
        },
      },
    ];
    for (const obj of objects) await c.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`127.0.0.1:${dnsPort}`]);
    const ips = await waitFor(
      'db-0 and db-1 in DNS',
      async () => {
        const a = await resolver.resolve4('db-0.db.default.svc.cluster.local');
        const b = await resolver.resolve4('db-1.db.default.svc.cluster.local');
        return { 'db-0': a[0] as string, 'db-1': b[0] as string };
      },
      { timeoutMs: 60000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${shortLogs(c)}`);
    });
    assert.deepEqual((await resolver.resolve4('db.default.svc.cluster.local')).sort(), Object.values(ips).sort());
    for (const [name, ip] of Object.entries(ips)) assert.equal(await who(`http://${ip}:8080/`), name);
    const srv = await resolver.resolveSrv('_http._tcp.db.default.svc.cluster.local');
    assert.deepEqual(srv.map((r) => `${r.name}:${r.port}`).sort(), [
      'db-0.db.default.svc.cluster.local:8080',
      'db-1.db.default.svc.cluster.local:8080',
    ]);
  });
});
