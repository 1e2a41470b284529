// Listeners over real loopback sockets, in one process: socket contention and takeover, endpoint
// retry, established connections surviving updates, UDP sessions.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { silentLogger, systemRuntime } from '@kemu/runtime';
import { freePort, waitFor } from '@kemu/testkit';
import { createListener, type ListenerDeps, type ServiceListener } from '../src/listener.js';
import type { DesiredListener } from '../src/service-rules.js';
import { type Backend, startBackend, tcpAsk } from './helpers.js';

const deps: ListenerDeps = {
  runtime: systemRuntime,
  log: silentLogger(),
  bindRetryMs: 30,
  connectTimeoutMs: 2000,
  udpIdleTimeoutMs: 5000,
};

function spec(ip: string, port: number, endpoints: string[], protocol: 'TCP' | 'UDP' = 'TCP'): DesiredListener {
  return {
    key: `${protocol}/${ip}:${port}`,
    kind: 'clusterIP',
    protocol,
    ip,
    port,
    servicePort: 'ns/svc:',
    endpoints,
    affinityTimeoutMs: null,
  };
}

describe('service listeners', () => {
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });
  const track = (l: ServiceListener) => {
    cleanup.push(() => l.destroy());
    return l;
  };

  it('one holder per socket; a standby takes over when the holder lets go', async () => {
    const b: Backend = await startBackend('one', '127.1.201.1');
    cleanup.push(() => b.close());
    const port = await freePort();
    const s = spec('127.1.201.100', port, [`127.1.201.1:${b.port}`]);
    const first = track(createListener(s, deps));
    first.start();
    await waitFor('first holds', () => first.state === 'holding', { timeoutMs: 5000 });
    const second = track(createListener(s, deps));
    second.start();
    await waitFor('second stands by', () => second.state === 'standby', { timeoutMs: 5000 });
    assert.equal(second.lastBindError, 'EADDRINUSE');
    assert.equal(await tcpAsk('127.1.201.100', port), 'one');
    first.close();
    await waitFor('second takes over', () => second.state === 'holding', { timeoutMs: 5000 });
    assert.equal(await tcpAsk('127.1.201.100', port), 'one');
  });

  it('tries the next endpoint when one refuses, and resets the client when all refuse', async () => {
    const b = await startBackend('alive', '127.1.201.2');
    cleanup.push(() => b.close());
    const dead = `127.1.201.3:${b.port}`;
    const port = await freePort();
    const l = track(createListener(spec('127.1.201.101', port, [dead, `127.1.201.2:${b.port}`]), deps));
    l.start();
    await waitFor('holds', () => l.state === 'holding', { timeoutMs: 5000 });
    for (let i = 0; i < 4; i++) assert.equal(await tcpAsk('127.1.201.101', port), 'alive');
    l.update(spec('127.1.201.101', port, [dead]));
    await assert.rejects(tcpAsk('127.1.201.101', port), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
  });

  it('keeps an established connection when its endpoint leaves the set', async () => {
    // An echo backend that keeps connections open.
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, '127.1.201.4', () => r()));
    cleanup.push(() => new Promise((r) => server.close(r)));
    server.unref();
    const bport = (server.address() as net.AddressInfo).port;
    const port = await freePort();
    const l = track(createListener(spec('127.1.201.102', port, [`127.1.201.4:${bport}`]), deps));
    l.start();
    await waitFor('holds', () => l.state === 'holding', { timeoutMs: 5000 });
    const sock = net.connect({ host: '127.1.201.102', port });
    sock.setEncoding('utf8');
    let got = '';
    sock.on('data', (d: string) => {
      got += d;
    });
    sock.write('ping ');
    await waitFor('echo 1', () => got === 'ping ', { timeoutMs: 5000 });
    assert.equal(l.activeConnections, 1);
    l.update(spec('127.1.201.102', port, ['127.1.201.5:1']));
    sock.write('pong');
    await waitFor('echo 2', () => got === 'ping pong', { timeoutMs: 5000 });
    sock.end();
    await waitFor('connection counted closed', () => l.activeConnections === 0, { timeoutMs: 5000 });
  });

  it('proxies UDP datagrams both ways, one session per client', async () => {
    const echo = dgram.createSocket('udp4');
    await new Promise<void>((r) => echo.bind(0, '127.1.201.6', () => r()));
    echo.on('message', (m, rinfo) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), rinfo.port, rinfo.address));
    cleanup.push(() => echo.close());
    const port = await freePort();
    const l = track(createListener(spec('127.1.201.103', port, [`127.1.201.6:${echo.address().port}`], 'UDP'), deps));
    l.start();
    await waitFor('holds', () => l.state === 'holding', { timeoutMs: 5000 });
    const client = dgram.createSocket('udp4');
    cleanup.push(() => client.close());
    const replies: string[] = [];
    client.on('message', (m, rinfo) => {
      assert.equal(rinfo.address, '127.1.201.103', 'replies come from the service address');
      replies.push(m.toString());
    });
    client.send('a', port, '127.1.201.103');
    client.send('b', port, '127.1.201.103');
    await waitFor('two replies', () => replies.length === 2, { timeoutMs: 5000 });
    assert.deepEqual(replies.sort(), ['echo:a', 'echo:b']);
    assert.equal(l.activeConnections, 1);
  });

  it('a standby retrying to bind does not leak descriptors (UDP sockets keep theirs after a failed bind)', async () => {
    const port = await freePort();
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(port, '127.1.201.104', () => r()));
    cleanup.push(() => holder.close());
    const tcpHolder = net.createServer();
    await new Promise<void>((r) => tcpHolder.listen(port, '127.1.201.104', () => r()));
    cleanup.push(() => new Promise((r) => tcpHolder.close(r)));
    const fast = { ...deps, bindRetryMs: 2 };
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const udp = track(createListener(spec('127.1.201.104', port, ['127.1.201.6:1'], 'UDP'), fast));
    const tcp = track(createListener(spec('127.1.201.104', port, ['127.1.201.6:1']), fast));
    udp.start();
    tcp.start();
    await waitFor('100 attempts each', () => udp.bindAttempts >= 100 && tcp.bindAttempts >= 100, { timeoutMs: 10000 });
    assert.equal(udp.state, 'standby');
    assert.ok(fds() - before < 10, `descriptors grew from ${before} to ${fds()}`);
    udp.close();
    tcp.close();
  });
});
