import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ManualRuntime } from '@kemu/runtime';
import { StateDir } from '../src/state-dir.js';
import { type SpawnedProcess, Supervisor, type SupervisorEvent } from '../src/supervisor.js';

/** A fake child: exits when told to, or on SIGTERM unless it ignores it. */
class FakeChild implements SpawnedProcess {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  readonly signals: string[] = [];
  private finish!: (r: { code: number | null; signal: string | null }) => void;
  readonly exited = new Promise<{ code: number | null; signal: string | null }>((r) => {
    this.finish = r;
  });
  constructor(private readonly ignoreTerm: boolean) {}
  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
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
    spawn: () => {
      const c = new FakeChild(ignoreTerm);
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
