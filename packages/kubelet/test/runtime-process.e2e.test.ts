import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { isKemuError } from '@kemu/runtime';
import { ContainerStartError, ImagePullError, RuntimeUnavailableError } from '../src/runtime/errors.js';
import { groupAlive } from '../src/runtime/process-group.js';
import type { ContainerRuntime } from '../src/runtime/types.js';
import { podMeta, processRuntime, readAll, tempDir, waitFor } from './runtime-helpers.js';

async function runPod(
  rt: ContainerRuntime,
  pod: string,
  container: Parameters<ContainerRuntime['createContainer']>[1],
): Promise<{ sandboxId: string; id: string }> {
  const sandboxId = await rt.runPodSandbox({ metadata: podMeta(pod) });
  const id = await rt.createContainer(sandboxId, container);
  await rt.startContainer(id);
  return { sandboxId, id };
}

async function exited(rt: ContainerRuntime, id: string, timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const s = await rt.containerStatus(id);
      return s.state === 'exited' ? s : null;
    },
    { timeoutMs, what: `container ${id.slice(0, 12)} to exit` },
  );
}

test('busybox sh -c: exit code, reason and logs', async (t) => {
  const rt = processRuntime(t);
  const { id } = await runPod(rt, 'bb', {
    metadata: { name: 'main' },
    image: 'busybox:1.36',
    command: ['sh', '-c', 'echo hi; echo oops >&2; exit 3'],
  });
  const s = await exited(rt, id);
  assert.equal(s.exitCode, 3);
  assert.equal(s.reason, 'Error');
  assert.ok(s.startedAt !== null && s.finishedAt !== null && s.finishedAt >= s.startedAt);
  assert.equal(await readAll(await rt.containerLogs(id)), 'hi\noops\n');
  assert.equal(await readAll(await rt.containerLogs(id, { stream: 'stdout' })), 'hi\n');

  // alpine's cmd is /bin/sh and args replace the cmd, so this runs `-c 'exit 0'` with no shell, as in Kubernetes.
  await assert.rejects(
    runPod(rt, 'bb2', { metadata: { name: 'main' }, image: 'alpine', args: ['-c', 'exit 0'] }),
    ContainerStartError,
  );
  const sh = await runPod(rt, 'bb3', {
    metadata: { name: 'main' },
    image: 'alpine',
    command: ['/bin/sh', '-c', 'exit 0'],
  });
  const shStatus = await exited(rt, sh.id);
  assert.equal(shStatus.exitCode, 0);
  assert.equal(shStatus.reason, 'Completed');
});

test('a command that is not on PATH is a StartError', async (t) => {
  const rt = processRuntime(t);
  const sandboxId = await rt.runPodSandbox({ metadata: podMeta('nobin') });
  const id = await rt.createContainer(sandboxId, {
    metadata: { name: 'main' },
    image: 'busybox',
    command: ['definitely-not-a-binary-kemu'],
  });
  await assert.rejects(
    rt.startContainer(id),
    (err) => err instanceof ContainerStartError && /executable file not found/.test(err.message),
  );
  const s = await rt.containerStatus(id);
  assert.equal(s.state, 'exited');
  assert.equal(s.reason, 'StartError');
  assert.equal(s.exitCode, 128);
});

test('two pods both listen on :8080 on their own loopback IPs', async (t) => {
  const rt = processRuntime(t);
  const pods = await Promise.all(
    ['web-a', 'web-b'].map(async (name) => {
      const { sandboxId, id } = await runPod(rt, name, {
        metadata: { name: 'echo' },
        image: 'kemu/echo:latest',
        ports: [{ containerPort: 8080 }],
      });
      return { name, id, ip: (await rt.podSandboxStatus(sandboxId)).ip };
    }),
  );
  assert.notEqual(pods[0]!.ip, pods[1]!.ip);
  for (const p of pods) {
    assert.match(p.ip, /^127\.\d+\.\d+\.\d+$/);
    const body = await waitFor(() => fetch(`http://${p.ip}:8080/hello`).then((r) => r.text()), {
      what: `${p.name} to answer`,
    });
    assert.match(body, new RegExp(`^Hostname: ${p.name}\nIP: ${p.ip.replace(/\./g, '\\.')}\n`));
    assert.match(body, /GET \/hello HTTP\/1\.1/);
  }
});

test('nginx serves its welcome page on the pod IP and logs access lines', async (t) => {
  const rt = processRuntime(t);
  const port = rt.status().privilegedPorts.allowed ? 80 : 8081;
  const { sandboxId, id } = await runPod(rt, 'nginx', {
    metadata: { name: 'nginx' },
    image: 'docker.io/library/nginx:1.25',
    ports: [{ containerPort: port }],
  });
  const { ip } = await rt.podSandboxStatus(sandboxId);
  const res = await waitFor(() => fetch(`http://${ip}:${port}/`), { what: 'nginx to answer' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('server') ?? '', /^nginx\//);
  assert.match(await res.text(), /<title>Welcome to nginx!<\/title>/);
  assert.equal((await fetch(`http://${ip}:${port}/missing`)).status, 404);
  const logs = await waitFor(async () => {
    const l = await readAll(await rt.containerLogs(id));
    return l.includes('"GET /missing HTTP/1.1" 404') ? l : null;
  });
  assert.match(
    logs,
    /127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/ HTTP\/1\.1" 200 \d+ "-" /,
  );
});

test('stop with grace: a SIGTERM-ignoring container is SIGKILLed and leaves no process behind', async (t) => {
  const rt = processRuntime(t);
  const { id } = await runPod(rt, 'stubborn', {
    metadata: { name: 'main' },
    image: 'busybox',
    command: ['sh', '-c', 'trap "" TERM; sleep 1000 & echo ready; wait'],
  });
  await waitFor(async () => (await readAll(await rt.containerLogs(id))).includes('ready'), { what: 'ready' });
  const { pid } = await rt.containerStatus(id);
  assert.ok(pid !== null && groupAlive(pid));
  const began = Date.now();
  await rt.stopContainer(id, 1);
  assert.ok(Date.now() - began >= 900, 'waited for the grace period before SIGKILL');
  const s = await rt.containerStatus(id);
  assert.equal(s.state, 'exited');
  assert.equal(s.exitCode, 137);
  assert.equal(groupAlive(pid), false, 'the whole process group is gone');
});

test('stop with grace: a container that honours SIGTERM stops early', async (t) => {
  const rt = processRuntime(t);
  const { id } = await runPod(rt, 'polite', {
    metadata: { name: 'main' },
    image: 'hashicorp/http-echo',
    args: ['-text=hi'],
  });
  // Its SIGTERM handler is installed once it says it listens.
  await waitFor(async () => (await readAll(await rt.containerLogs(id))).includes('listening'), { what: 'listening' });
  const began = Date.now();
  await rt.stopContainer(id, 30);
  assert.ok(Date.now() - began < 10_000);
  const s = await rt.containerStatus(id);
  assert.equal(s.exitCode, 0);
  assert.equal(s.reason, 'Completed');
});

test('memory hog over its limit is OOMKilled with exit code 137', async (t) => {
  const rt = processRuntime(t);
  const { id } = await runPod(rt, 'hog', {
    metadata: { name: 'hog' },
    image: 'kemu/memhog',
    args: ['--mb', '512'],
    resources: { memoryLimitBytes: 96 * 1024 * 1024 },
  });
  const s = await exited(rt, id, 30_000);
  assert.equal(s.reason, 'OOMKilled');
  assert.equal(s.exitCode, 137);
  await waitFor(() => !groupAlive(s.pid!), { what: 'the hog group to be gone' });
});

test('logs: tail, since, timestamps, limit, follow, and the previous instance', async (t) => {
  const rt = processRuntime(t);
  const sandboxId = await rt.runPodSandbox({ metadata: podMeta('logger') });
  const first = await rt.createContainer(sandboxId, {
    metadata: { name: 'app', attempt: 0 },
    image: 'busybox',
    command: ['sh', '-c', 'for i in 1 2 3 4; do echo line$i; done; exit 1'],
  });
  await rt.startContainer(first);
  await exited(rt, first);
  assert.equal(await readAll(await rt.containerLogs(first, { tailLines: 2 })), 'line3\nline4\n');
  assert.equal(await readAll(await rt.containerLogs(first, { limitBytes: 8 })), 'line1\nli');
  const stamped = await readAll(await rt.containerLogs(first, { timestamps: true, tailLines: 1 }));
  assert.match(stamped, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z line4\n$/);
  assert.equal(await readAll(await rt.containerLogs(first, { sinceTime: Date.now() + 60_000 })), '');

  // The restart: a new instance with attempt 1; the previous one's log is still there.
  const second = await rt.createContainer(sandboxId, {
    metadata: { name: 'app', attempt: 1 },
    image: 'busybox',
    command: ['sh', '-c', 'echo started; i=0; while [ $i -lt 5 ]; do echo tick$i; i=$((i+1)); sleep 0.1; done'],
  });
  await rt.startContainer(second);
  const followed = await readAll(await rt.containerLogs(second, { follow: true }));
  assert.equal(followed, 'started\ntick0\ntick1\ntick2\ntick3\ntick4\n');
  assert.equal(await readAll(await rt.containerLogs(first)), 'line1\nline2\nline3\nline4\n');
  const paths = (await rt.listContainers({ sandboxId })).map((c) => path.basename(c.logPath)).sort();
  assert.deepEqual(paths, ['0.log', '1.log']);
  const raw = fs.readFileSync((await rt.containerStatus(first)).logPath, 'utf8');
  assert.match(raw.split('\n')[0]!, /^\S+Z stdout F line1$/);
});

test('exec runs a real process in the container environment, with stdin', async (t) => {
  const rt = processRuntime(t);
  const data = tempDir(t, 'kemu-vol-');
  const { sandboxId, id } = await runPod(rt, 'shell', {
    metadata: { name: 'main' },
    image: 'ubuntu:24.04',
    command: ['sleep', '1000'],
    envs: [{ name: 'GREETING', value: 'hello' }],
    mounts: [{ containerPath: '/data', hostPath: data }],
  });
  await waitFor(async () => (await rt.containerStatus(id)).state === 'running');
  const { ip } = await rt.podSandboxStatus(sandboxId);
  const e = await rt.exec(id, ['sh', '-c', 'echo hi $GREETING $HOSTNAME $KEMU_POD_IP; echo note > /data/f; exit 4']);
  const [out, , res] = await Promise.all([readAll(e.stdout), readAll(e.stderr), e.exit]);
  assert.equal(out, `hi hello shell ${ip}\n`);
  assert.equal(res.exitCode, 4);
  assert.equal(fs.readFileSync(path.join(data, 'f'), 'utf8'), 'note\n', '/data is mapped to the volume');

  const cat = await rt.exec(id, ['cat'], { stdin: true });
  cat.stdin!.end('through stdin\n');
  assert.equal(await readAll(cat.stdout), 'through stdin\n');
  assert.equal((await cat.exit).exitCode, 0);

  await assert.rejects(rt.exec(id, ['no-such-binary-kemu']), (err) => isKemuError(err, 'EXEC_FAILED'));
});

test('unknown image fails to pull with the message Kubernetes shows', async (t) => {
  const rt = processRuntime(t);
  await assert.rejects(rt.pullImage('nope:1'), (err) => {
    assert.ok(err instanceof ImagePullError);
    assert.equal(err.code, 'ERR_IMAGE_PULL');
    assert.equal(err.reason, 'ErrImagePull');
    assert.match(err.message, /^Failed to pull image "nope:1": .*docker\.io\/library\/nope:1: not found$/);
    return true;
  });
  const sandboxId = await rt.runPodSandbox({ metadata: podMeta('badimg') });
  await assert.rejects(rt.createContainer(sandboxId, { metadata: { name: 'c' }, image: 'nope:1' }), ImagePullError);
  assert.equal((await rt.pullImage('nginx@sha256:' + 'a'.repeat(64))).program, 'nginx');
});

test('redis image answers RESP and keeps its data in the /data volume across restarts', async (t) => {
  const rt = processRuntime(t);
  const data = tempDir(t, 'kemu-redis-');
  const net = await import('node:net');
  const sandboxId = await rt.runPodSandbox({ metadata: podMeta('redis-0') });
  const { ip } = await rt.podSandboxStatus(sandboxId);
  const start = async (attempt: number) => {
    const id = await rt.createContainer(sandboxId, {
      metadata: { name: 'redis', attempt },
      image: 'redis:7',
      ports: [{ containerPort: 6379 }],
      mounts: [{ containerPath: '/data', hostPath: data }],
    });
    await rt.startContainer(id);
    return id;
  };
  // Sends the commands then QUIT; the server answers +OK to QUIT and closes, which ends the reply.
  const talk = (commands: string[][]) =>
    new Promise<string>((resolve, reject) => {
      const sock = net.connect(6379, ip);
      let got = '';
      sock.on('error', reject);
      sock.on('data', (d) => {
        got += d.toString();
      });
      sock.on('end', () => resolve(got.replace(/\+OK\r\n$/, '')));
      for (const c of [...commands, ['QUIT']]) {
        sock.write(`*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
      }
    });
  const first = await start(0);
  assert.equal(await waitFor(() => talk([['PING']])), '+PONG\r\n');
  assert.equal(
    await talk([
      ['SET', 'greeting', 'hello world'],
      ['GET', 'greeting'],
      ['INCR', 'n'],
      ['GET', 'missing'],
    ]),
    '+OK\r\n$11\r\nhello world\r\n:1\r\n$-1\r\n',
  );
  await rt.stopContainer(first, 10);
  assert.equal((await rt.containerStatus(first)).exitCode, 0);
  const second = await start(1);
  assert.equal(await waitFor(() => talk([['GET', 'greeting']])), '$11\r\nhello world\r\n');
  // redis-cli inside the container, as `kubectl exec redis-0 -- redis-cli …` would run it.
  const cli = await rt.exec(second, ['redis-cli', 'INCR', 'n']);
  assert.equal(await readAll(cli.stdout), '2\n');
  assert.equal((await cli.exit).exitCode, 0);
  const piped = await rt.exec(second, ['redis-cli'], { stdin: true });
  piped.stdin!.end('SET a 1\nKEYS *\n');
  const lines = (await readAll(piped.stdout)).split('\n');
  assert.equal(lines[0], 'OK');
  assert.deepEqual(lines.slice(1, -1).sort(), ['a', 'greeting', 'n']);
});

test('runtime stop kills every container, refuses work with a typed error, and start restores it', async (t) => {
  const rt = processRuntime(t);
  const ids = await Promise.all(
    ['a', 'b'].map(
      async (n) =>
        (
          await runPod(rt, `sleepy-${n}`, {
            metadata: { name: 'c' },
            image: 'busybox',
            command: ['sh', '-c', 'sleep 1000 & sleep 1000'],
          })
        ).id,
    ),
  );
  const pids = await Promise.all(ids.map(async (id) => (await rt.containerStatus(id)).pid!));
  assert.ok(pids.every((p) => groupAlive(p)));
  await rt.stop();
  const st = rt.status();
  assert.equal(st.ready, false);
  assert.equal(st.reason, 'RuntimeStopped');
  assert.ok(
    pids.every((p) => !groupAlive(p)),
    'no process survives a runtime stop',
  );
  await assert.rejects(
    rt.listContainers(),
    (err) => err instanceof RuntimeUnavailableError && err.code === 'RUNTIME_UNAVAILABLE',
  );
  await assert.rejects(rt.runPodSandbox({ metadata: podMeta('x') }), RuntimeUnavailableError);
  await rt.start();
  assert.equal(rt.status().ready, true);
  for (const id of ids) assert.equal((await rt.containerStatus(id)).exitCode, 137);
  assert.ok((await rt.listPodSandboxes()).every((s) => s.state === 'notready'));
});

test("node image runs node with args through its entrypoint; env and working dir are the container's", async (t) => {
  const rt = processRuntime(t);
  const { id } = await runPod(rt, 'noder', {
    metadata: { name: 'app' },
    image: 'node:20-alpine',
    args: ['-e', 'console.log(process.env.HOSTNAME, process.env.MODE, require("path").basename(process.cwd()))'],
    envs: [{ name: 'MODE', value: 'prod' }],
    workingDir: '/app',
  });
  const s = await exited(rt, id);
  assert.equal(s.exitCode, 0);
  assert.equal(await readAll(await rt.containerLogs(id)), 'noder prod app\n');
});

async function runHostFixture(t: TestContext, stateDir: string, how: 'exit' | 'kill'): Promise<number> {
  const fixture = new URL('./fixtures/runtime-exit-host.js', import.meta.url).pathname;
  const stdout = await new Promise<string>((resolve) => {
    // A SIGKILLed fixture "fails"; its output is what matters.
    execFile(process.execPath, [fixture, stateDir, how], { timeout: 20_000 }, (_err, out) => resolve(out));
  });
  const pid = Number(stdout.trim());
  assert.ok(pid > 0, `fixture printed a pid: ${stdout}`);
  t.after(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone, as expected
    }
  });
  return pid;
}

test('a host process that exits without close() takes its containers with it', async (t) => {
  const pid = await runHostFixture(t, tempDir(t), 'exit');
  await waitFor(() => !groupAlive(pid), { what: `group ${pid} to be gone` });
});

test('containers left by a SIGKILLed host are reaped by the next runtime on the same state dir', async (t) => {
  const stateDir = tempDir(t);
  const pid = await runHostFixture(t, stateDir, 'kill');
  assert.equal(groupAlive(pid), true, 'SIGKILL runs no hooks: the container outlives its host');
  processRuntime(t, { stateDir });
  await waitFor(() => !groupAlive(pid), { what: `leftover group ${pid} to be killed` });
  assert.deepEqual(fs.readdirSync(path.join(stateDir, 'containers')), []);
  assert.equal(fs.existsSync(path.join(stateDir, 'pods')), false, 'stale pod logs removed');
});

test('without privileged-port permission a failing container says why; sandbox removal cleans up', async (t) => {
  const rt = processRuntime(t, {
    privilegedPorts: {
      allowed: false,
      unprivilegedPortStart: 1024,
      reason: 'containers cannot listen on ports below 1024: test',
    },
  });
  assert.deepEqual(rt.status().privilegedPorts, {
    allowed: false,
    reason: 'containers cannot listen on ports below 1024: test',
  });
  const { sandboxId, id } = await runPod(rt, 'web80', {
    metadata: { name: 'web' },
    image: 'busybox',
    command: ['sh', '-c', 'echo "bind: permission denied" >&2; exit 1'],
    ports: [{ containerPort: 80 }],
  });
  const s = await exited(rt, id);
  assert.equal(s.message, 'containers cannot listen on ports below 1024: test');
  const logDir = path.dirname(path.dirname(s.logPath));
  assert.ok(fs.existsSync(logDir));
  await rt.removePodSandbox(sandboxId);
  assert.equal(fs.existsSync(logDir), false);
  await assert.rejects(rt.containerStatus(id), { code: 'CONTAINER_NOT_FOUND' });
});

test('busybox httpd -f -p serves files from its mapped document root', async (t) => {
  const rt = processRuntime(t);
  const www = tempDir(t, 'kemu-www-');
  fs.writeFileSync(path.join(www, 'index.html'), 'from a volume\n');
  const { sandboxId } = await runPod(rt, 'bbhttpd', {
    metadata: { name: 'web' },
    image: 'busybox',
    command: ['httpd', '-f', '-p', '8088', '-h', '/www'],
    mounts: [{ containerPath: '/www', hostPath: www, readOnly: true }],
  });
  const { ip } = await rt.podSandboxStatus(sandboxId);
  const body = await waitFor(() => fetch(`http://${ip}:8088/`).then((r) => r.text()), { what: 'httpd' });
  assert.equal(body, 'from a volume\n');
});
