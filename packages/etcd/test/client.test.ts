import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Runtime } from '@kemu/runtime';
import { EtcdClient } from '../src/client/client.js';
import { ConnectionError, type MemberConnection, type StreamHandlers } from '../src/client/transport.js';
import { NoLeaderError, RequestTooLargeError, UnavailableError } from '../src/server/errors.js';
import { Methods, type WatchCreateRequest } from '../src/server/protocol.js';

type Handler = (method: string, body: unknown) => unknown;

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** systemRuntime's timers are unref'd; in a test they are the only thing pending, so keep them ref'd. */
const runtime: Runtime = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  },
};

/** An in-memory member connection: `handler` answers calls (throw to fail them). */
function fakeFactory(handlers: Record<string, Handler>, calls: string[] = []) {
  return (endpoint: string): MemberConnection => ({
    async call(method, body) {
      calls.push(`${endpoint} ${method}`);
      const h = handlers[endpoint];
      if (!h) throw new ConnectionError(`${endpoint} down`, false);
      return h(method, body);
    },
    stream() {
      throw new Error('no streams here');
    },
    async close() {},
  });
}

const header = { clusterId: 'c', memberId: 'm', revision: 7, raftTerm: 1 };

test('reads fail over to another member on any connection failure', async () => {
  const calls: string[] = [];
  const client = new EtcdClient({
    runtime,
    endpoints: ['a:1', 'b:2'],
    connect: fakeFactory(
      {
        'ws://a:1': () => {
          throw new ConnectionError('reset', true);
        },
        'ws://b:2': () => ({ header, kvs: [], more: false, count: 0 }),
      },
      calls,
    ),
  });
  const res = await client.range('k');
  assert.equal(res.header.revision, 7);
  assert.deepEqual(calls, ['ws://a:1 KV.Range', 'ws://b:2 KV.Range']);
});

test('a write whose outcome is unknown is not retried; one certainly not sent is', async () => {
  const calls: string[] = [];
  const sentThenLost = new EtcdClient({
    runtime,
    endpoints: ['a:1', 'b:2'],
    connect: fakeFactory(
      {
        'ws://a:1': () => {
          throw new ConnectionError('reset after send', true);
        },
        'ws://b:2': () => ({ header }),
      },
      calls,
    ),
  });
  await assert.rejects(sentThenLost.put('k', 'v'), UnavailableError);
  assert.deepEqual(calls, ['ws://a:1 KV.Put']);

  const neverSent = new EtcdClient({
    runtime,
    endpoints: ['a:1', 'b:2'],
    connect: fakeFactory({ 'ws://b:2': () => ({ header }) }),
  });
  assert.equal((await neverSent.put('k', 'v')).header.revision, 7);
});

test('no leader anywhere: retries until the deadline, then a typed NoLeaderError', async () => {
  const noLeader = () => {
    throw new NoLeaderError();
  };
  const client = new EtcdClient({
    runtime,
    endpoints: ['a:1', 'b:2', 'c:3'],
    connect: fakeFactory({ 'ws://a:1': noLeader, 'ws://b:2': noLeader, 'ws://c:3': noLeader }),
    callTimeoutMs: 300,
  });
  const started = Date.now();
  await assert.rejects(client.put('k', 'v'), NoLeaderError);
  assert.ok(Date.now() - started < 3000, 'bounded');
});

test('errors that are answers are not retried', async () => {
  const calls: string[] = [];
  const client = new EtcdClient({
    runtime,
    endpoints: ['a:1', 'b:2'],
    connect: fakeFactory(
      {
        'ws://a:1': () => {
          throw new RequestTooLargeError();
        },
      },
      calls,
    ),
  });
  await assert.rejects(client.put('k', 'v'), RequestTooLargeError);
  assert.equal(calls.length, 1);
});

test('a watch resumes on another member from the revision after the last it delivered', async () => {
  const opened: { endpoint: string; req: WatchCreateRequest }[] = [];
  const streams: StreamHandlers[] = [];
  const connect = (endpoint: string): MemberConnection => ({
    async call() {
      throw new ConnectionError('x', false);
    },
    stream(method, body, handlers) {
      assert.equal(method, Methods.watch);
      opened.push({ endpoint, req: body as WatchCreateRequest });
      streams.push(handlers);
      return { cancel() {} };
    },
    async close() {},
  });
  const client = new EtcdClient({ endpoints: ['a:1', 'b:2'], connect, runtime });
  const w = client.watch('k', { startRevision: 5 });
  const kv = (rev: number) => ({
    key: new Uint8Array([107]),
    value: new Uint8Array([118]),
    createRevision: 5,
    modRevision: rev,
    version: 1,
    lease: 0,
  });
  streams[0]!.onMessage({ header: { ...header, revision: 5 }, watchId: 1, created: true, events: [] });
  await w.ready();
  streams[0]!.onMessage({
    header: { ...header, revision: 6 },
    watchId: 1,
    events: [
      { type: 'put', kv: kv(5) },
      { type: 'put', kv: kv(6) },
    ],
  });
  streams[0]!.onEnd(new ConnectionError('member died', true));
  await waitFor(() => opened.length === 2);
  assert.equal(opened[1]!.endpoint, 'ws://b:2');
  assert.equal(opened[1]!.req.startRevision, 7);
  streams[1]!.onMessage({ header: { ...header, revision: 7 }, watchId: 1, created: true, events: [] });
  streams[1]!.onMessage({ header: { ...header, revision: 7 }, watchId: 1, events: [{ type: 'put', kv: kv(7) }] });
  const revs: number[] = [];
  for await (const res of w) {
    for (const ev of res.events) revs.push(ev.kv.modRevision);
    if (revs.length === 3) break;
  }
  assert.deepEqual(revs, [5, 6, 7]);
  await client.close();
});
