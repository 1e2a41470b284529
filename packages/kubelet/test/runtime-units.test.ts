import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ManualRuntime } from '@kemu/runtime';
import { effectiveArgv, hostArgv, lookupImage } from '../src/images/catalogue.js';
import { parseImageReference } from '../src/images/reference.js';
import { ImagePullError, InvalidConfigError, IpPoolExhaustedError } from '../src/runtime/errors.js';
import { LoopbackIpPool } from '../src/runtime/ip-pool.js';
import { ContainerLogFile, logStream, readLogFile, rfc3339Nano } from '../src/runtime/logs.js';
import { hostWorkingDir, mountRewriter } from '../src/runtime/mounts.js';
import { privilegedPortPolicy } from '../src/runtime/ports.js';
import { TimerQueue } from '../src/runtime/timer-queue.js';
import { readAll, tempDir } from './runtime-helpers.js';

test('image references normalise like Docker', () => {
  assert.equal(parseImageReference('nginx')?.normalized, 'docker.io/library/nginx:latest');
  assert.equal(parseImageReference('nginx:1.25')?.normalized, 'docker.io/library/nginx:1.25');
  assert.equal(parseImageReference('docker.io/library/nginx:latest')?.repository, 'library/nginx');
  assert.equal(parseImageReference('localhost:5000/team/app:v1')?.registry, 'localhost:5000');
  const d = `sha256:${'ab'.repeat(32)}`;
  assert.equal(parseImageReference(`redis@${d}`)?.normalized, `docker.io/library/redis@${d}`);
  assert.equal(parseImageReference('Nginx'), null);
  assert.equal(parseImageReference('nginx:'), null);
});

test('catalogue: known images with any tag, aliases, unknown → ErrImagePull', () => {
  for (const ref of [
    'nginx',
    'nginx:1.25',
    'docker.io/library/nginx:latest',
    'public.ecr.aws/docker/library/nginx:1',
  ]) {
    assert.equal(lookupImage(ref).program, 'nginx', ref);
  }
  assert.equal(lookupImage('hashicorp/http-echo:1.0').program, 'echo');
  assert.equal(lookupImage('k8s.gcr.io/pause:3.1').program, 'pause');
  assert.throws(
    () => lookupImage('nope:1'),
    (err) => err instanceof ImagePullError && err.message.startsWith('Failed to pull image "nope:1": '),
  );
  assert.throws(() => lookupImage('UPPER'), /invalid reference format/);
});

test('command/args semantics follow Kubernetes', () => {
  const nginx = lookupImage('nginx');
  assert.deepEqual(effectiveArgv(nginx), ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(effectiveArgv(nginx, ['sh']), ['sh'], 'command alone drops the image cmd');
  assert.deepEqual(effectiveArgv(nginx, undefined, ['-x']), ['-x'], 'args replace the cmd');
  const echo = lookupImage('kemu/echo');
  assert.deepEqual(effectiveArgv(echo, undefined, ['-text=hi']), ['echo-server', '-text=hi'], 'entrypoint kept');
  const node = lookupImage('node:20');
  assert.deepEqual(effectiveArgv(node), ['node']);
  assert.deepEqual(effectiveArgv(node, undefined, ['-e', '1']), ['node', '-e', '1'], 'docker-entrypoint.sh adds node');
  assert.deepEqual(effectiveArgv(node, undefined, ['server.js']), ['node', 'server.js']);
  assert.deepEqual(effectiveArgv(node, undefined, ['sh', '-c', 'x']), ['sh', '-c', 'x']);
  const redis = lookupImage('redis');
  assert.deepEqual(effectiveArgv(redis, undefined, ['--port', '7000']), ['redis-server', '--port', '7000']);
  assert.deepEqual(effectiveArgv(redis, ['redis-server'], ['--port', '1']), ['redis-server', '--port', '1']);
  assert.deepEqual(hostArgv(['sleep', '1']), { file: 'sleep', args: ['1'] });
  assert.equal(hostArgv(['node', '-e', '1'])?.file, process.execPath);
  const r = hostArgv(['/usr/local/bin/redis-server', '--port', '7000'])!;
  assert.match(r.args[0]!, /programs\/redis\.js$/);
  assert.equal(hostArgv([]), null);
});

test('loopback pool: deterministic round-robin, skips .0/.255, validates, exhausts', () => {
  const pool = new LoopbackIpPool('127.1.0.0/16');
  assert.equal(pool.allocate(), '127.1.0.1');
  assert.equal(pool.allocate(), '127.1.0.2');
  pool.release('127.1.0.1');
  assert.equal(pool.allocate(), '127.1.0.3');
  const small = new LoopbackIpPool('127.9.0.0/30');
  assert.equal(small.allocate(), '127.9.0.1');
  assert.equal(small.allocate(), '127.9.0.2');
  assert.throws(() => small.allocate(), IpPoolExhaustedError);
  small.release('127.9.0.1');
  assert.equal(small.allocate(), '127.9.0.1');
  const wide = new LoopbackIpPool('127.2.0.0/23');
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) seen.add(wide.allocate());
  assert.ok(!seen.has('127.2.0.255') && !seen.has('127.2.1.0'));
  assert.throws(() => new LoopbackIpPool('10.0.0.0/8'), InvalidConfigError);
  assert.throws(() => new LoopbackIpPool('127.1.0.0'), InvalidConfigError);
});

test('mount paths are rewritten only as whole path prefixes', () => {
  const rw = mountRewriter([
    { containerPath: '/data', hostPath: '/h/vol' },
    { containerPath: '/data/logs/', hostPath: '/h/logs' },
  ]);
  assert.equal(rw('echo x > /data/f'), 'echo x > /h/vol/f');
  assert.equal(rw('cat /data'), 'cat /h/vol');
  assert.equal(rw('ls /data/logs/a'), 'ls /h/logs/a');
  assert.equal(rw('/database /x/data --dir=/data'), '/database /x/data --dir=/h/vol');
  assert.equal(hostWorkingDir('/data/app', '/root', rw), '/h/vol/app');
  assert.equal(hostWorkingDir('/app', '/rootfs', rw), '/rootfs/app');
  assert.equal(hostWorkingDir(undefined, '/rootfs', rw), '/rootfs');
});

test('privileged port policy: root, capability, sysctl, or a clear reason', () => {
  assert.equal(privilegedPortPolicy({ uid: 0, capEffHex: '0', unprivilegedPortStart: 1024 }).allowed, true);
  assert.equal(privilegedPortPolicy({ uid: 1000, capEffHex: '400', unprivilegedPortStart: 1024 }).allowed, true);
  assert.equal(privilegedPortPolicy({ uid: 1000, capEffHex: '0', unprivilegedPortStart: 0 }).allowed, true);
  const no = privilegedPortPolicy({ uid: 1000, capEffHex: '0', unprivilegedPortStart: 1024 });
  assert.equal(no.allowed, false);
  assert.match(no.reason, /below 1024.*CAP_NET_BIND_SERVICE.*ip_unprivileged_port_start=1024/);
});

test('timer queue: one armed timer, deadline order, cancellation', () => {
  const clock = new ManualRuntime();
  const q = new TimerQueue(clock);
  const fired: string[] = [];
  q.schedule(30, () => fired.push('c'));
  const b = q.schedule(20, () => fired.push('b'));
  q.schedule(10, () => fired.push('a'));
  q.schedule(10, () => fired.push('a2'));
  assert.equal(clock.pendingTimers(), 1);
  b.cancel();
  clock.advance(25);
  assert.deepEqual(fired, ['a', 'a2']);
  q.schedule(1, () => fired.push('d'));
  clock.advance(10);
  assert.deepEqual(fired, ['a', 'a2', 'd', 'c']);
  assert.equal(q.size(), 0);
  assert.equal(clock.pendingTimers(), 0);
});

test('log files: CRI format, partial lines, follow ends on close', async (t) => {
  const clock = new ManualRuntime(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const file = path.join(tempDir(t), 'p', 'c', '0.log');
  const log = new ContainerLogFile(file, clock);
  log.write('stdout', 'one\ntw');
  log.write('stderr', 'err\n');
  assert.equal(
    fs.readFileSync(file, 'utf8'),
    '2026-01-02T03:04:05.678000000Z stdout F one\n2026-01-02T03:04:05.678000000Z stderr F err\n',
  );
  const follower = logStream(readLogFile(file), { follow: true }, log);
  const all = readAll(follower);
  clock.advance(1000);
  log.write('stdout', 'o\n');
  log.close();
  assert.equal(await all, 'one\nerr\ntwo\n');
  assert.equal(rfc3339Nano(0), '1970-01-01T00:00:00.000000000Z');
  const since = await readAll(logStream(readLogFile(file), { sinceTime: clock.now() }, null));
  assert.equal(since, 'two\n');
});

test('log files: output without newlines is cut at the line limit', async (t) => {
  const clock = new ManualRuntime(0);
  const file = path.join(tempDir(t), '0.log');
  const log = new ContainerLogFile(file, clock);
  log.write('stdout', 'x'.repeat(16 * 1024 * 2 + 5));
  log.close();
  const lines = readLogFile(file).map((l) => l.text.length);
  assert.deepEqual(lines, [16 * 1024, 16 * 1024, 5]);
});

test('process runtime: NetworkReady follows the loopback-range probe', async (t) => {
  const { ProcessRuntime } = await import('../src/runtime/process-runtime.js');
  const { silentLogger, systemRuntime } = await import('@kemu/runtime');
  const base = { runtime: systemRuntime, logger: silentLogger() };
  const ok = new ProcessRuntime({ ...base, stateDir: tempDir(t) });
  t.after(() => ok.close());
  await ok.networkChecked;
  assert.equal(ok.status().ready, true, 'Linux binds all of 127/8');
  assert.deepEqual(
    ok.status().conditions.map((c) => [c.type, c.status]),
    [
      ['RuntimeReady', true],
      ['NetworkReady', true],
    ],
  );
  const probed: string[] = [];
  const mac = new ProcessRuntime({
    ...base,
    stateDir: tempDir(t),
    podCidr: '127.5.0.0/16',
    probeBind: async (ip) => {
      probed.push(ip);
      return 'EADDRNOTAVAIL';
    },
  });
  t.after(() => mac.close());
  await mac.networkChecked;
  assert.deepEqual(probed, ['127.5.0.1']);
  const st = mac.status();
  assert.equal(st.ready, false);
  assert.equal(st.reason, 'LoopbackRangeUnavailable');
  assert.match(st.message, /cannot bind pod IP 127\.5\.0\.1 \(EADDRNOTAVAIL\).*ifconfig lo0 alias/);
  assert.equal(st.conditions.find((c) => c.type === 'NetworkReady')?.status, false);
});
