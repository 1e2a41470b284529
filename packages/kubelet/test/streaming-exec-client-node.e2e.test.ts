/** A second real client: @kubernetes/client-node's Exec (offers v5…v1, reads the status on channel 3). */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { acceptExecWebSocket } from '../src/server/streaming/index.js';
import { ChildProcessExecBackend } from './fixtures/child-process-exec-backend.js';
import { type StubApiserver, startStubApiserver } from './fixtures/streams-kubectl.js';

interface ClientStatus {
  status?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

let server: StubApiserver;
const protocols: (string | undefined)[] = [];

before(async () => {
  const backend = new ChildProcessExecBackend();
  server = await startStubApiserver({
    upgrade: (req: http.IncomingMessage, socket, head) => {
      protocols.push(req.headers['sec-websocket-protocol']);
      void acceptExecWebSocket(req, socket, head, backend);
    },
  });
});
after(() => server.close());

async function run(command: string[], input?: string) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'stub', server: server.url, skipTLSVerify: true }],
    users: [{ name: 'anon' }],
    contexts: [{ name: 'stub', cluster: 'stub', user: 'anon' }],
    currentContext: 'stub',
  });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const stdin = input === undefined ? null : new PassThrough();
  const status = await new Promise<ClientStatus>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no status within 15 s')), 15_000);
    new k8s.Exec(kc)
      .exec('default', 'p1', 'p1', command, stdout, stderr, stdin, false, (s: ClientStatus) => {
        clearTimeout(timer);
        resolve(s);
      })
      .then(() => stdin?.end(input))
      .catch(reject);
  });
  return { status, out, err };
}

test('client-node exec: v5 negotiated from its offer, output on the right channels, Success', async () => {
  const r = await run(['sh', '-c', 'echo out; echo err >&2']);
  assert.equal(r.status.status, 'Success');
  assert.equal(r.out, 'out\n');
  assert.equal(r.err, 'err\n');
  assert.match(protocols.at(-1) ?? '', /^v5\.channel\.k8s\.io,\s*v4\.channel\.k8s\.io/);
});

test('client-node exec: non-zero exit code arrives as NonZeroExitCode with the ExitCode cause', async () => {
  const r = await run(['sh', '-c', 'exit 4']);
  assert.equal(r.status.status, 'Failure');
  assert.equal(r.status.reason, 'NonZeroExitCode');
  assert.deepEqual(r.status.details?.causes, [{ reason: 'ExitCode', message: '4' }]);
});

test('client-node exec: stdin reaches the process and its end closes stdin (v5 close signal)', async () => {
  const r = await run(['cat'], 'from client-node\n');
  assert.equal(r.status.status, 'Success');
  assert.equal(r.out, 'from client-node\n');
});
