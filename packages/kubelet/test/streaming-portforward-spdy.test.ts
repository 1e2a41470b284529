/**
 * The SPDY/3.1 session and port-forward relay driven by a hand-rolled SPDY client over an in-memory
 * transport and a real WebSocket, independent of kubectl.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  acceptPortForwardWebSocket,
  HeaderCodec,
  PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL,
  type PortForwardOutcome,
  SPDY3_DICTIONARY,
  SpdySession,
  type SpdyStream,
  spdyFrames,
} from '../src/server/streaming/index.js';
import { type RawWebSocket, rawWebSocket } from './fixtures/streams-raw-websocket.js';

const {
  SpdyFrameReader,
  decodeHeaderBlock,
  encodeDataFrame,
  encodeHeaderBlock,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynStream,
  encodeWindowUpdate,
  FLAG_FIN,
  GoAwayStatus,
  RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE,
} = spdyFrames;
type SpdyFrame = spdyFrames.SpdyFrame;

/** A minimal SPDY client: compresses its SYN_STREAM headers, decodes everything the server sends. */
class TestClient {
  private readonly deflate = new HeaderCodec('deflate');
  private readonly inflate = new HeaderCodec('inflate');
  private readonly reader = new SpdyFrameReader();
  private processing: Promise<void> = Promise.resolve();
  readonly frames: (SpdyFrame & { replyHeaders?: Record<string, string> })[] = [];
  private nextId = 1;

  constructor(private readonly sendBytes: (b: Buffer) => void) {}

  receive(bytes: Buffer): void {
    for (const frame of this.reader.push(bytes)) {
      this.processing = this.processing.then(async () => {
        if (frame.type === 'syn_reply') {
          const headers = decodeHeaderBlock(await this.inflate.process(frame.headerBlock));
          this.frames.push({ ...frame, replyHeaders: headers });
        } else {
          this.frames.push(frame);
        }
      });
    }
  }

  async open(headers: Record<string, string>, fin = false): Promise<number> {
    const id = this.nextId;
    this.nextId += 2;
    const block = await this.deflate.process(encodeHeaderBlock(headers));
    this.sendBytes(encodeSynStream(id, 0, 0, fin ? FLAG_FIN : 0, block));
    return id;
  }

  send(bytes: Buffer): void {
    this.sendBytes(bytes);
  }

  dataFor(streamId: number): Buffer {
    return Buffer.concat(this.frames.flatMap((f) => (f.type === 'data' && f.streamId === streamId ? [f.data] : [])));
  }

  finished(streamId: number): boolean {
    return this.frames.some(
      (f) =>
        (f.type === 'data' && f.streamId === streamId && (f.flags & FLAG_FIN) !== 0) ||
        (f.type === 'rst_stream' && f.streamId === streamId),
    );
  }

  async waitFor<T>(cond: () => T | undefined | false, what: string): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await this.processing;
      const v = cond();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

test('the SPDY/3 dictionary is the protocol constant', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(
    createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'),
    '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
  );
});

describe('SPDY session (in memory)', () => {
  function pair(onStream: (s: SpdyStream) => void, splitBytes = false) {
    let client: TestClient | undefined;
    const errors: Error[] = [];
    let closed = false;
    const session = new SpdySession({
      write: (bytes) => client?.receive(bytes),
      onStream,
      onError: (err) => errors.push(err),
      onClose: () => {
        closed = true;
      },
    });
    client = new TestClient((bytes) => {
      if (!splitBytes) session.receive(bytes);
      else for (const b of bytes) session.receive(Buffer.of(b));
    });
    return { session, client, errors, isClosed: () => closed };
  }

  test('frames split into single bytes are reassembled; replies, data and FIN flow both ways', async () => {
    const { client } = pair((stream) => {
      stream.reply({ accepted: stream.headers.port ?? '' });
      stream.on('data', (d) => {
        stream.write(Buffer.from(d.toString().toUpperCase()));
        stream.consumed(d.length);
      });
      stream.on('end', () => stream.end());
    }, true);
    const id = await client.open({ streamtype: 'data', port: '80', requestid: '0' });
    client.send(encodeDataFrame(id, Buffer.from('hello'), false));
    client.send(encodeDataFrame(id, Buffer.from(' world'), true));
    await client.waitFor(() => client.finished(id), 'FIN');
    const reply = client.frames.find((f) => f.type === 'syn_reply');
    assert.deepEqual(reply?.replyHeaders, { accepted: '80' });
    assert.equal(client.dataFor(id).toString(), 'HELLO WORLD');
    // The reply precedes the data of its stream.
    assert.equal(client.frames[0]?.type, 'syn_reply');
  });

  test('WINDOW_UPDATEs return consumed bytes; sends honour windows once the peer does flow control', async () => {
    let server: SpdyStream | undefined;
    const { client } = pair((stream) => {
      server = stream;
      stream.reply();
      stream.on('data', (d) => stream.consumed(d.length));
    });
    client.send(encodeSettings([{ flags: 0, id: SETTINGS_INITIAL_WINDOW_SIZE, value: 65536 }]));
    const id = await client.open({ streamtype: 'data', port: '80', requestid: '1' });
    client.send(encodeDataFrame(id, Buffer.alloc(40_000), false));
    const updates = await client.waitFor(() => {
      const u = client.frames.filter((f) => f.type === 'window_update');
      return u.length >= 2 ? u : undefined;
    }, 'window updates');
    assert.deepEqual(
      updates.map((u) => (u.type === 'window_update' ? [u.streamId, u.delta] : [])).sort(),
      [
        [0, 40_000],
        [id, 40_000],
      ].sort(),
    );

    assert.ok(server);
    const writable = server.write(Buffer.alloc(200_000, 7));
    assert.equal(writable, false, 'backpressure while the window is exhausted');
    await client.waitFor(() => client.dataFor(id).length === 65536, '64 KiB');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.dataFor(id).length, 65536, 'nothing beyond the initial window');
    // Grant the stream more, but the session window is still exhausted.
    client.send(encodeWindowUpdate(id, 200_000));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.dataFor(id).length, 65536);
    client.send(encodeWindowUpdate(0, 100_000));
    await client.waitFor(() => client.dataFor(id).length === 165_536, 'session window grant');
    client.send(encodeWindowUpdate(0, 100_000));
    await client.waitFor(() => client.dataFor(id).length === 200_000, 'all data');
  });

  test('without peer flow control (kubectl) sends are not limited to 64 KiB', async () => {
    const { client } = pair((stream) => {
      stream.reply();
      stream.end(Buffer.alloc(300_000, 1));
    });
    const id = await client.open({ streamtype: 'data', port: '80', requestid: '2' });
    await client.waitFor(() => client.finished(id), 'FIN');
    assert.equal(client.dataFor(id).length, 300_000);
  });

  test('PING is echoed; RST_STREAM reaches the stream; DATA on unknown streams is refused', async () => {
    const resets: number[] = [];
    const { client } = pair((stream) => {
      stream.reply();
      stream.on('reset', (status) => resets.push(status));
    });
    client.send(encodePing(7));
    const id = await client.open({ streamtype: 'data', port: '80', requestid: '3' });
    client.send(encodeRstStream(id, RstStatus.CANCEL));
    client.send(encodeDataFrame(99, Buffer.from('x'), false));
    await client.waitFor(() => client.frames.some((f) => f.type === 'rst_stream' && f.streamId === 99), 'RST 99');
    assert.ok(client.frames.some((f) => f.type === 'ping' && f.id === 7));
    assert.deepEqual(resets, [RstStatus.CANCEL]);
    const rst = client.frames.find((f) => f.type === 'rst_stream');
    assert.equal(rst?.type === 'rst_stream' ? rst.status : -1, RstStatus.INVALID_STREAM);
  });

  test('a protocol error ends the session with GOAWAY PROTOCOL_ERROR', async () => {
    const { client, errors, isClosed } = pair(() => assert.fail('no stream expected'));
    const badVersion = Buffer.from([0x80, 0x02, 0x00, 0x01, 0, 0, 0, 0]);
    client.send(badVersion);
    await client.waitFor(() => client.frames.find((f) => f.type === 'goaway'), 'GOAWAY');
    const goaway = client.frames.find((f) => f.type === 'goaway');
    assert.equal(goaway?.type === 'goaway' ? goaway.status : -1, GoAwayStatus.PROTOCOL_ERROR);
    assert.equal(errors[0]?.name, 'SpdyProtocolError');
    assert.equal((errors[0] as Error & { code: string }).code, 'SPDY_UNSUPPORTED_VERSION');
    await client.waitFor(() => isClosed(), 'session close');
  });
});

describe('port-forward over a real WebSocket', () => {
  let target: http.Server;
  let targetPort: number;
  let server: http.Server;
  let port: number;
  let outcome: Promise<PortForwardOutcome> | undefined;
  const upgraded = new Set<{ destroy(): void }>();

  before(async () => {
    target = http.createServer((req, res) => res.end(`pod says ${req.url}`));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetPort = (target.address() as net.AddressInfo).port;
    server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      upgraded.add(socket);
      outcome = acceptPortForwardWebSocket(req, socket, head, {
        connect: (p) => {
          if (p === 9) throw new Error('no such port in pod');
          if (p === 82) {
            // A slow backend: the client's request bytes arrive before the target socket exists.
            return new Promise((resolve) => setTimeout(() => resolve(net.connect(targetPort, '127.0.0.1')), 50));
          }
          return net.connect(p === 80 ? targetPort : 1, '127.0.0.1');
        },
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const socket of upgraded) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => target.close(() => r()));
  });

  async function connect(): Promise<{ ws: RawWebSocket; client: TestClient }> {
    const ws = await rawWebSocket(
      `http://127.0.0.1:${port}/api/v1/namespaces/default/pods/p1/portforward`,
      PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL,
    );
    assert.equal(ws.protocol, PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL);
    // A message may hold several frames or a part of one: split every write in two.
    const client = new TestClient((bytes) => {
      const cut = Math.floor(bytes.length / 2);
      ws.send(bytes.subarray(0, cut));
      ws.send(bytes.subarray(cut));
    });
    ws.onMessage((d) => client.receive(d));
    return { ws, client };
  }

  test('failures are reported per connection on the error stream and the session keeps serving', async () => {
    const { ws, client } = await connect();
    // Refused target (port 1) and a backend that throws (port 9).
    const messages: string[] = [];
    for (const [requestid, remote] of [
      ['0', '81'],
      ['1', '9'],
    ] as const) {
      const err = await client.open({ streamtype: 'error', port: remote, requestid }, true);
      const data = await client.open({ streamtype: 'data', port: remote, requestid });
      await client.waitFor(() => client.finished(err) && client.finished(data), `failure of ${remote}`);
      messages.push(client.dataFor(err).toString());
    }
    assert.match(messages[0] ?? '', /^error forwarding port 81 to pod p1 in namespace default: connect ECONNREFUSED/);
    assert.match(messages[1] ?? '', /^error forwarding port 9 to pod p1 in namespace default: no such port in pod$/);
    // Same session, a working pair.
    const err = await client.open({ streamtype: 'error', port: '80', requestid: '2' }, true);
    const data = await client.open({ streamtype: 'data', port: '80', requestid: '2' });
    client.send(encodeDataFrame(data, Buffer.from('GET /ok HTTP/1.0\r\n\r\n'), true));
    await client.waitFor(() => client.finished(data) && client.finished(err), 'response');
    assert.match(client.dataFor(data).toString(), /^HTTP\/1\.1 200 OK[\s\S]*pod says \/ok$/);
    assert.equal(client.dataFor(err).length, 0, 'clean connection: empty error stream');
    ws.close();
    assert.deepEqual(await outcome, { kind: 'closed', connections: 3, failedConnections: 2 });
  });

  test('bytes sent before a slow backend connects are delivered', async () => {
    const { ws, client } = await connect();
    const err = await client.open({ streamtype: 'error', port: '82', requestid: '0' }, true);
    const data = await client.open({ streamtype: 'data', port: '82', requestid: '0' });
    client.send(encodeDataFrame(data, Buffer.from('GET /slow HTTP/1.0\r\n\r\n'), true));
    await client.waitFor(() => client.finished(data) && client.finished(err), 'response');
    assert.match(client.dataFor(data).toString(), /pod says \/slow$/);
    ws.close();
  });

  test('bad stream headers are reset without ending the session', async () => {
    const { ws, client } = await connect();
    const bad = await client.open({ streamtype: 'data', port: 'http', requestid: '0' });
    await client.waitFor(() => client.finished(bad), 'reset');
    const rst = client.frames.find((f) => f.type === 'rst_stream');
    assert.equal(rst?.type === 'rst_stream' ? rst.status : -1, RstStatus.PROTOCOL_ERROR);
    client.send(encodePing(1));
    await client.waitFor(() => client.frames.some((f) => f.type === 'ping'), 'ping reply');
    ws.close();
  });

  test('a client without the SPDY subprotocol is refused with 400', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/namespaces/default/pods/p1/portforward`, [
      'v4.channel.k8s.io',
    ]);
    const status = await new Promise<number>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('accepted')));
      ws.on('error', () => {});
    });
    assert.equal(status, 400);
    assert.equal((await outcome)?.kind, 'rejected');
  });
});
