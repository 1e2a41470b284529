import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WireConnection } from '../src/connection.js';
import { RemoteError, WireBadFrameError, WireCancelledError, WireDisconnectedError } from '../src/errors.js';
import type { StreamSink } from '../src/stream.js';
import { type ConsumerLink, type ProducerLink, ServedStream, WireStream } from '../src/stream.js';
import { pair, waitFor } from './helpers.js';

class FakeConsumerLink implements ConsumerLink {
  grants: number[] = [];
  cancelled: number[] = [];
  grantCredit(_id: number, n: number): void {
    this.grants.push(n);
  }
  cancelStream(id: number): void {
    this.cancelled.push(id);
  }
}

class FakeProducerLink implements ProducerLink {
  sent: unknown[] = [];
  ended: unknown[] = [];
  tooLarge = false;
  get conn(): WireConnection {
    throw new Error('not used');
  }
  sendEvt(_id: number, _m: string, item: unknown): void {
    if (this.tooLarge) throw new Error('too large');
    this.sent.push(item);
  }
  sendEnd(_id: number, _m: string, err: unknown): void {
    this.ended.push(err ?? 'ok');
  }
}

test('consumer returns credit in half-window batches as items are taken, never before', async () => {
  const link = new FakeConsumerLink();
  const s = new WireStream<number>(link, 1, 'watch', 4);
  for (let i = 0; i < 4; i++) assert.equal(s.push(i), true);
  assert.equal(s.buffered, 4);
  assert.deepEqual(link.grants, [], 'receiving is not consuming');
  assert.equal(s.push(99), false, 'a fifth item exceeds the window');
  assert.deepEqual(await s.next(), { value: 0, done: false });
  assert.deepEqual(link.grants, []);
  assert.deepEqual(await s.next(), { value: 1, done: false });
  assert.deepEqual(link.grants, [2]);
  assert.equal(s.push(4), true);
  assert.equal(s.push(5), true);
  assert.equal(s.push(6), false, 'still at most window items outstanding');
});

test('consumer drains buffered items before reporting the end or the error', async () => {
  const link = new FakeConsumerLink();
  const s = new WireStream<string>(link, 1, 'logs', 8);
  s.push('a');
  s.push('b');
  s.finish(new RemoteError('LOGS_GONE', 'container removed', 'kubelet/w1'));
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const x of s) got.push(x);
    })(),
    (err: unknown) => err instanceof RemoteError && err.code === 'LOGS_GONE',
  );
  assert.deepEqual(got, ['a', 'b']);
  assert.deepEqual(await s.next(), { value: undefined, done: true }, 'the error is thrown once');
});

test('a waiting consumer gets items directly, and break cancels the producer', async () => {
  const link = new FakeConsumerLink();
  const s = new WireStream<number>(link, 7, 'watch', 2);
  const first = s.next();
  s.push(1);
  assert.deepEqual(await first, { value: 1, done: false });
  assert.deepEqual(link.grants, [1]);
  s.push(2);
  for await (const x of s) {
    assert.equal(x, 2);
    break;
  }
  assert.deepEqual(link.cancelled, [7]);
  assert.equal(s.closed, true);
  assert.equal(s.push(3), true, 'items racing a cancel are ignored, not a violation');
  assert.deepEqual(await s.next(), { value: undefined, done: true });
});

test('producer send() waits for credit; the sender buffers only what waits', async () => {
  const link = new FakeProducerLink();
  const sink = new ServedStream(link, 1, 'watch', 2);
  await sink.send('a');
  await sink.send('b');
  assert.equal(sink.credit, 0);
  let third = false;
  const p = sink.send('c').then(() => (third = true));
  assert.equal(sink.trySend('d'), false);
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false);
  assert.equal(sink.waiting, 1);
  assert.deepEqual(link.sent, ['a', 'b']);
  sink.grant(1);
  await p;
  assert.deepEqual(link.sent, ['a', 'b', 'c']);
  assert.equal(sink.waiting, 0);
});

test('producer end() is sent after the items still waiting for credit', async () => {
  const link = new FakeProducerLink();
  const sink = new ServedStream(link, 1, 'watch', 1);
  await sink.send(1);
  const p = sink.send(2);
  sink.end();
  assert.deepEqual(link.ended, [], 'end waits for the queued item');
  await assert.rejects(sink.send(3), WireCancelledError);
  sink.grant(1);
  await p;
  assert.deepEqual(link.sent, [1, 2]);
  assert.deepEqual(link.ended, ['ok']);
});

test('cancellation rejects waiting sends and aborts the producer signal', async () => {
  const link = new FakeProducerLink();
  const sink = new ServedStream(link, 1, 'watch', 0);
  const signal = sink.signal;
  const p = sink.send('x');
  sink.abort(new WireCancelledError('cancelled by consumer'));
  await assert.rejects(p, WireCancelledError);
  assert.equal(signal.aborted, true);
  assert.equal(sink.trySend('y'), false);
  await assert.rejects(sink.send('z'), WireCancelledError);
});

test('a consumer that stops reading stops the producer at the window (real sockets)', async (t) => {
  const producer: { sink: StreamSink<Buffer> | null } = { sink: null };
  let sent = 0;
  let producerError: unknown = null;
  const { server, client, close } = await pair();
  t.after(close);
  server.handleStream<null, Buffer>('flood', async (_d, s) => {
    producer.sink = s;
    try {
      for (;;) {
        await s.send(Buffer.alloc(1024));
        sent++;
      }
    } catch (err) {
      producerError = err;
    }
  });
  const stream = client.stream<Buffer>('flood', null, { window: 16 });
  let read = 0;
  for await (const _ of stream) {
    if (++read === 5) break;
  }
  // The break cancelled it; open another one and simply stop reading.
  await waitFor(() => producerError instanceof WireCancelledError, { what: 'first producer cancelled' });
  sent = 0;
  const idle = client.stream<Buffer>('flood', null, { window: 16 });
  await waitFor(() => sent === 16, { what: 'producer to fill the window' });
  await waitFor(() => producer.sink?.waiting === 1, { what: 'producer blocked on credit' });
  // Give it time to (wrongly) send more; it must not.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sent, 16);
  assert.equal(idle.buffered, 16);
  assert.equal(producer.sink?.credit, 0);
  // Reading 8 returns 8 credits (half the window) and the producer moves on by exactly that.
  for (let i = 0; i < 8; i++) await idle.next();
  await waitFor(() => sent === 24, { what: 'producer to use the returned credit' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(sent, 24);
});

test('a stream fails with the producer error code, or disconnected when the link drops', async (t) => {
  const { server, client, close } = await pair();
  t.after(close);
  server.handleStream('broken', async (_d, s) => {
    await s.send(1);
    throw Object.assign(new WireBadFrameError('x'), { code: 'WATCH_COMPACTED' });
  });
  server.handleStream('forever', () => {});
  const got: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const x of client.stream('broken')) got.push(x);
    })(),
    (err: unknown) => err instanceof RemoteError && err.code === 'WATCH_COMPACTED' && err.peer === 'test/server',
  );
  assert.deepEqual(got, [1]);
  await assert.rejects(
    client.stream('missing').next(),
    (err: unknown) => err instanceof RemoteError && err.code === 'WIRE_UNKNOWN_METHOD',
  );
  const forever = client.stream('forever');
  const next = forever.next();
  await waitFor(() => server.connections.size === 1);
  for (const c of server.connections) c.close();
  await assert.rejects(next, WireDisconnectedError);
});

test('aborting the consumer signal cancels the stream and the producer sees it', async (t) => {
  const { server, client, close } = await pair();
  t.after(close);
  let producerSignal: AbortSignal | null = null;
  server.handleStream('ticks', async (_d, sink) => {
    producerSignal = sink.signal;
    await sink.send('first');
  });
  const ac = new AbortController();
  const s = client.stream('ticks', null, { signal: ac.signal });
  assert.deepEqual(await s.next(), { value: 'first', done: false });
  ac.abort();
  assert.deepEqual(await s.next(), { value: undefined, done: true });
  await waitFor(() => producerSignal?.aborted === true, { what: 'producer signal to abort' });
});
