import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SeededRandom, silentLogger } from '@kemu/runtime';
import { pack, unpackMultiple } from 'msgpackr';
import { WebSocketServer } from 'ws';
import { WireClient } from '../src/client.js';
import { CloseCode, WireDisconnectedError, WireVersionMismatchError } from '../src/errors.js';
import { WireServer } from '../src/server.js';
import { waitFor } from './helpers.js';

/** A bare WebSocket server that answers a wire hello however the test says. */
async function rawServer(onHello: (ws: import('ws').WebSocket) => void) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('message', (d: Buffer) => {
      const frames = unpackMultiple(d) as Array<{ t: string }>;
      if (frames[0]?.t === 'hello') onHello(ws);
    });
  });
  await new Promise((r) => wss.once('listening', r));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/wire`,
    connections: () => connections,
    close: () => new Promise<void>((r) => wss.close(() => r())),
  };
}

function newClient(url: string) {
  return new WireClient({
    identity: 'test/client',
    log: silentLogger(),
    url,
    handshakeTimeoutMs: 200,
    random: new SeededRandom(1),
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  });
}

test('a server answering with another protocol version makes the client give up with a typed error', async (t) => {
  const server = await rawServer((ws) =>
    ws.send(pack({ t: 'hello', v: 2, peer: 'test/future', mif: 8, mfs: 1 << 20 })),
  );
  t.after(server.close);
  const client = newClient(server.url);
  t.after(() => client.close());
  const events: Error[] = [];
  client.on('disconnected', (err) => events.push(err));
  await assert.rejects(client.whenConnected(5000), WireVersionMismatchError);
  assert.equal(events.length, 1);
  assert.ok(events[0] instanceof WireVersionMismatchError);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(server.connections(), 1, 'no reconnect attempts after a version mismatch');
  await assert.rejects(client.request('x'), WireDisconnectedError);
});

test('a server closing with 4001 is reported as a version mismatch', async (t) => {
  const server = await rawServer((ws) =>
    ws.close(CloseCode.VERSION_MISMATCH, 'WIRE_VERSION_MISMATCH: local 0, remote 1'),
  );
  t.after(server.close);
  const client = newClient(server.url);
  t.after(() => client.close());
  await assert.rejects(client.whenConnected(5000), (err: unknown) => {
    assert.ok(err instanceof WireVersionMismatchError);
    assert.match(err.message, /local 0, remote 1/);
    return true;
  });
});

test('a server that never answers the hello is retried after the handshake deadline', async (t) => {
  const server = await rawServer(() => {});
  t.after(server.close);
  const client = newClient(server.url).start();
  t.after(() => client.close());
  await waitFor(() => server.connections() >= 3, { what: 'repeated connect attempts' });
  assert.equal(client.isConnected, false);
  await assert.rejects(client.whenConnected(100), { code: 'WIRE_TIMEOUT' });
});

test('a refused connection is retried until the server appears', async (t) => {
  // Find a free port, then leave it closed for a while.
  const probe = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => probe.once('listening', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const client = newClient(`ws://127.0.0.1:${port}/wire`).start();
  t.after(() => client.close());
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(client.isConnected, false);
  const server = new WireServer({ identity: 'test/late', log: silentLogger() });
  await server.listen(port);
  t.after(() => server.close());
  const conn = await client.whenConnected(10_000);
  assert.equal(conn.remote, 'test/late');
});
