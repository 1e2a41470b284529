import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { KemuError, ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import { pack, unpackMultiple } from 'msgpackr';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { Backoff } from '../src/backoff.js';
import { WireClient } from '../src/client.js';
import type { WireConnection } from '../src/connection.js';
import {
  CloseCode,
  RemoteError,
  WireCancelledError,
  WireDisconnectedError,
  WireFrameTooLargeError,
  WirePeerDeadError,
  WireTimeoutError,
} from '../src/errors.js';
import { FaultTable } from '../src/faults.js';
import { WireServer } from '../src/server.js';
import { pair, waitFor } from './helpers.js';

class NotFound extends KemuError {
  readonly data: unknown;
  constructor(key: string) {
    super('KV_NOT_FOUND', `key ${key} not found`);
    this.data = { key };
  }
}

test('requests get responses; handler errors come back as RemoteError with their code', async (t) => {
  const { server, client, close } = await pair();
  t.after(close);
  server.handle<{ a: number }>('add', (d, ctx) => ({ sum: d.a + 1, caller: ctx.conn.remote }));
  server.handle('get', () => {
    throw new NotFound('/registry/pods/x');
  });
  server.handle('bug', async () => {
    throw new TypeError('undefined is not a function');
  });
  assert.equal(client.remote, 'test/server');
  assert.deepEqual(await client.request('add', { a: 41 }), { sum: 42, caller: 'test/client' });
  await assert.rejects(client.request('get'), (err: unknown) => {
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, 'KV_NOT_FOUND');
    assert.equal(err.message, 'key /registry/pods/x not found');
    assert.deepEqual(err.data, { key: '/registry/pods/x' });
    assert.equal(err.peer, 'test/server');
    return true;
  });
  await assert.rejects(client.request('bug'), { code: 'WIRE_HANDLER_ERROR', message: 'undefined is not a function' });
  await assert.rejects(client.request('nope'), { name: 'RemoteError', code: 'WIRE_UNKNOWN_METHOD' });
  await assert.rejects(client.request(''), RangeError);
  await assert.rejects(client.request('add', { a: 1 }, { timeoutMs: 0 }), RangeError);
  assert.throws(() => client.notify('x'.repeat(300)), RangeError);
});

test('either side serves methods: the server calls back into the client', async (t) => {
  const { server, client, close } = await pair();
  t.after(close);
  client.handle('whoami', (_d, ctx) => `client sees ${ctx.conn.remote}`);
  await waitFor(() => server.connectionTo('test/client') !== undefined);
  const conn = server.connectionTo('test/client') as WireConnection;
  assert.equal(conn.local, 'test/server');
  assert.equal(await conn.request('whoami'), 'client sees test/server');
});

test('a request past its deadline fails with WireTimeoutError and cancels the handler', async (t) => {
  const runtime = new ManualRuntime();
  const { server, client, close } = await pair({}, { runtime });
  t.after(close);
  let handlerSignal: AbortSignal | null = null;
  server.handle('hang', (_d, ctx) => {
    handlerSignal = ctx.signal;
    return new Promise(() => {});
  });
  let settled = false;
  const p = client.request('hang', null, { timeoutMs: 1000 }).finally(() => (settled = true));
  await waitFor(() => handlerSignal !== null);
  runtime.advance(999);
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  runtime.advance(1);
  await assert.rejects(
    p,
    (err: unknown) => err instanceof WireTimeoutError && err.code === 'WIRE_TIMEOUT' && err.timeoutMs === 1000,
  );
  await waitFor(() => handlerSignal?.aborted === true, { what: 'handler signal to abort' });
});

test('aborting the caller signal rejects with WireCancelledError and aborts the handler signal', async (t) => {
  const { server, client, close } = await pair();
  t.after(close);
  let abortedWith: unknown = null;
  server.handle('slow', (_d, ctx) => {
    ctx.signal.addEventListener('abort', () => (abortedWith = ctx.signal.reason));
    return new Promise(() => {});
  });
  const ac = new AbortController();
  const p = client.request('slow', null, { signal: ac.signal });
  await waitFor(() => server.connections.size === 1);
  await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  await assert.rejects(p, WireCancelledError);
  await waitFor(() => abortedWith instanceof WireCancelledError, { what: 'handler abort' });
  await assert.rejects(client.request('slow', null, { signal: ac.signal }), WireCancelledError);
});

test('notifications are one-way and carry the sender identity', async (t) => {
  const { server, client, close } = await pair();
  t.after(close);
  const got: Array<[unknown, string]> = [];
  server.handleNotify('raft.msg', (d, from) => got.push([d, from.remote]));
  server.handleNotify('raft.bad', () => {
    throw new Error('handler bug');
  });
  client.notify('raft.bad', 0);
  client.notify('raft.unknown', 0);
  for (let i = 0; i < 3; i++) client.notify('raft.msg', { term: i });
  await waitFor(() => got.length === 3);
  assert.deepEqual(got, [
    [{ term: 0 }, 'test/client'],
    [{ term: 1 }, 'test/client'],
    [{ term: 2 }, 'test/client'],
  ]);
  assert.equal(await client.request('nope').catch((e: KemuError) => e.code), 'WIRE_UNKNOWN_METHOD');
});

test('the caller queues beyond the peer-advertised in-flight limit instead of being refused', async (t) => {
  const { server, client, close } = await pair({ maxInFlight: 4 });
  t.after(close);
  let running = 0;
  let peak = 0;
  server.handle<number>('work', async (n) => {
    peak = Math.max(peak, ++running);
    await new Promise((r) => setTimeout(r, 1));
    running--;
    return n * 2;
  });
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.request<number>('work', i)));
  assert.deepEqual(
    results,
    Array.from({ length: 50 }, (_, i) => i * 2),
  );
  assert.equal(peak, 4);
});

test('frames over the size limit are refused locally with WireFrameTooLargeError', async (t) => {
  const { server, client, close } = await pair({ maxFrameBytes: 4096 });
  t.after(close);
  server.handle('big', () => 'x'.repeat(8192));
  server.handle('echo', (d) => d);
  // The server advertised 4096 bytes: the client will not send more.
  await assert.rejects(client.request('echo', 'y'.repeat(5000)), WireFrameTooLargeError);
  await assert.rejects(client.request('big'), { name: 'RemoteError', code: 'WIRE_FRAME_TOO_LARGE' });
  assert.equal(await client.request('echo', 'ok'), 'ok');
});

async function rawSocket(
  url: string,
): Promise<{ ws: WebSocket; frames: unknown[]; closed: Promise<[number, string]> }> {
  const ws = new WebSocket(url);
  const frames: unknown[] = [];
  ws.on('message', (d: Buffer) => frames.push(...unpackMultiple(d)));
  const closed = new Promise<[number, string]>((resolve) => ws.on('close', (c, r) => resolve([c, r.toString()])));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

test('a peer speaking another protocol version is closed with 4001 and a reason', async (t) => {
  const server = new WireServer({ identity: 'test/server', log: silentLogger() });
  await server.listen(0);
  t.after(() => server.close());
  const raw = await rawSocket(server.url);
  raw.ws.send(pack({ t: 'hello', v: 99, peer: 'test/raw', mif: 1, mfs: 1024 }));
  const [code, reason] = await raw.closed;
  assert.equal(code, CloseCode.VERSION_MISMATCH);
  assert.match(reason, /^WIRE_VERSION_MISMATCH: .*local 1, remote 99/);
});

test('too many in-flight requests from a peer that ignores the limit get an error reply', async (t) => {
  const server = new WireServer({ identity: 'test/server', log: silentLogger(), maxInFlight: 2 });
  server.handle('hang', () => new Promise(() => {}));
  await server.listen(0);
  t.after(() => server.close());
  const raw = await rawSocket(server.url);
  raw.ws.send(pack({ t: 'hello', v: 1, peer: 'test/raw', mif: 8, mfs: 1 << 20 }));
  for (let id = 1; id <= 3; id++) raw.ws.send(pack({ t: 'req', id, m: 'hang' }));
  await waitFor(() => raw.frames.some((f) => (f as { t: string }).t === 'res'));
  const res = raw.frames.find((f) => (f as { t: string }).t === 'res') as { id: number; e: { code: string } };
  assert.equal(res.id, 3);
  assert.equal(res.e.code, 'WIRE_TOO_MANY_IN_FLIGHT');
  raw.ws.close();
});

test('heartbeats declare a blocked peer dead, fail its calls, and the client reconnects after healing', async (t) => {
  const faults = new FaultTable();
  const hb = { heartbeatIntervalMs: 50, heartbeatMissedLimit: 3, handshakeTimeoutMs: 300 };
  // The server checks rarely, so it is the client that notices the silence (as with a frozen server).
  const { server, client, close } = await pair(
    { faults, ...hb, heartbeatIntervalMs: 10_000 },
    { ...hb, reconnect: { initialDelayMs: 20, maxDelayMs: 100 }, random: new SeededRandom(7) },
  );
  t.after(close);
  server.handle('hang', () => new Promise(() => {}));
  server.handle('echo', (d) => d);
  const events: string[] = [];
  client.on('connected', () => events.push('connected'));
  client.on('disconnected', (err) => events.push(`disconnected:${(err as KemuError).code}`));
  const pending = client.request('hang');
  faults.add({ action: 'block', peers: ['test/client'], ttlMs: 60_000 });
  await assert.rejects(pending, (err: unknown) => {
    assert.ok(err instanceof WirePeerDeadError);
    assert.ok(err instanceof WireDisconnectedError, 'peer dead is a kind of disconnected');
    assert.equal(err.code, 'WIRE_PEER_DEAD');
    return true;
  });
  assert.deepEqual(events, ['disconnected:WIRE_PEER_DEAD']);
  await assert.rejects(client.request('echo', 1), WireDisconnectedError);
  // While blocked, handshakes are lost too: the client keeps retrying without getting through.
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(client.isConnected, false);
  faults.clear();
  await client.whenConnected(10_000);
  assert.equal(await client.request('echo', 'back'), 'back');
  assert.deepEqual(events, ['disconnected:WIRE_PEER_DEAD', 'connected']);
});

test('backoff grows exponentially to its cap, jittered by the injected Random', () => {
  const delays = (seed: number) => {
    const b = new Backoff(new SeededRandom(seed), { initialDelayMs: 100, maxDelayMs: 1000 });
    return Array.from({ length: 7 }, () => b.next());
  };
  const d = delays(1);
  const caps = [100, 200, 400, 800, 1000, 1000, 1000];
  d.forEach((v, i) => {
    const cap = caps[i] as number;
    assert.ok(v >= cap / 2 && v < cap, `attempt ${i}: ${v} not in [${cap / 2}, ${cap})`);
  });
  assert.deepEqual(delays(1), d);
  assert.notDeepEqual(delays(2), d);
  const b = new Backoff(new SeededRandom(1), { initialDelayMs: 100 });
  b.next();
  b.next();
  b.reset();
  assert.ok(b.next() < 100);
});

test('attaches to an existing http.Server on its path and leaves other upgrades alone', async (t) => {
  const httpServer = http.createServer((_req, res) => res.end('plain http'));
  const server = new WireServer({ identity: 'kube-apiserver/a', log: silentLogger(), path: '/internal' });
  server.handle('ping', () => 'pong');
  server.attach(httpServer);
  let otherUpgrades = 0;
  httpServer.on('upgrade', (req, socket) => {
    if (req.url !== '/internal') {
      otherUpgrades++;
      socket.destroy();
    }
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  t.after(async () => {
    await server.close();
    httpServer.closeAllConnections();
    await new Promise((r) => httpServer.close(r));
  });
  const { port } = httpServer.address() as { port: number };
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'plain http');
  const client = new WireClient({
    identity: 'kubelet/w1',
    log: silentLogger(),
    url: `ws://127.0.0.1:${port}/internal`,
  });
  t.after(() => client.close());
  await client.start().whenConnected(10_000);
  assert.equal(await client.request('ping'), 'pong');
  const stray = new WebSocket(`ws://127.0.0.1:${port}/other`);
  await new Promise((r) => stray.on('error', r));
  assert.equal(otherUpgrades, 1);
});

test('metrics count frames and bytes per method and errors per code', async (t) => {
  const registry = new Registry();
  const { server, client, close } = await pair({ metrics: registry });
  t.after(close);
  server.handle('echo', (d) => d);
  for (let i = 0; i < 3; i++) await client.request('echo', 'abc');
  await client.request('missing').catch(() => {});
  const text = await registry.metrics();
  assert.match(text, /kemu_wire_frames_total\{method="echo",direction="in"\} 3/);
  assert.match(text, /kemu_wire_frames_total\{method="echo",direction="out"\} 3/);
  assert.match(text, /kemu_wire_bytes_total\{method="echo",direction="in"\} \d+/);
  assert.match(text, /kemu_wire_errors_total\{code="WIRE_UNKNOWN_METHOD"\} 1/);
});

test('a reply that cannot be encoded becomes an error reply, not a crash', async (t) => {
  const { server, client, close } = await pair();
  t.after(close);
  server.handle('symbol', () => Symbol('not encodable'));
  server.handle('cycle', async () => {
    const o: { self?: unknown } = {};
    o.self = o;
    return o;
  });
  server.handle('echo', (d) => d);
  await assert.rejects(client.request('symbol'), { name: 'RemoteError', code: 'WIRE_HANDLER_ERROR' });
  await assert.rejects(client.request('cycle'), { name: 'RemoteError', code: 'WIRE_HANDLER_ERROR' });
  assert.equal(await client.request('echo', 1), 1);
});

test('a hello advertising a frame limit too small to carry control frames is refused', async (t) => {
  const server = new WireServer({ identity: 'test/server', log: silentLogger() });
  await server.listen(0);
  t.after(() => server.close());
  const raw = await rawSocket(server.url);
  raw.ws.send(pack({ t: 'hello', v: 1, peer: 'test/raw', mif: 1, mfs: 10 }));
  const [code, reason] = await raw.closed;
  assert.equal(code, CloseCode.HANDSHAKE);
  assert.match(reason, /WIRE_HANDSHAKE: peer frame limit 10 is below the minimum/);
});
