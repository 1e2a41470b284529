// The client against the real thing: 3 etcd member processes + a kube-apiserver process (packages
// etcd and apiserver), over real sockets. Needs those packages built; when they are not in this
// tree (the client branch before the apiserver merge) the test is skipped with a reason. Point
// KEMU_E2E_ROOT at another checkout's root to run against its builds.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ConfigMap, Event, Lease, Pod } from '@kemu/api';
import { SeededRandom, silentLogger, systemRuntime } from '@kemu/runtime';
import { WireClient } from '@kemu/wire';
import {
  DeletedFinalStateUnknown,
  EventRecorder,
  isAlreadyExists,
  isConflict,
  isNotFound,
  LeaderElector,
  SharedIndexInformer,
  WireApiClient,
  waitForCacheSync,
} from '../src/index.js';
import { waitFor } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = process.env.KEMU_E2E_ROOT ?? path.resolve(here, '..', '..', '..', '..');
const ETCD_MAIN = path.join(ROOT, 'packages', 'etcd', 'dist', 'src', 'member', 'main.js');
const APISERVER_MAIN = path.join(ROOT, 'packages', 'apiserver', 'dist', 'src', 'main.js');
const missing = [ETCD_MAIN, APISERVER_MAIN].filter((f) => !fs.existsSync(f));
const skip = missing.length > 0 ? `not built here: ${missing.join(', ')}` : false;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A child in its own process group, so cleanup kills it and anything it started. */
function startProc(args: string[], logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const p = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  return p;
}

function killGroup(p: ChildProcess | undefined): void {
  if (p?.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('client against real etcd + kube-apiserver processes', { skip }, () => {
  const log = silentLogger();
  const procs: ChildProcess[] = [];
  let dir = '';
  let etcdServers = '';
  let wirePort = 0;
  let httpPort = 0;
  let apiserver: ChildProcess | undefined;
  let wire: WireClient;
  let api: WireApiClient;

  const startApiserver = async () => {
    apiserver = startProc(
      [APISERVER_MAIN, '--etcd-servers', etcdServers, '--port', String(httpPort), '--wire-port', String(wirePort)],
      path.join(dir, 'apiserver.log'),
    );
    procs.push(apiserver);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/namespaces/default`);
        await res.text();
        if (res.status === 200) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `apiserver not ready:\n${fs.readFileSync(path.join(dir, 'apiserver.log'), 'utf8').slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-client-e2e-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const peers = ports.map((p, i) => `etcd-${i}=ws://127.0.0.1:${p}`).join(',');
    for (const [i, port] of ports.entries()) {
      const args = [
        ETCD_MAIN,
        '--name',
        `etcd-${i}`,
        '--data-dir',
        path.join(dir, `etcd-${i}`),
        '--listen',
        `127.0.0.1:${port}`,
      ];
      args.push('--peers', peers, '--heartbeat-interval', '100', '--election-timeout', '1000');
      procs.push(startProc(args, path.join(dir, `etcd-${i}.log`)));
    }
    etcdServers = ports.map((p) => `ws://127.0.0.1:${p}`).join(',');
    httpPort = await freePort();
    wirePort = await freePort();
    await startApiserver();
    wire = new WireClient({
      identity: 'kube-controller-manager/e2e',
      log,
      url: `ws://127.0.0.1:${wirePort}/wire`,
      reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    });
    await wire.start().whenConnected(10_000);
    api = new WireApiClient({ wire, timeoutMs: 5000 });
    try {
      await api.resource('namespaces').create({ metadata: { name: 'e2e' } });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  });

  after(async () => {
    await wire?.close();
    for (const p of procs) killGroup(p);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('CRUD, bind, status, typed errors, and an informer following it all', async () => {
    const informer = new SharedIndexInformer<Pod>({
      listWatcher: api.resource<Pod>('pods'),
      runtime: systemRuntime,
      random: new SeededRandom(1),
      selector: { namespace: 'e2e' },
    });
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (o) => seen.push(`add ${o.metadata.name}`),
      onDelete: (o) => seen.push(`delete ${o instanceof DeletedFinalStateUnknown ? o.key : o.metadata.name}`),
    });
    informer.start();
    assert.equal(await waitForCacheSync([informer], { runtime: systemRuntime, timeoutMs: 10_000 }), true);
    const pods = api.resource<Pod>('pods', { namespace: 'e2e' });
    const p = await pods.create({ metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    await assert.rejects(pods.get('nope'), isNotFound);
    await assert.rejects(pods.update({ ...p, metadata: { ...p.metadata, resourceVersion: '1' } }), isConflict);
    await pods.bind({ metadata: { name: 'p1', namespace: 'e2e' }, target: { kind: 'Node', name: 'worker-1' } });
    assert.equal((await pods.get('p1')).spec?.nodeName, 'worker-1');
    assert.equal(
      (await pods.updateStatus({ ...(await pods.get('p1')), status: { phase: 'Running' } })).status?.phase,
      'Running',
    );
    await waitFor(() => informer.get('e2e', 'p1')?.status?.phase === 'Running', {
      timeoutMs: 10_000,
      what: 'status in cache',
    });
    assert.equal((await pods.delete('p1', { gracePeriodSeconds: 0 })).deleted, true);
    await waitFor(() => seen.includes('delete p1'), { timeoutMs: 10_000, what: 'delete event' });
    assert.deepEqual(seen, ['add p1', 'delete p1']);
    await informer.stop();
  });

  it('leader election on a real Lease: handover on release, MicroTime fields', async () => {
    const leases = api.resource<Lease>('leases.coordination.k8s.io');
    const leading: string[] = [];
    const mk = (id: string) =>
      new LeaderElector({
        leases,
        namespace: 'e2e',
        name: 'lock',
        identity: id,
        runtime: systemRuntime,
        random: new SeededRandom(id.length),
        leaseDurationMs: 2000,
        renewDeadlineMs: 1500,
        retryPeriodMs: 200,
        releaseOnCancel: true,
        callbacks: { onStartedLeading: () => leading.push(`+${id}`), onStoppedLeading: () => leading.push(`-${id}`) },
      });
    const a = mk('a');
    const runA = a.run();
    await waitFor(() => a.isLeader(), { timeoutMs: 10_000, what: 'a leads' });
    const b = mk('b');
    const runB = b.run();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(b.isLeader(), false);
    const spec = (await leases.get('lock', { namespace: 'e2e' })).spec ?? {};
    assert.equal(spec.holderIdentity, 'a');
    assert.match(spec.renewTime ?? '', /\.\d{6}Z$/);
    await a.stop();
    await runA;
    await waitFor(() => b.isLeader(), { timeoutMs: 10_000, what: 'b takes over after the release' });
    assert.equal((await leases.get('lock', { namespace: 'e2e' })).spec?.leaseTransitions, 1);
    await b.stop();
    await runB;
    assert.deepEqual(leading, ['+a', '-a', '+b', '-b']);
  });

  it('events aggregate on the real API', async () => {
    const cm = await api.resource<ConfigMap>('configmaps', { namespace: 'e2e' }).create({ metadata: { name: 'ev' } });
    const rec = new EventRecorder({ events: api.resource<Event>('events'), component: 'e2e', runtime: systemRuntime });
    await rec.event(cm, 'Normal', 'Tested', 'hello');
    await rec.event(cm, 'Normal', 'Tested', 'hello');
    const evs = (await api.resource<Event>('events', { namespace: 'e2e' }).list()).items.filter(
      (e) => e.reason === 'Tested',
    );
    assert.deepEqual(
      evs.map((e) => [e.count, e.involvedObject.kind, e.source?.component]),
      [[2, 'ConfigMap', 'e2e']],
    );
  });

  it('an informer resumes after the apiserver is killed and restarted', async () => {
    const informer = new SharedIndexInformer<ConfigMap>({
      listWatcher: api.resource<ConfigMap>('configmaps'),
      runtime: systemRuntime,
      random: new SeededRandom(3),
      backoff: { initialDelayMs: 100, maxDelayMs: 1000 },
    });
    informer.start();
    assert.equal(await waitForCacheSync([informer], { runtime: systemRuntime, timeoutMs: 10_000 }), true);
    killGroup(apiserver);
    await startApiserver();
    await waitFor(() => wire.isConnected, { timeoutMs: 10_000, what: 'wire reconnect' });
    await api.resource<ConfigMap>('configmaps', { namespace: 'e2e' }).create({ metadata: { name: 'after-restart' } });
    await waitFor(() => informer.get('e2e', 'after-restart') !== undefined, {
      timeoutMs: 15_000,
      what: 'informer caught up',
    });
    assert.ok(informer.stats.errors >= 1);
    await informer.stop();
  });
});
