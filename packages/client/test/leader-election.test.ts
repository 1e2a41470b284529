import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Binding, Lease } from '@kemu/api';
import { ManualRuntime, type Random, SeededRandom } from '@kemu/runtime';
import {
  ApiError,
  ClientConfigError,
  type DeleteOptions,
  type DeleteResult,
  FakeApi,
  failureStatus,
  type GetOptions,
  LeaderElector,
  type ListOptions,
  type ListResult,
  type PatchOptions,
  type ResourceClient,
  type WatchOptions,
  type WatchStream,
} from '../src/index.js';
import { advance, flush } from './helpers.js';

/** Advances manual time until `p` settles (for promises waiting on delayed fake requests). */
async function settle<T>(rt: ManualRuntime, p: Promise<T>): Promise<T> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 1000 && !done; i++) await advance(rt, 10, 10);
  return p;
}

const unavailable = () => new ApiError(failureStatus(503, 'ServiceUnavailable', 'injected'));

/** One candidate's view of the API: its calls can fail, be delayed, or lose their reply, on the candidate's schedule. */
class FlakyLeases implements ResourceClient<Lease> {
  readonly resource = 'leases.coordination.k8s.io';
  readonly namespace = 'kube-system';
  failRate = 0;
  lostReplyRate = 0;
  maxDelayMs = 0;

  constructor(
    private readonly inner: ResourceClient<Lease>,
    private readonly rt: ManualRuntime,
    private readonly random: Random,
  ) {}

  private async faulty<R>(op: () => Promise<R>): Promise<R> {
    if (this.random.next() < this.failRate) throw unavailable();
    if (this.maxDelayMs > 0) {
      const d = this.random.int(0, this.maxDelayMs);
      await new Promise<void>((resolve) => this.rt.setTimeout(resolve, d));
    }
    const out = await op();
    if (this.random.next() < this.lostReplyRate) throw new ApiError(failureStatus(504, 'Timeout', 'reply lost'));
    return out;
  }

  get(name: string, opts?: GetOptions) {
    return this.faulty(() => this.inner.get(name, opts));
  }
  create(obj: Lease) {
    return this.faulty(() => this.inner.create(obj));
  }
  update(obj: Lease) {
    return this.faulty(() => this.inner.update(obj));
  }
  updateStatus(obj: Lease) {
    return this.faulty(() => this.inner.updateStatus(obj));
  }
  patch(name: string, type: 'merge', patch: unknown, opts?: PatchOptions) {
    return this.faulty(() => this.inner.patch(name, type, patch, opts));
  }
  delete(name: string, opts?: DeleteOptions): Promise<DeleteResult<Lease>> {
    return this.faulty(() => this.inner.delete(name, opts));
  }
  bind(b: Binding) {
    return this.inner.bind(b);
  }
  list(opts?: ListOptions): Promise<ListResult<Lease>> {
    return this.inner.list(opts);
  }
  watch(opts?: WatchOptions): WatchStream<Lease> {
    return this.inner.watch(opts);
  }
}

interface Candidate {
  id: string;
  leases: FlakyLeases;
  elector: LeaderElector;
  run: Promise<void>;
}

function world(seed: number) {
  const rt = new ManualRuntime(Date.UTC(2026, 10, 22, 6, 0, 0));
  const api = new FakeApi({ clock: rt });
  const random = new SeededRandom(seed);
  const leading = new Set<string>();
  const timeline: string[] = [];
  const newLeaders: string[] = [];
  const candidates = new Map<string, Candidate>();
  const start = (id: string, opts: { release?: boolean } = {}): Candidate => {
    const leases = new FlakyLeases(api.resource<Lease>('leases', { namespace: 'kube-system' }), rt, random.fork());
    const elector = new LeaderElector({
      leases,
      namespace: 'kube-system',
      name: 'kube-scheduler',
      identity: id,
      runtime: rt,
      random: random.fork(),
      leaseDurationMs: 1500,
      renewDeadlineMs: 1000,
      retryPeriodMs: 200,
      releaseOnCancel: opts.release ?? false,
      callbacks: {
        onStartedLeading: () => {
          assert.deepEqual([...leading], [], `${id} started leading at ${rt.now()} while ${[...leading]} leads`);
          leading.add(id);
          timeline.push(`${rt.now()} +${id}`);
        },
        onStoppedLeading: () => {
          leading.delete(id);
          timeline.push(`${rt.now()} -${id}`);
        },
        onNewLeader: (l) => newLeaders.push(`${id} sees ${l}`),
      },
    });
    const c = { id, leases, elector, run: elector.run() };
    candidates.set(id, c);
    return c;
  };
  const lease = async () =>
    (await api.resource<Lease>('leases', { namespace: 'kube-system' }).get('kube-scheduler')).spec ?? {};
  return { rt, api, random, leading, timeline, newLeaders, candidates, start, lease };
}

describe('LeaderElector', () => {
  it('rejects unsafe timings with a typed error', () => {
    const rt = new ManualRuntime(0);
    const api = new FakeApi({ clock: rt });
    const base = {
      leases: api.resource<Lease>('leases', { namespace: 'x' }),
      namespace: 'x',
      name: 'l',
      identity: 'a',
      runtime: rt,
      random: new SeededRandom(1),
      callbacks: { onStartedLeading() {}, onStoppedLeading() {} },
    };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      ClientConfigError,
    );
    assert.throws(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 }), ClientConfigError);
  });

  it('two candidates: one leads and renews; it dies, the other takes over after the lease duration', async () => {
    const w = world(1);
    const a = w.start('a');
    await flush();
    const b = w.start('b');
    await advance(w.rt, 1000, 10);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.elector.isLeader(), false);
    let spec = await w.lease();
    assert.equal(spec.holderIdentity, 'a');
    assert.equal(spec.leaseDurationSeconds, 2);
    assert.equal(spec.leaseTransitions, 0);
    assert.match(spec.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(spec.renewTime, '2026-11-22T06:00:01.000000Z', 'renewed every retry period (last at 1000 ms)');
    assert.equal(spec.acquireTime, '2026-11-22T06:00:00.000000Z');

    // a dies (no release): the lease keeps its last renewal; b waits a lease duration from when it saw that.
    const diedAt = w.rt.now();
    await a.elector.stop();
    let tookOverAt = 0;
    while (!b.elector.isLeader()) {
      await advance(w.rt, 10, 10);
      tookOverAt = w.rt.now();
      assert.ok(tookOverAt - diedAt < 5000, 'b never took over');
    }
    const lastRenewal = Date.parse((spec.renewTime ?? '').replace(/000Z$/, 'Z'));
    // b waits the record's leaseDurationSeconds (1500 ms rounded up to 2 s) from when it saw the renewal.
    assert.ok(tookOverAt - lastRenewal >= 2000, `took over ${tookOverAt - lastRenewal} ms after the last renewal`);
    assert.ok(
      tookOverAt - lastRenewal <= 2000 + 200 * 2.2 + 20,
      `took over ${tookOverAt - lastRenewal} ms after the last renewal`,
    );
    spec = await w.lease();
    assert.equal(spec.holderIdentity, 'b');
    assert.equal(spec.leaseTransitions, 1);
    assert.ok(w.newLeaders.includes('b sees a') && w.newLeaders.includes('b sees b'));
    await b.elector.stop();
    await Promise.all([a.run, b.run]);
    assert.deepEqual(
      w.timeline.map((t) => t.split(' ')[1]),
      ['+a', '-a', '+b', '-b'],
    );
  });

  it('release on graceful stop hands over without waiting a lease duration', async () => {
    const w = world(2);
    const a = w.start('a', { release: true });
    await flush();
    const b = w.start('b');
    await advance(w.rt, 500, 10);
    assert.equal(a.elector.isLeader(), true);
    const stoppedAt = w.rt.now();
    await a.elector.stop();
    assert.equal((await w.lease()).holderIdentity, '');
    while (!b.elector.isLeader()) await advance(w.rt, 10, 10);
    assert.ok(w.rt.now() - stoppedAt <= 200 * 2.2 + 20, `handover took ${w.rt.now() - stoppedAt} ms`);
    await b.elector.stop();
  });

  it('a leader that cannot renew steps down before its renew deadline, then a standby takes over', async () => {
    const w = world(3);
    const a = w.start('a');
    await flush();
    const b = w.start('b');
    await advance(w.rt, 600, 10);
    assert.equal(a.elector.isLeader(), true);
    a.leases.failRate = 1;
    const cutAt = w.rt.now();
    while (a.elector.isLeader()) await advance(w.rt, 10, 10);
    assert.ok(w.rt.now() - cutAt <= 1000, `stepped down after ${w.rt.now() - cutAt} ms`);
    await a.run;
    while (!b.elector.isLeader()) await advance(w.rt, 10, 10);
    assert.equal((await w.lease()).holderIdentity, 'b');
    await b.elector.stop();
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: never two leaders under random renew failures, delays, lost replies, conflicts and crashes`, async () => {
      const w = world(100 + seed);
      const ids = ['a', 'b', 'c'];
      for (const id of ids) w.start(id);
      let leaderTime = 0;
      for (let t = 0; t < 30_000; t += 10) {
        for (const c of w.candidates.values()) {
          c.leases.failRate = w.random.next() < 0.02 ? 0.9 : c.leases.failRate * 0.99;
          c.leases.lostReplyRate = 0.1;
          c.leases.maxDelayMs = 300;
        }
        if (w.random.next() < 0.003) {
          // Crash or graceful stop a candidate and start a fresh one in its place.
          const id = ids[w.random.int(0, ids.length)] ?? 'a';
          const old = w.candidates.get(id);
          // Not awaited: stopping may wait for a delayed in-flight request, which needs time to pass.
          if (old) void old.elector.stop();
          w.start(id, { release: w.random.next() < 0.5 });
        }
        await advance(w.rt, 10, 10);
        const leaders = [...w.candidates.values()].filter((c) => c.elector.isLeader()).map((c) => c.id);
        assert.ok(leaders.length <= 1, `two leaders at ${w.rt.now()}: ${leaders}`);
        if (leaders.length === 1) leaderTime += 10;
        // A finished run (lost leadership) campaigns again, as a restarted process would.
        for (const c of [...w.candidates.values()]) {
          let finished = false;
          void c.run.then(() => {
            finished = true;
          });
          await flush(1);
          if (finished && !c.elector.isLeader()) w.start(c.id);
        }
      }
      const transitions = w.timeline.filter((e) => e.includes('+')).length;
      assert.ok(transitions >= 3, `only ${transitions} leadership terms: ${w.timeline.join(', ')}`);
      assert.ok(leaderTime > 30_000 * 0.3, `a leader only ${leaderTime} ms of 30000`);
      await settle(w.rt, Promise.all([...w.candidates.values()].map((c) => c.elector.stop())));
    });
  }
});
