import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ManualRuntime } from '@kemu/runtime';
import { ControlServer, SupervisorControl } from '../src/control.js';
import { writePidFile } from '../src/pid-files.js';
import { StateDir } from '../src/state-dir.js';
import { type SpawnedProcess, Supervisor, SupervisorActionError, type SupervisorEvent } from '../src/supervisor.js';

/** A fake child: exits when told to, or on SIGTERM unless it ignores it. */
class FakeChild implements SpawnedProcess {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  readonly signals: string[] = [];
  private finish!: (r: { code: number | null; signal: string | null }) => void;
  env: Record<string, string> = {};
  readonly exited = new Promise<{ code: number | null; signal: string | null }>((r) => {
    this.finish = r;
  });
  constructor(private readonly ignoreTerm: boolean) {}
  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    if (signal === 'SIGKILL' || !this.ignoreTerm) this.finish({ code: null, signal });
  }
  crash(): void {
    this.finish({ code: 1, signal: null });
  }
}

function setup(ignoreTerm = false) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-sup-'));
  const runtime = new ManualRuntime(1_000_000);
  const children: FakeChild[] = [];
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor({
    state: new StateDir(dir),
    runtime,
    spawn: (_argv, _log, env) => {
      const c = new FakeChild(ignoreTerm);
      c.env = env;
      children.push(c);
      return c;
    },
    initialBackoffMs: 100,
    maxBackoffMs: 400,
    resetBackoffAfterMs: 10_000,
    stopTimeoutMs: 2000,
    onEvent: (e) => events.push(e),
  });
  return { dir, runtime, children, events, sup, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a crashed component is restarted with doubling backoff, capped, and reset after a long run', async (t) => {
  const { runtime, children, events, sup, dir, cleanup } = setup();
  t.after(cleanup);
  sup.start({ name: 'etcd-0', kind: 'etcd', argv: ['node', 'x'] });
  assert.ok(fs.existsSync(path.join(dir, 'run', 'etcd-0.pid')));
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    children.at(-1)!.crash();
    await tick();
    const r = events.at(-1);
    assert.equal(r?.event, 'restart');
    if (r?.event === 'restart') delays.push(r.backoffMs);
    assert.equal(sup.status()[0]?.state, 'backoff');
    runtime.advance(delays.at(-1)! - 1);
    assert.equal(children.length, i + 1, 'not restarted before the backoff');
    runtime.advance(1);
    assert.equal(children.length, i + 2);
  }
  assert.deepEqual(delays, [100, 200, 400, 400]);
  runtime.advance(10_000);
  children.at(-1)!.crash();
  await tick();
  const last = events.at(-1);
  assert.equal(last?.event === 'restart' && last.backoffMs, 100);
  assert.equal(sup.status()[0]?.restarts, 5);
  const log = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
  assert.equal(log.filter((l) => l.includes('"event":"start"')).length, 5);
});

test('stop is SIGTERM, then SIGKILL after the deadline, and is not followed by a restart', async (t) => {
  const { runtime, children, events, sup, dir, cleanup } = setup(true);
  t.after(cleanup);
  sup.start({ name: 'apiserver-0', kind: 'kube-apiserver', argv: ['node', 'y'] });
  const stopping = sup.stop('apiserver-0');
  await tick();
  assert.deepEqual(children[0]?.signals, ['SIGTERM']);
  runtime.advance(2000);
  await stopping;
  assert.deepEqual(children[0]?.signals.slice(0, 2), ['SIGTERM', 'SIGKILL']);
  runtime.advance(60_000);
  assert.equal(children.length, 1);
  assert.equal(sup.status()[0]?.state, 'stopped');
  const exit = events.find((e) => e.event === 'exit');
  assert.equal(exit?.event === 'exit' && exit.planned, true);
  const stop = events.at(-1);
  assert.equal(stop?.event === 'stop' && stop.forced, true);
  assert.ok(!fs.existsSync(path.join(dir, 'run', 'apiserver-0.pid')));
});

test('stopAll stops the apiserver before the etcd members it uses', async (t) => {
  const { children, events, sup, cleanup } = setup();
  t.after(cleanup);
  sup.start({ name: 'etcd-0', kind: 'etcd', argv: ['node', 'a'] });
  sup.start({ name: 'etcd-1', kind: 'etcd', argv: ['node', 'b'] });
  sup.start({ name: 'apiserver-0', kind: 'kube-apiserver', argv: ['node', 'c'] });
  await sup.stopAll();
  const stops = events.filter((e) => e.event === 'stop').map((e) => e.component);
  assert.equal(stops[0], 'apiserver-0');
  assert.deepEqual(stops.slice(1).sort(), ['etcd-0', 'etcd-1']);
  assert.ok(children.every((c) => c.signals[0] === 'SIGTERM'));
  assert.ok(sup.status().every((s) => s.state === 'stopped' && s.pid === null));
  assert.equal(events.filter((e) => e.event === 'restart').length, 0);
});

test('chaos verbs: kill is a crash (restarted), stop is on purpose (not restarted until start), pause/resume', async (t) => {
  const { runtime, children, events, sup, dir, cleanup } = setup();
  t.after(cleanup);
  sup.start({ name: 'etcd-0', kind: 'etcd', argv: ['node', 'a'] });
  assert.equal(children[0]?.env.KEMU_STATE_DIR, dir);
  assert.equal(children[0]?.env.KEMU_COMPONENT, 'etcd-0');

  const killed = await sup.act('kill', 'etcd-0');
  assert.equal(killed.pid, children[0]?.pid);
  assert.equal(killed.state, 'backoff', 'kill reports the state after the crash is seen');
  await tick();
  assert.deepEqual(children[0]?.signals, ['SIGKILL']);
  assert.equal(sup.status()[0]?.state, 'backoff');
  runtime.advance(100);
  assert.equal(children.length, 2, 'a killed component is restarted');
  assert.equal(sup.status()[0]?.restarts, 1);
  assert.ok(events.some((e) => e.event === 'signal' && e.signal === 'SIGKILL' && e.by === 'kill'));

  const paused = await sup.act('pause', 'etcd-0');
  assert.equal(paused.state, 'paused');
  assert.deepEqual(children[1]?.signals, ['SIGSTOP']);
  await assert.rejects(
    sup.act('pause', 'etcd-0'),
    (e: unknown) => e instanceof SupervisorActionError && e.code === 'KEMU_BAD_STATE',
  );
  assert.equal((await sup.act('resume', 'etcd-0')).state, 'running');
  assert.deepEqual(children[1]?.signals, ['SIGSTOP', 'SIGCONT']);
  await assert.rejects(sup.act('resume', 'etcd-0'), /not paused/);

  const stopped = await sup.act('stop', 'etcd-0');
  assert.equal(stopped.state, 'stopped');
  runtime.advance(60_000);
  assert.equal(children.length, 2, 'a stopped component stays down');
  await assert.rejects(sup.act('kill', 'etcd-0'), /not running/);
  assert.ok(!fs.existsSync(path.join(dir, 'run', 'etcd-0.pid')));

  const started = await sup.act('start', 'etcd-0');
  assert.equal(children.length, 3);
  assert.equal(started.pid, children[2]?.pid);
  assert.equal(started.state, 'running');
  const restarted = await sup.act('restart', 'etcd-0');
  assert.equal(children.length, 4);
  assert.equal(restarted.pid, children[3]?.pid);
  assert.equal(sup.status()[0]?.restarts, 1, 'planned stops and starts are not restarts');
  await assert.rejects(
    sup.act('kill', 'nope'),
    (e: unknown) => e instanceof SupervisorActionError && e.code === 'KEMU_UNKNOWN_COMPONENT',
  );
});

test('stopping a paused component lets it see the SIGTERM (SIGCONT after it)', async (t) => {
  const { children, sup, cleanup } = setup(true);
  t.after(cleanup);
  sup.start({ name: 'x', kind: 'k', argv: ['node', 'x'] });
  await sup.act('pause', 'x');
  const stopping = sup.act('stop', 'x');
  await tick();
  assert.deepEqual(children[0]?.signals, ['SIGSTOP', 'SIGTERM', 'SIGCONT']);
  children[0]?.kill('SIGKILL');
  await stopping;
});

test('control channel: HTTP on 127.0.0.1 with a token from the state dir; errors carry codes', async (t) => {
  const { sup, dir, children, cleanup } = setup();
  const state = new StateDir(dir);
  sup.start({ name: 'kube-apiserver', kind: 'kube-apiserver', argv: ['node', 'x'] });
  // The client trusts only a live supervisor: our own pid and command line stand in for it.
  writePidFile(state.supervisorPidFile, {
    pid: process.pid,
    argv: fs.readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').split('\0'),
  });
  const server = await ControlServer.start(state, sup);
  t.after(async () => {
    await server.close();
    cleanup();
  });
  assert.equal(fs.statSync(state.controlFile).mode & 0o777, 0o600);
  const control = SupervisorControl.connect(dir);
  const r = await control.act('stop', 'kube-apiserver');
  assert.deepEqual({ ...r, pid: null }, { component: 'kube-apiserver', action: 'stop', pid: null, state: 'stopped' });
  assert.equal(r.pid, children[0]?.pid);
  await assert.rejects(
    control.act('kill', 'kube-apiserver'),
    (e: unknown) => (e as { code?: string }).code === 'KEMU_BAD_STATE',
  );
  await assert.rejects(control.act('kill', 'foo'), /unknown component "foo"/);
  const res = await fetch(`http://127.0.0.1:${JSON.parse(fs.readFileSync(state.controlFile, 'utf8')).port}/v1/act`, {
    method: 'POST',
    body: '{"action":"kill","name":"kube-apiserver"}',
  });
  assert.equal(res.status, 403, 'no token, no action');
});

test('the control client refuses when no supervisor runs', (t) => {
  const { dir, cleanup } = setup();
  t.after(cleanup);
  assert.throws(
    () => SupervisorControl.connect(dir),
    (e: unknown) => (e as { code?: string }).code === 'KEMU_NO_SUPERVISOR',
  );
});

test('the stray sweep finds processes by KEMU_STATE_DIR and by a working directory in a kubelet root dir', async (t) => {
  const { dir, cleanup } = setup();
  const { spawn } = await import('node:child_process');
  const { processesOfStateDir } = await import('../src/pid-files.js');
  const podDir = path.join(dir, 'nodes', 'worker-1', 'kubelet', 'runtime', 'containers', 'c1');
  fs.mkdirSync(podDir, { recursive: true });
  const keep = ['-e', 'setInterval(() => {}, 1000)'];
  const byEnv = spawn(process.execPath, keep, { env: { ...process.env, KEMU_STATE_DIR: dir }, stdio: 'ignore' });
  const byCwd = spawn(process.execPath, keep, { cwd: podDir, env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
  const other = spawn(process.execPath, keep, { cwd: path.join(dir, 'nodes'), stdio: 'ignore' });
  t.after(() => {
    for (const c of [byEnv, byCwd, other]) c.kill('SIGKILL');
    cleanup();
  });
  const found = await (async () => {
    for (let i = 0; i < 100; i++) {
      const pids = processesOfStateDir(dir);
      if (pids.includes(byEnv.pid!) && pids.includes(byCwd.pid!)) return pids;
      await new Promise((r) => setTimeout(r, 50));
    }
    return processesOfStateDir(dir);
  })();
  assert.deepEqual([...found].sort(), [byEnv.pid!, byCwd.pid!].sort());
});
