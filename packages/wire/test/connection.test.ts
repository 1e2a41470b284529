import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import type WebSocket from 'ws';
import { WireConnection } from '../src/connection.js';
import { WirePeerDeadError, WireTimeoutError } from '../src/errors.js';
import { decodeMessage, encodeFrame, type Frame } from '../src/frame.js';
import { resolveOptions } from '../src/options.js';
import { Router } from '../src/router.js';

/** Stands in for a `ws` socket: records what the connection sends, lets the test play the peer. */
class FakeSocket extends EventEmitter {
  readyState = 1; // OPEN
  bufferedAmount = 0;
  binaryType = 'nodebuffer';
  sent: Frame[] = [];
  terminated = false;
  send(data: Buffer): void {
    const values: unknown[] = [];
    decodeMessage(data, values, []);
    this.sent.push(...(values as Frame[]));
  }
  close(): void {
    this.readyState = 3;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
  deliver(frame: Frame): void {
    this.emit('message', encodeFrame(frame));
  }
  take(): Frame[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

const flushed = () => new Promise((r) => setImmediate(r));

async function openConnection(runtime: ManualRuntime) {
  const socket = new FakeSocket();
  const opts = resolveOptions({
    identity: 'test/client',
    log: silentLogger(),
    runtime,
    random: new SeededRandom(1),
    heartbeatIntervalMs: 500,
    heartbeatMissedLimit: 3,
  });
  const closes: Error[] = [];
  const conn = new WireConnection(
    socket as unknown as WebSocket,
    'client',
    opts,
    new Router(),
    { onOpen: () => {}, onClose: (_c, err) => closes.push(err) },
    'fake',
  );
  await flushed();
  const [hello] = socket.take();
  assert.equal(hello?.t, 'hello');
  socket.deliver({ t: 'hello', v: 1, peer: 'test/peer', mif: 64, mfs: 1 << 20 });
  assert.equal(conn.isOpen, true);
  assert.equal(conn.remote, 'test/peer');
  return { socket, conn, closes };
}

test('a silent peer is declared dead after exactly `missed` silent heartbeat periods', async () => {
  const runtime = new ManualRuntime();
  const { socket, conn, closes } = await openConnection(runtime);
  const pending = conn.request('hang', null, { timeoutMs: 60_000 });
  pending.catch(() => {});
  // A live peer answers every ping.
  for (let i = 0; i < 4; i++) {
    runtime.advance(500);
    await flushed();
    const pings = socket.take().filter((f) => f.t === 'ping');
    assert.equal(pings.length, 1, `one ping per period (period ${i})`);
    socket.deliver({ t: 'pong', n: (pings[0] as { n: number }).n });
  }
  assert.equal(conn.isOpen, true);
  // Now it freezes, right after answering the ping of t = 2000. The period ending at 2500 still
  // heard that pong; the silent ones end at 3000, 3500 and 4000: dead 2000 ms after the last frame,
  // within the documented bound of (missed + 1) periods.
  runtime.advance(1999);
  assert.equal(conn.isOpen, true);
  runtime.advance(1);
  assert.equal(conn.isOpen, false);
  assert.equal(socket.terminated, true);
  assert.ok(closes[0] instanceof WirePeerDeadError);
  await assert.rejects(pending, WirePeerDeadError);
});

test('any frame from the peer counts as a sign of life', async () => {
  const runtime = new ManualRuntime();
  const { socket, conn } = await openConnection(runtime);
  for (let i = 0; i < 10; i++) {
    runtime.advance(500);
    socket.deliver({ t: 'note', m: 'raft.msg', d: i }); // never answers pings, but talks
  }
  assert.equal(conn.isOpen, true);
});

test('deadlines fire in order whatever order the calls were made in', async () => {
  const runtime = new ManualRuntime();
  const { socket, conn } = await openConnection(runtime);
  const order: number[] = [];
  const calls = [300, 100, 200].map((ms) =>
    conn.request('slow', null, { timeoutMs: ms }).catch((err: unknown) => {
      assert.ok(err instanceof WireTimeoutError);
      order.push(err.timeoutMs);
    }),
  );
  runtime.advance(99);
  await flushed();
  assert.deepEqual(order, []);
  runtime.advance(1);
  await flushed();
  assert.deepEqual(order, [100]);
  runtime.advance(100);
  await flushed();
  assert.deepEqual(order, [100, 200]);
  runtime.advance(100);
  await Promise.all(calls);
  assert.deepEqual(order, [100, 200, 300]);
  await flushed();
  // Each timed-out call was cancelled at the peer.
  const cancels = socket.take().filter((f) => f.t === 'cancel');
  assert.equal(cancels.length, 3);
  assert.equal(conn.pendingRequests, 0);
});

test('requests beyond the peer in-flight limit wait locally and go out as replies come back', async () => {
  const runtime = new ManualRuntime();
  const socket = new FakeSocket();
  const conn = new WireConnection(
    socket as unknown as WebSocket,
    'client',
    resolveOptions({ identity: 'test/client', log: silentLogger(), runtime }),
    new Router(),
    { onOpen: () => {}, onClose: () => {} },
    'fake',
  );
  await flushed();
  socket.take();
  socket.deliver({ t: 'hello', v: 1, peer: 'test/peer', mif: 2, mfs: 1 << 20 });
  const results = [1, 2, 3, 4].map((n) => conn.request<number>('double', n));
  await flushed();
  let reqs = socket.take().filter((f) => f.t === 'req') as Array<{ id: number; d: number }>;
  assert.deepEqual(
    reqs.map((r) => r.d),
    [1, 2],
  );
  socket.deliver({ t: 'res', id: reqs[0]?.id as number, d: 2 });
  await flushed();
  reqs = socket.take().filter((f) => f.t === 'req') as Array<{ id: number; d: number }>;
  assert.deepEqual(
    reqs.map((r) => r.d),
    [3],
  );
  assert.equal(await results[0], 2);
  assert.equal(conn.pendingRequests, 3);
});
