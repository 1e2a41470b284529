import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  acceptExecWebSocket,
  acceptPodStreamUpgrade,
  CHANNEL_ERROR,
  CHANNEL_RESIZE,
  CHANNEL_STDIN,
  CHANNEL_STDOUT,
  type ExecBackend,
  type ExecExit,
  type ExecOutcome,
  ExecStartError,
  type ExecStartOptions,
  encodeChannelFrame,
  parseExecRequest,
  StreamRequestError,
  type TerminalSize,
} from '../src/server/streaming/index.js';

/** A scripted session: the test drives output and exit by hand. */
class FakeSession {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = null;
  readonly resizes: TerminalSize[] = [];
  killed = false;
  private settle: (exit: ExecExit) => void = () => {};
  readonly exit = new Promise<ExecExit>((resolve) => {
    this.settle = resolve;
  });
  resize(size: TerminalSize): void {
    this.resizes.push(size);
  }
  kill(): void {
    this.killed = true;
  }
  finish(exit: ExecExit): void {
    this.stdout.end();
    this.settle(exit);
  }
}

describe('exec WebSocket bridge', () => {
  let server: http.Server;
  let port: number;
  let backend: ExecBackend;
  let outcome: Promise<ExecOutcome> | undefined;

  before(async () => {
    server = http.createServer((_req, res) => res.end());
    server.on('upgrade', (req, socket, head) => {
      outcome = acceptExecWebSocket(req, socket, head, backend);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  function connect(query: string, protocols: string[]): WebSocket {
    return new WebSocket(`ws://127.0.0.1:${port}/api/v1/namespaces/ns1/pods/p1/exec?${query}`, protocols);
  }

  function collect(ws: WebSocket): Promise<{ frames: Buffer[]; code: number }> {
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer) => frames.push(d));
    return new Promise((resolve, reject) => {
      ws.on('close', (code) => resolve({ frames, code }));
      ws.on('error', reject);
    });
  }

  test('v4 is negotiated when offered alone; resize, stdin and the final status flow', async () => {
    const session = new FakeSession();
    let options: ExecStartOptions | undefined;
    backend = {
      start(o) {
        options = o;
        return session;
      },
    };
    const ws = connect('command=sh&command=-i&container=c1&stdin=true&stdout=true&tty=true', ['v4.channel.k8s.io']);
    const done = collect(ws);
    await new Promise((r) => ws.once('open', r));
    assert.equal(ws.protocol, 'v4.channel.k8s.io');
    ws.send(encodeChannelFrame(CHANNEL_RESIZE, '{"Width":120,"Height":40}'));
    ws.send(encodeChannelFrame(CHANNEL_STDIN, 'hello'));
    const input = await new Promise<Buffer>((r) => session.stdin.once('data', r));
    assert.equal(input.toString(), 'hello');
    session.stdout.write('world');
    session.finish({ kind: 'exited', code: 7 });
    const { frames, code } = await done;
    assert.equal(code, 1000);
    assert.deepEqual(options, {
      namespace: 'ns1',
      pod: 'p1',
      container: 'c1',
      command: ['sh', '-i'],
      stdin: true,
      stdout: true,
      stderr: false,
      tty: true,
    });
    assert.deepEqual(session.resizes, [{ width: 120, height: 40 }]);
    assert.deepEqual(frames[0], encodeChannelFrame(CHANNEL_STDOUT, 'world'));
    const status = frames.at(-1);
    assert.ok(status);
    assert.equal(status[0], CHANNEL_ERROR);
    assert.deepEqual(JSON.parse(status.subarray(1).toString()), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -i], exit code 7',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
  });

  test('a client that goes away kills the session', async () => {
    const session = new FakeSession();
    backend = { start: () => session };
    const ws = connect('command=sleep&stdout=true', ['v5.channel.k8s.io']);
    await new Promise((r) => ws.once('open', r));
    ws.terminate();
    assert.deepEqual(await outcome, { kind: 'disconnected', protocol: 'v5.channel.k8s.io' });
    assert.equal(session.killed, true);
  });

  test('a backend start error is reported as a Failure status', async () => {
    backend = {
      start: () => {
        throw new ExecStartError('EXEC_CONTAINER_NOT_FOUND', 'container "zz" not found in pod p1');
      },
    };
    const ws = connect('command=ls&stdout=true&container=zz', ['v5.channel.k8s.io']);
    const { frames, code } = await collect(ws);
    assert.equal(code, 1000);
    assert.deepEqual(JSON.parse(frames.at(-1)?.subarray(1).toString() ?? ''), {
      metadata: {},
      status: 'Failure',
      message: 'container "zz" not found in pod p1',
      reason: 'InternalError',
    });
  });

  async function expectRejected(query: string, protocols: string[], pattern: RegExp): Promise<void> {
    backend = { start: () => assert.fail('must not start') };
    const ws = connect(query, protocols);
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => resolve(res));
      ws.on('open', () => reject(new Error('upgrade accepted')));
      ws.on('error', () => {});
    });
    assert.equal(response.statusCode, 400);
    let body = '';
    for await (const chunk of response) body += String(chunk);
    const status = JSON.parse(body) as { reason: string; message: string; code: number };
    assert.equal(status.reason, 'BadRequest');
    assert.equal(status.code, 400);
    assert.match(status.message, pattern);
    const result = await outcome;
    assert.equal(result?.kind, 'rejected');
  }

  test('bad requests are refused with a 400 Status before the upgrade', async () => {
    await expectRejected('stdout=true', ['v5.channel.k8s.io'], /at least 1 command/);
    await expectRejected('command=ls', ['v5.channel.k8s.io'], /at least 1 of stdin, stdout, stderr/);
    await expectRejected('command=ls&stdout=maybe', ['v5.channel.k8s.io'], /not a boolean/);
    await expectRejected('command=ls&stdout=true', ['channel.k8s.io'], /none of the offered subprotocols/);
  });

  test('acceptPodStreamUpgrade routes by subresource and refuses unknown ones with 404', async () => {
    const dispatchServer = http.createServer();
    const outcomes: Promise<unknown>[] = [];
    dispatchServer.on('upgrade', (req, socket, head) => {
      outcomes.push(acceptPodStreamUpgrade(req, socket, head, { exec: { start: () => assert.fail('no start') } }));
    });
    await new Promise<void>((r) => dispatchServer.listen(0, '127.0.0.1', r));
    const dport = (dispatchServer.address() as AddressInfo).port;
    try {
      for (const path of ['/api/v1/namespaces/a/pods/b/attach?stdout=1', '/api/v1/namespaces/a/pods/b/logs?x=1']) {
        const ws = new WebSocket(`ws://127.0.0.1:${dport}${path}`, ['v5.channel.k8s.io']);
        const code = await new Promise<number>((resolve, reject) => {
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.on('open', () => reject(new Error('accepted')));
          ws.on('error', () => {});
        });
        assert.equal(code, 404);
      }
      const results = (await Promise.all(outcomes)) as ExecOutcome[];
      assert.deepEqual(
        results.map((r) => r.kind),
        ['rejected', 'rejected'],
      );
    } finally {
      await new Promise<void>((r) => dispatchServer.close(() => r()));
    }
  });

  test('parseExecRequest throws typed errors', () => {
    assert.throws(
      () => parseExecRequest('/x?stdout=1', 'exec', { namespace: 'a', pod: 'b' }),
      (err: unknown) => err instanceof StreamRequestError && err.code === 'STREAM_BAD_REQUEST',
    );
    assert.deepEqual(parseExecRequest('/x?stdout=1&stdin', 'attach', { namespace: 'a', pod: 'b' }).command, []);
  });
});
