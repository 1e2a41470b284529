/** The real `kubectl exec`/`attach` against a stub apiserver whose /exec runs real local processes. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  acceptAttachWebSocket,
  acceptExecWebSocket,
  type ExecBackend,
  type ExecOutcome,
  type ExecStartOptions,
} from '../src/server/streaming/index.js';
import { ChildProcessExecBackend } from './fixtures/child-process-exec-backend.js';
import {
  type KubectlEnv,
  killGroup,
  kubectlEnv,
  runKubectl,
  type StubApiserver,
  startStubApiserver,
} from './fixtures/streams-kubectl.js';
import { podRoute } from './fixtures/streams-pod.js';

describe('kubectl exec / attach over WebSocket v5.channel.k8s.io', () => {
  let server: StubApiserver;
  let env: KubectlEnv;
  const upgrades: { url: string; protocol: string | undefined }[] = [];
  const started: ExecStartOptions[] = [];
  const outcomes: Promise<ExecOutcome>[] = [];
  const processes = new ChildProcessExecBackend();
  const sessions: ReturnType<ChildProcessExecBackend['start']>[] = [];
  const recordingBackend: ExecBackend = {
    start(options) {
      started.push(options);
      const session = processes.start(options);
      sessions.push(session);
      return session;
    },
  };
  // Attach joins the "container's main process"; here a process that greets and echoes its stdin.
  const attachBackend: ExecBackend = {
    start(options) {
      started.push(options);
      return processes.start({ ...options, command: ['sh', '-c', 'echo attached to $0; cat', options.container] });
    },
  };

  before(async () => {
    server = await startStubApiserver({
      route: podRoute('p1'),
      upgrade: (req: http.IncomingMessage, socket, head) => {
        upgrades.push({ url: req.url ?? '', protocol: req.headers['sec-websocket-protocol'] });
        const pathname = new URL(req.url ?? '/', 'http://stub').pathname;
        if (pathname.endsWith('/exec')) outcomes.push(acceptExecWebSocket(req, socket, head, recordingBackend));
        else if (pathname.endsWith('/attach')) outcomes.push(acceptAttachWebSocket(req, socket, head, attachBackend));
        else socket.destroy();
      },
    });
    env = kubectlEnv(server.url);
  });
  after(async () => {
    env.dispose();
    await server.close();
  });

  test('exec echo prints stdout and exits 0; the query reaches the backend', async () => {
    const r = await runKubectl(env, ['exec', 'p1', '--', 'echo', 'hi', 'there']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi there\n');
    const last = upgrades.at(-1);
    assert.ok(last);
    assert.equal(last.protocol, 'v5.channel.k8s.io');
    assert.deepEqual(started.at(-1), {
      namespace: 'default',
      pod: 'p1',
      container: 'p1',
      command: ['echo', 'hi', 'there'],
      stdin: false,
      stdout: true,
      stderr: true,
      tty: false,
    });
    const outcome = await outcomes.at(-1);
    assert.deepEqual(outcome, {
      kind: 'completed',
      protocol: 'v5.channel.k8s.io',
      status: { metadata: {}, status: 'Success' },
    });
  });

  test('a non-zero exit code becomes kubectl exit code and message', async () => {
    const r = await runKubectl(env, ['exec', 'p1', '--', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /command terminated with exit code 3/);
  });

  test('stdin is forwarded and the v5 close signal ends it', async () => {
    const r = await runKubectl(env, ['exec', '-i', 'p1', '--', 'cat'], { stdin: 'abc\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'abc\n');
  });

  test('large stdin and stdout round-trip intact', async () => {
    const input = 'x'.repeat(1023).concat('\n').repeat(2048); // 2 MiB
    const r = await runKubectl(env, ['exec', '-i', 'p1', '--', 'wc', '-c'], { stdin: input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(input.length));
    const big = await runKubectl(env, ['exec', 'p1', '--', 'seq', '1', '200000']);
    assert.equal(big.code, 0, big.stderr);
    const lines = big.stdout.split('\n');
    assert.equal(lines.length, 200001);
    assert.equal(lines[199999], '200000');
  });

  test('stdout and stderr stay separate', async () => {
    const r = await runKubectl(env, ['exec', 'p1', '--', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /^err$/m);
  });

  test('a command that cannot start fails with the reason', async () => {
    const r = await runKubectl(env, ['exec', 'p1', '--', 'kemu-no-such-binary']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /executable file not found/);
  });

  test('exec -it under a pseudo-terminal: tty query, resize from the terminal size, merged output', async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) {
      t.skip('util-linux script(1) is needed to give kubectl a terminal');
      return;
    }
    const kubectlCommand = [
      'kubectl',
      ...env.args,
      'exec',
      '-it',
      'p1',
      '--',
      'sh',
      '-c',
      'echo in-tty; echo err >&2; exit 2',
    ]
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
      .join(' ');
    const child = spawn('script', ['-qec', `stty cols 100 rows 30; ${kubectlCommand}`, '/dev/null'], {
      detached: true,
      env: { ...process.env, HOME: env.dir },
    });
    t.after(() => killGroup(child));
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => killGroup(child), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    assert.equal(code, 2, output);
    assert.match(output, /in-tty\r?\nerr\r?\n/);
    assert.match(output, /command terminated with exit code 2/);
    assert.deepEqual(started.at(-1), {
      namespace: 'default',
      pod: 'p1',
      container: 'p1',
      command: ['sh', '-c', 'echo in-tty; echo err >&2; exit 2'],
      stdin: true,
      stdout: true,
      stderr: false,
      tty: true,
    });
    assert.deepEqual(sessions.at(-1)?.lastResize, { width: 100, height: 30 });
  });

  test('attach streams the main process output and stdin', async () => {
    const r = await runKubectl(env, ['attach', '-i', 'p1', '-c', 'p1'], { stdin: 'ping\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'attached to p1\nping\n');
    assert.match(upgrades.at(-1)?.url ?? '', /\/pods\/p1\/attach\?/);
    assert.deepEqual(started.at(-1), {
      namespace: 'default',
      pod: 'p1',
      container: 'p1',
      command: [],
      stdin: true,
      stdout: true,
      stderr: true,
      tty: false,
    });
  });
});
