/**
 * The real `kubectl port-forward` against a stub apiserver whose /portforward runs the SPDY/3.1-over-
 * WebSocket session, relaying to a local HTTP server that plays the pod.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { acceptPortForwardWebSocket, type PortForwardOutcome } from '../src/server/streaming/index.js';
import {
  type KubectlEnv,
  killGroup,
  kubectlEnv,
  type StubApiserver,
  spawnKubectl,
  startStubApiserver,
  waitFor,
} from './fixtures/streams-kubectl.js';
import { podRoute } from './fixtures/streams-pod.js';

const BIG = randomBytes(1 << 20);
const BIG_SHA = createHash('sha256').update(BIG).digest('hex');

function request(port: number, method: string, path: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('kubectl port-forward over SPDY/3.1 in WebSocket', () => {
  let pod: http.Server;
  let podPort: number;
  let refusedPort: number;
  let server: StubApiserver;
  let env: KubectlEnv;
  let kubectl: ChildProcess;
  let stdout = '';
  let stderr = '';
  let localPort = 0;
  let failingLocalPort = 0;
  const connects: number[] = [];
  const outcomes: Promise<PortForwardOutcome>[] = [];

  before(async () => {
    pod = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/big') {
          res.writeHead(200, { 'Content-Length': BIG.length });
          res.end(BIG);
        } else if (req.url === '/sha') {
          const body = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
          res.end(body);
        } else {
          res.end(`hello from pod ${req.url}`);
        }
      });
    });
    await new Promise<void>((r) => pod.listen(0, '127.0.0.1', r));
    podPort = (pod.address() as net.AddressInfo).port;
    // A port nothing listens on: bind, note it, close.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    refusedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    server = await startStubApiserver({
      route: podRoute('p1'),
      upgrade: (req, socket, head) => {
        outcomes.push(
          acceptPortForwardWebSocket(req, socket, head, {
            connect(port) {
              connects.push(port);
              return net.connect(port === 80 ? podPort : refusedPort, '127.0.0.1');
            },
          }),
        );
      },
    });
    env = kubectlEnv(server.url);
    kubectl = spawnKubectl(env, ['port-forward', 'pod/p1', ':80', ':81']);
    kubectl.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    kubectl.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const ports = await waitFor(
      () => {
        const m80 = /Forwarding from 127\.0\.0\.1:(\d+) -> 80\b/.exec(stdout);
        const m81 = /Forwarding from 127\.0\.0\.1:(\d+) -> 81\b/.exec(stdout);
        return m80 !== null && m81 !== null ? [Number(m80[1]), Number(m81[1])] : undefined;
      },
      () => `kubectl port-forward to listen (stdout: ${stdout}, stderr: ${stderr})`,
      20_000,
    );
    [localPort, failingLocalPort] = ports as [number, number];
  });

  after(async () => {
    killGroup(kubectl);
    env.dispose();
    await server.close();
    await new Promise<void>((r) => pod.close(() => r()));
  });

  test('sequential requests each get their own stream pair', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await request(localPort, 'GET', `/seq/${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `hello from pod /seq/${i}`);
    }
    assert.ok(connects.filter((p) => p === 80).length >= 5);
  });

  test('concurrent connections are multiplexed', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => request(localPort, 'GET', `/c/${i}`)));
    assert.deepEqual(
      results.map((r) => r.body.toString()),
      results.map((_, i) => `hello from pod /c/${i}`),
    );
  });

  test('1 MiB each way passes intact (beyond the 64 KiB initial window)', async () => {
    const down = await request(localPort, 'GET', '/big');
    assert.equal(down.body.length, BIG.length);
    assert.equal(createHash('sha256').update(down.body).digest('hex'), BIG_SHA);
    const up = await request(localPort, 'POST', '/sha', BIG);
    assert.equal(up.body.toString(), BIG_SHA);
    const [a, b] = await Promise.all([request(localPort, 'GET', '/big'), request(localPort, 'POST', '/sha', BIG)]);
    assert.equal(createHash('sha256').update(a.body).digest('hex'), BIG_SHA);
    assert.equal(b.body.toString(), BIG_SHA);
  });

  test('a refused target connection is reported on the error stream', async () => {
    // kubectl closes the local connection once it has read the error stream.
    await assert.rejects(request(failingLocalPort, 'GET', '/x'));
    await waitFor(
      () => /error forwarding port 81 to pod p1 in namespace default: connect ECONNREFUSED/.test(stdout + stderr),
      () => `the error in kubectl's output (stdout: ${stdout}, stderr: ${stderr})`,
    );
    // The server kept the session: kubectl 1.32 is the side that tears it down after an error.
    assert.equal(outcomes.length, 1);
  });
});
