import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger, SeededRandom, silentLogger } from '@kemu/runtime';
import { pack } from 'msgpackr';
import WebSocket from 'ws';
import { WireClient } from '../src/client.js';
import { FaultTable } from '../src/faults.js';
import { WireServer } from '../src/server.js';
import { pair, waitFor } from './helpers.js';

/** Random frames built to hit every branch of validation and dispatch, valid or not. */
function randomMessage(r: SeededRandom): Buffer {
  const pick = <T>(xs: T[]): T => xs[r.int(0, xs.length)] as T;
  if (r.next() < 0.15) {
    const bytes = Buffer.alloc(r.int(1, 64));
    for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(0, 256);
    return bytes;
  }
  const anyValue = (): unknown =>
    pick<unknown>([
      r.int(-5, 40),
      -1,
      1.5,
      'x',
      'é'.repeat(r.int(0, 200)),
      null,
      [],
      { code: 'X', message: 'y' },
      { code: 1 },
      2n ** 64n - 1n,
      Buffer.alloc(r.int(0, 32)),
    ]);
  const frame: Record<string, unknown> = {
    t: pick(['req', 'res', 'evt', 'end', 'cancel', 'credit', 'note', 'ping', 'pong', 'hello', 'zzz', 7]),
  };
  for (const key of ['id', 'm', 'd', 'w', 'n', 'e', 'v', 'peer']) {
    if (r.next() < 0.5)
      frame[key] = key === 'm' && r.next() < 0.6 ? pick(['echo', 'count', 'note', 'nope']) : anyValue();
  }
  const frames = r.next() < 0.2 ? [frame, frame] : [frame];
  return Buffer.concat(frames.map((f) => pack(f)));
}

test('random and malformed frames never crash the server, which keeps serving', async (t) => {
  const server = new WireServer({ identity: 'test/server', log: silentLogger(), maxInFlight: 8 });
  server.handle('echo', (d) => d);
  server.handleStream('count', async (_d, sink) => {
    for (let i = 0; i < 3; i++) await sink.send(i);
    sink.end();
  });
  server.handleNotify('note', () => {});
  await server.listen(0);
  t.after(() => server.close());

  const r = new SeededRandom(20261122);
  let closes = 0;
  let replies = 0;
  for (let conn = 0; conn < 30; conn++) {
    const ws = new WebSocket(server.url);
    ws.on('error', () => {});
    ws.on('message', () => replies++);
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(pack({ t: 'hello', v: 1, peer: 'test/fuzz', mif: 4, mfs: 1 << 20 }));
    for (let i = 0; i < 20 && ws.readyState === WebSocket.OPEN; i++) ws.send(randomMessage(r));
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (ws.readyState === WebSocket.OPEN) ws.close();
    await closed;
    closes++;
  }
  assert.equal(closes, 30);
  assert.ok(replies > 0, 'some frames were answered');
  const client = new WireClient({ identity: 'test/client', log: silentLogger(), url: server.url });
  t.after(() => client.close());
  await client.start().whenConnected(10_000);
  assert.equal(await client.request('echo', 'alive'), 'alive');
  const items: unknown[] = [];
  for await (const x of client.stream('count')) items.push(x);
  assert.deepEqual(items, [0, 1, 2]);
});

test('fault rules on a live connection: duplicate and drop by method, delay by direction', async (t) => {
  const faults = new FaultTable({ random: new SeededRandom(3) });
  const { server, client, close } = await pair({}, { faults });
  t.after(close);
  const raft: number[] = [];
  server.handleNotify<number>('raft.msg', (n) => raft.push(n));
  server.handle('echo', (d) => d);

  const dup = faults.add({ action: 'duplicate', methods: ['raft.*'], direction: 'out', ttlMs: 60_000 });
  for (let i = 0; i < 3; i++) client.notify('raft.msg', i);
  await waitFor(() => raft.length === 6, { what: 'duplicated notifications' });
  assert.deepEqual(raft, [0, 0, 1, 1, 2, 2]);
  faults.remove(dup.id);

  faults.add({ action: 'drop', methods: ['raft.*'], ttlMs: 60_000 });
  client.notify('raft.msg', 99);
  assert.equal(await client.request('echo', 'other methods pass'), 'other methods pass');
  // The echo reply came back after the notification was sent; it would have arrived first.
  assert.deepEqual(raft, [0, 0, 1, 1, 2, 2]);
  faults.clear();

  faults.add({ action: 'delay', delayMs: 150, direction: 'in', ttlMs: 60_000 });
  const t0 = performance.now();
  assert.equal(await client.request('echo', 'late'), 'late');
  assert.ok(performance.now() - t0 >= 140, 'the reply was held back by the delay rule');
});

test('bad frames and unknown methods leave a log line naming the peer and the problem', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
  });
  const log = createLogger({ component: 'test', level: 'warn', destination });
  const server = new WireServer({ identity: 'test/server', log });
  await server.listen(0);
  t.after(() => server.close());
  const ws = new WebSocket(server.url);
  ws.on('error', () => {});
  const closed = new Promise((r) => ws.on('close', r));
  await new Promise((r) => ws.once('open', r));
  ws.send(pack({ t: 'hello', v: 1, peer: 'test/raw', mif: 4, mfs: 1 << 20 }));
  ws.send(pack({ t: 'req', id: 1, m: 'no.such' }));
  ws.send(Buffer.from([0xc1]));
  await closed;
  await waitFor(() => lines.some((l) => l.msg === 'closing wire connection'), { what: 'log lines' });
  const unknown = lines.find((l) => l.msg === 'request for unknown method');
  assert.equal(unknown?.method, 'no.such');
  assert.equal(unknown?.peer, 'test/raw');
  const closing = lines.find((l) => l.msg === 'closing wire connection');
  assert.equal(closing?.code, 'WIRE_BAD_FRAME');
  assert.equal(closing?.peer, 'test/raw');
});
