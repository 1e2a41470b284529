import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type KemuError, silentLogger } from '@kemu/runtime';
import { pack, unpackMultiple } from 'msgpackr';
import WebSocket from 'ws';
import { WireClient, type WireClientOptions } from '../src/client.js';
import { CloseCode, WireDisconnectedError, WirePeerDeadError } from '../src/errors.js';
import { waitFor } from './helpers.js';
import { startEchoServer } from './proc.js';

interface Stats {
  rss: number;
  received: Record<string, number>;
  floods: Array<{ sent: number; credit: number; waiting: number; closed: boolean }>;
  bufferedAmount: number;
}

function client(t: { after: (fn: () => Promise<void>) => void }, url: string, opts: Partial<WireClientOptions> = {}) {
  const c = new WireClient({ identity: 'test/client', log: silentLogger(), url, ...opts });
  t.after(() => c.close());
  return c;
}

test('100,000 pipelined requests across processes, none lost, every response matches', async (t) => {
  // Queueing 100,000 requests blocks this process's event loop for seconds on a busy machine; the
  // server's heartbeat allowance (3 missed × 5 s) must outlast that, or it rightly calls us dead.
  const server = await startEchoServer(t, ['--hb-interval', '5000']);
  const c = client(t, server.url);
  await c.start().whenConnected(20_000);
  const n = 100_000;
  const pending: Array<Promise<{ i: number; tag: string }>> = [];
  for (let i = 0; i < n; i++) pending.push(c.request('echo', { i, tag: `r${i * 7}` }, { timeoutMs: 120_000 }));
  const results = await Promise.all(pending);
  assert.equal(results.length, n);
  for (let i = 0; i < n; i++) {
    const r = results[i];
    if (r?.i !== i || r.tag !== `r${i * 7}`) assert.fail(`response ${i} does not match: ${JSON.stringify(r)}`);
  }
  const stats = await c.request<Stats>('stats');
  assert.equal(stats.received.echo, n, 'the server saw each request exactly once');
});

test('a consumer that stops reading keeps the producer process bounded', async (t) => {
  const server = await startEchoServer(t);
  const c = client(t, server.url);
  await c.start().whenConnected(20_000);
  const before = await c.request<Stats>('stats');
  const window = 32;
  const itemBytes = 64 * 1024;
  const stream = c.stream<Buffer>('flood', { size: itemBytes }, { window });
  for (let i = 0; i < 10; i++) {
    const r = await stream.next();
    assert.equal((r.value as Buffer).length, itemBytes);
  }
  // Now the consumer stops reading. The producer must park on credit, not keep producing.
  let stats = before;
  await waitFor(
    async () => {
      stats = await c.request<Stats>('stats');
      return stats.floods[0]?.waiting === 1;
    },
    { what: 'producer blocked on credit' },
  );
  const parked = stats.floods[0];
  // Taking 10 of 32 returned no credit yet (credit goes back in batches of 16): exactly one window sent.
  assert.equal(parked?.sent, window);
  assert.equal(parked?.credit, 0);
  await new Promise((r) => setTimeout(r, 500));
  const later = await c.request<Stats>('stats');
  assert.equal(later.floods[0]?.sent, window, 'no more items while the consumer is not reading');
  assert.ok(later.bufferedAmount < itemBytes, `producer socket buffer ${later.bufferedAmount} bytes`);
  // Unbounded, 500 ms of 64 KiB items would be hundreds of MB; bounded, RSS barely moves.
  const growth = later.rss - before.rss;
  assert.ok(growth < 64 * 1024 * 1024, `producer RSS grew by ${growth} bytes`);
  assert.equal(stream.buffered, window - 10);
  stream.cancel();
  await waitFor(async () => (await c.request<Stats>('stats')).floods[0]?.closed === true, {
    what: 'producer cancelled',
  });
});

test('pending calls fail as disconnected when the server is SIGKILLed; the client reconnects to its restart', async (t) => {
  const first = await startEchoServer(t);
  const c = client(t, first.url, { reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  const events: string[] = [];
  c.on('connected', () => events.push('connected'));
  c.on('disconnected', (err) => events.push(`disconnected:${(err as KemuError).code}`));
  await c.start().whenConnected(20_000);
  const pending = Array.from({ length: 5 }, () => c.request('hang', null, { timeoutMs: 60_000 }));
  await waitFor(async () => (await c.request<Stats>('stats')).received.hang === 5, { what: 'hang calls to arrive' });
  first.signal('SIGKILL');
  for (const p of pending) {
    await assert.rejects(p, (err: unknown) => err instanceof WireDisconnectedError && err.code === 'WIRE_DISCONNECTED');
  }
  await first.exited;
  await assert.rejects(c.request('echo', 1), WireDisconnectedError);
  await startEchoServer(t, ['--port', String(first.port)]);
  await waitFor(() => c.isConnected, { timeoutMs: 20_000, what: 'reconnect to the restarted server' });
  assert.equal(await c.request('echo', 'again'), 'again');
  assert.deepEqual(events, ['connected', 'disconnected:WIRE_DISCONNECTED', 'connected']);
});

test('a SIGSTOPped server is declared dead within the heartbeat bound', async (t) => {
  const server = await startEchoServer(t);
  const intervalMs = 500;
  const missed = 3;
  const c = client(t, server.url, { heartbeatIntervalMs: intervalMs, heartbeatMissedLimit: missed });
  await c.start().whenConnected(20_000);
  const pending = c.request('hang', null, { timeoutMs: 60_000 });
  await waitFor(async () => (await c.request<Stats>('stats')).received.hang === 1);
  let deadAt = 0;
  let deadErr: unknown = null;
  c.on('disconnected', (err) => {
    deadAt = performance.now();
    deadErr = err;
  });
  const stoppedAt = performance.now();
  server.signal('SIGSTOP');
  await assert.rejects(pending, WirePeerDeadError);
  await waitFor(() => deadAt > 0);
  assert.ok(deadErr instanceof WirePeerDeadError);
  const elapsed = deadAt - stoppedAt;
  // Declared after `missed` silent periods: at most (missed + 1) periods after the freeze. The
  // extra 1.5 s is scheduling slack on a shared machine.
  const bound = (missed + 1) * intervalMs;
  t.diagnostic(`declared dead after ${elapsed.toFixed(0)} ms (bound ${bound} ms)`);
  assert.ok(elapsed >= (missed - 1) * intervalMs, `declared dead too early: ${elapsed} ms`);
  assert.ok(elapsed <= bound + 1500, `declared dead after ${elapsed} ms, bound ${bound} ms`);
  server.signal('SIGCONT');
  await waitFor(() => c.isConnected, { timeoutMs: 20_000, what: 'reconnect after SIGCONT' });
});

async function raw(url: string) {
  const ws = new WebSocket(url);
  const frames: Array<Record<string, unknown>> = [];
  ws.on('message', (d: Buffer) => frames.push(...(unpackMultiple(d) as Array<Record<string, unknown>>)));
  const closed = new Promise<[number, string]>((resolve) => ws.on('close', (c, r) => resolve([c, r.toString()])));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(pack({ t: 'hello', v: 1, peer: 'test/raw', mif: 16, mfs: 1 << 20 }));
  await waitFor(() => frames.some((f) => f.t === 'hello'), { what: 'server hello' });
  const reply = async (id: number) => {
    await waitFor(() => frames.some((f) => f.id === id), { what: `reply ${id}` });
    return frames.find((f) => f.id === id) as { t: string; d?: unknown; e?: { code: string; message: string } };
  };
  return { ws, frames, closed, reply };
}

test('malformed, oversize and unknown-method frames are answered; the server keeps serving', async (t) => {
  const server = await startEchoServer(t, ['--max-frame', '65536']);

  // Wrong shape with a usable id and unknown methods get error replies on a connection that stays up.
  const a = await raw(server.url);
  a.ws.send(pack({ t: 'req', id: 5, m: 123 }));
  assert.equal((await a.reply(5)).e?.code, 'WIRE_BAD_FRAME');
  a.ws.send(pack({ t: 'req', id: 6, m: 'no.such.method' }));
  const unknown = await a.reply(6);
  assert.equal(unknown.e?.code, 'WIRE_UNKNOWN_METHOD');
  assert.match(unknown.e?.message ?? '', /no\.such\.method/);
  a.ws.send(pack({ t: 'req', id: 7, m: 'echo', d: 'still here' }));
  assert.equal((await a.reply(7)).d, 'still here');
  a.ws.close();

  // Bytes that are not msgpack: no id to answer, so the connection is closed with 4002 and a reason.
  const b = await raw(server.url);
  b.ws.send(Buffer.from([0xd9, 0x40, 0x41, 0x42]));
  const [badCode, badReason] = await b.closed;
  assert.equal(badCode, CloseCode.BAD_FRAME);
  assert.match(badReason, /^WIRE_BAD_FRAME: message is not msgpack/);

  // A frame shape with no id (unknown type): closed the same way.
  const c2 = await raw(server.url);
  c2.ws.send(pack({ t: 'bogus' }));
  const [bogusCode, bogusReason] = await c2.closed;
  assert.equal(bogusCode, CloseCode.BAD_FRAME);
  assert.match(bogusReason, /unknown frame type "bogus"/);

  // Hostile values in the frame type: a 64-bit integer (decodes to a BigInt) and long non-ASCII text.
  const big = await raw(server.url);
  big.ws.send(Buffer.from([0x81, 0xa1, 0x74, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  const [bigIntCode, bigIntReason] = await big.closed;
  assert.equal(bigIntCode, CloseCode.BAD_FRAME);
  assert.match(bigIntReason, /unknown frame type 18446744073709551615/);
  const uni = await raw(server.url);
  uni.ws.send(pack({ t: 'é'.repeat(500) }));
  const [uniCode] = await uni.closed;
  assert.equal(uniCode, CloseCode.BAD_FRAME);

  // Oversize: refused by the frame limit with 1009 before it is buffered or decoded.
  const d = await raw(server.url);
  d.ws.send(Buffer.alloc(100_000, 1));
  const [bigCode] = await d.closed;
  assert.equal(bigCode, CloseCode.TOO_LARGE);

  // No frame-first handshake: closed with 4003.
  const e = new WebSocket(server.url);
  e.on('error', () => {});
  await new Promise((r) => e.once('open', r));
  e.send(pack({ t: 'req', id: 1, m: 'echo' }));
  const [hsCode] = await new Promise<[number, string]>((resolve) =>
    e.on('close', (c, r) => resolve([c, r.toString()])),
  );
  assert.equal(hsCode, CloseCode.HANDSHAKE);

  // The process is alive and serves a well-behaved client.
  assert.equal(server.child.exitCode, null);
  const ok = client(t, server.url);
  await ok.start().whenConnected(20_000);
  assert.equal(await ok.request('echo', 'fine'), 'fine');
});

test('a partition installed through the admin endpoint blocks both ways and heals at expiry', async (t) => {
  const server = await startEchoServer(t, ['--tick-ms', '50', '--hb-interval', '1000']);
  const c = client(t, server.url, {
    heartbeatIntervalMs: 200,
    heartbeatMissedLimit: 3,
    handshakeTimeoutMs: 500,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  const ticks: number[] = [];
  c.handleNotify<number>('tick', () => ticks.push(performance.now()));
  const events: Array<[string, number]> = [];
  c.on('connected', () => events.push(['connected', performance.now()]));
  c.on('disconnected', (err) => events.push([(err as KemuError).code, performance.now()]));
  await c.start().whenConnected(20_000);
  await waitFor(() => ticks.length >= 3, { what: 'server-to-client ticks' });
  assert.equal(await c.request('echo', 'before'), 'before');
  const echoesBefore = (await c.request<Stats>('stats')).received.echo ?? 0;

  const admin = `http://127.0.0.1:${server.adminPort}/faults`;
  const ttlMs = 3000;
  const res = await fetch(admin, {
    method: 'POST',
    body: JSON.stringify({ action: 'partition', a: ['test/client'], b: ['test/echo'], ttlMs }),
  });
  assert.equal(res.status, 201);
  const installedAt = performance.now();
  const { id } = (await res.json()) as { id: string };
  const listed = (await (await fetch(admin)).json()) as { rules: Array<{ id: string }> };
  assert.deepEqual(
    listed.rules.map((r) => r.id),
    [id],
  );

  // Client -> server: the request is lost (the connection is later declared dead).
  await assert.rejects(c.request('echo', 'during', { timeoutMs: 5000 }), WireDisconnectedError);
  const dead = events.find(([what]) => what === 'WIRE_PEER_DEAD');
  assert.ok(dead, `expected the partitioned server to be declared dead, events: ${JSON.stringify(events)}`);
  // Server -> client: ticks stopped while the connection was still up (allow one already in flight).
  const ticksWhileUp = ticks.filter((at) => at > installedAt + 200 && at < dead[1]);
  assert.deepEqual(ticksWhileUp, [], 'no ticks crossed the partition');

  // Heals by itself at expiry: reconnect, traffic both ways, and nothing from during the partition arrived.
  await waitFor(() => c.isConnected, { timeoutMs: 20_000, what: 'reconnect after the partition expired' });
  assert.ok(performance.now() - installedAt >= ttlMs - 200, 'reconnected only after the rule expired');
  const ticksAfter = ticks.length;
  await waitFor(() => ticks.length >= ticksAfter + 3, { what: 'ticks after healing' });
  const after = await c.request<Stats>('stats');
  assert.equal(after.received.echo ?? 0, echoesBefore, 'the request sent during the partition never arrived');
  assert.deepEqual(await (await fetch(admin)).json(), { rules: [] });
});
