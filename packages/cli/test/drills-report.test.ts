import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Node, OwnerReference, Pod } from '@kemu/api';
import { ManualRuntime } from '@kemu/runtime';
import { type Drill, type DrillContext, runDrill } from '../src/drills/framework.js';
import {
  describeNodeChange,
  describePodChange,
  describeSupervisorLine,
  eventSource,
  PodMoveTracker,
} from '../src/drills/observers.js';
import { type DrillReport, escapeHtml, fileTimestamp, renderHtml, writeReport } from '../src/drills/report.js';
import { formatEntry, Timeline } from '../src/drills/timeline.js';

describe('timeline', () => {
  test('entries carry time since the start, wall time, and reach listeners in order', () => {
    const rt = new ManualRuntime(1_700_000_000_000);
    const tl = new Timeline(rt);
    const heard: string[] = [];
    tl.onEntry((e) => heard.push(`${e.t}:${e.message}`));
    tl.add('phase', 'drill', 'setup');
    rt.advance(1234);
    tl.add('fault', 'drill', 'killed etcd-1');
    rt.advance(66);
    tl.add('observed', 'etcd', 'leader is etcd-2 (term 3)');
    assert.deepEqual(heard, ['0:setup', '1234:killed etcd-1', '1300:leader is etcd-2 (term 3)']);
    assert.equal(tl.entries[1]?.at, new Date(1_700_000_001_234).toISOString());
    assert.equal(tl.find({ kind: 'observed', source: 'etcd', message: /leader is/ }).length, 1);
    assert.equal(tl.find({ after: 1300 }).length, 1);
    assert.equal(tl.find({ source: /^dri/ }).length, 2);
    assert.equal(formatEntry(tl.entries[1]!), '[  +1.234s] !! drill                      killed etcd-1');
  });
});

function sampleReport(): DrillReport {
  return {
    drill: 'sample',
    title: 'A <sample> drill',
    description: 'shows "quotes" & </script><script>alert(1)</script>',
    result: 'FAIL',
    startedAt: '2026-11-22T08:30:01.123Z',
    durationMs: 4200,
    cluster: { stateDir: '/tmp/x', etcdMembers: 3 },
    checks: [
      { name: 'a leader', stage: 'kill', ok: true, deadlineMs: 5000, elapsedMs: 140, t: 1200, detail: 'etcd-2' },
      {
        name: 'writes <resume>',
        stage: 'kill',
        ok: false,
        deadlineMs: 100,
        elapsedMs: 101,
        t: 1400,
        detail: 'not within 100 ms',
      },
    ],
    timeline: [
      { t: 0, at: '2026-11-22T08:30:01.123Z', source: 'drill', kind: 'phase', message: 'setup' },
      { t: 1000, at: '2026-11-22T08:30:02.123Z', source: 'drill', kind: 'fault', message: 'SIGKILL <etcd-0>' },
      { t: 1300, at: '2026-11-22T08:30:02.423Z', source: 'etcd', kind: 'observed', message: '</script><!-- x' },
    ],
    error: 'boom & <b>',
  };
}

describe('report', () => {
  test('file names sort by time and are safe', () => {
    assert.equal(fileTimestamp('2026-11-22T08:30:01.123Z'), '20261122-083001');
  });

  test('escapeHtml escapes the five characters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  test('writeReport writes <drill>-<timestamp>.json and .html; the JSON round-trips', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-report-'));
    try {
      const r = sampleReport();
      const files = writeReport(r, path.join(dir, 'nested'));
      assert.equal(files.json, path.join(dir, 'nested', 'sample-20261122-083001.json'));
      assert.equal(files.html, path.join(dir, 'nested', 'sample-20261122-083001.html'));
      assert.deepEqual(JSON.parse(fs.readFileSync(files.json, 'utf8')), r);
      assert.ok(fs.readFileSync(files.html, 'utf8').startsWith('<!doctype html>'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the HTML page is self-contained, escapes report text and embeds the data intact', () => {
    const r = sampleReport();
    const html = renderHtml(r);
    // No external assets of any kind.
    assert.doesNotMatch(html, /\s(src|href)=/i);
    assert.doesNotMatch(html, /@import|url\(/i);
    // Exactly our two script blocks: report text cannot open or close one.
    assert.equal(html.match(/<script/g)?.length, 2);
    assert.equal(html.match(/<\/script>/g)?.length, 2);
    assert.match(html, /A &lt;sample&gt; drill<span class="badge FAIL">FAIL<\/span>/);
    assert.match(html, /SIGKILL &lt;etcd-0&gt;/);
    assert.match(html, /1\/2 checks passed/);
    assert.match(
      html,
      /<td class="t" title="2026-11-22T08:30:02.423Z">\+1\.300s<\/td><td>observed<\/td><td class="src">etcd<\/td>/,
    );
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
    assert.ok(data);
    assert.deepEqual(JSON.parse(data), r);
    // The page's own script at least parses (no browser here to run it).
    const js = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
    assert.ok(js);
    // …and runs against a stub DOM: it reads the embedded data and draws one mark per phase/fault/check.
    const marks: { left: string; title: string }[] = [];
    const el = (): Record<string, unknown> => ({
      style: {},
      dataset: { kind: 'phase' },
      textContent: data,
      checked: true,
      value: '',
      addEventListener: () => {},
      appendChild: (child: { style: { left: string }; title: string }) =>
        marks.push({ left: child.style.left, title: child.title }),
    });
    const stub = { getElementById: () => el(), querySelectorAll: () => [el(), el()], createElement: () => el() };
    new Function('document', js)(stub);
    assert.deepEqual(
      marks.map((m) => m.title),
      ['+0.000s drill: setup', '+1.000s drill: SIGKILL <etcd-0>'],
    );
  });
});

/** A drill assembled from callbacks, recording which phases ran. */
function fakeDrill(
  phases: string[],
  behaviour: {
    setup?: (ctx: DrillContext<null>) => Promise<void>;
    check1?: (ctx: DrillContext<null>) => Promise<void>;
    check2?: (ctx: DrillContext<null>) => Promise<void>;
    heal?: () => Promise<void>;
  },
): Drill<null> {
  return {
    name: 'fake',
    title: 'Fake drill',
    description: 'for the runner tests',
    start: (ctx) => ({
      setup: async () => {
        phases.push('setup');
        await behaviour.setup?.(ctx);
      },
      stages: [
        {
          title: 'one',
          inject: async () => {
            phases.push('inject1');
            ctx.fault('break one');
          },
          check: async () => {
            phases.push('check1');
            await behaviour.check1?.(ctx);
          },
        },
        {
          title: 'two',
          inject: async () => {
            phases.push('inject2');
          },
          check: async () => {
            phases.push('check2');
            await behaviour.check2?.(ctx);
          },
        },
      ],
      heal: async () => {
        phases.push('heal');
        await behaviour.heal?.();
      },
      recovery: async () => {
        phases.push('recovery');
        ctx.verify('whole again', true, 'yes');
      },
      teardown: async () => {
        phases.push('teardown');
      },
    }),
  };
}

function manual(): { rt: ManualRuntime; sleep: (ms: number) => Promise<void> } {
  const rt = new ManualRuntime(1_700_000_000_000);
  return {
    rt,
    sleep: async (ms) => {
      rt.advance(ms);
    },
  };
}

describe('runDrill', () => {
  test('all checks pass: PASS, every phase in order, checks recorded with their stage', async () => {
    const phases: string[] = [];
    const { rt, sleep } = manual();
    let polls = 0;
    const report = await runDrill(
      fakeDrill(phases, {
        check1: async (ctx) => {
          const v = await ctx.expect('third time lucky', { deadlineMs: 1000, intervalMs: 100 }, () =>
            ++polls >= 3 ? 'got it' : undefined,
          );
          assert.equal(v, 'got it');
        },
      }),
      { cluster: null, clock: rt, sleep, describeCluster: { etcdMembers: 3 } },
    );
    assert.equal(report.result, 'PASS');
    assert.deepEqual(phases, ['setup', 'inject1', 'check1', 'inject2', 'check2', 'heal', 'recovery', 'teardown']);
    assert.deepEqual(
      report.checks.map((c) => [c.stage, c.name, c.ok, c.elapsedMs, c.detail]),
      [
        ['one', 'third time lucky', true, 200, 'got it'],
        ['recovery', 'whole again', true, 0, 'yes'],
      ],
    );
    assert.deepEqual(report.cluster, { etcdMembers: 3 });
    assert.equal(report.durationMs, 200);
    assert.ok(report.timeline.some((e) => e.kind === 'fault' && e.message === 'break one'));
    assert.equal(report.timeline.at(-1)?.message, 'PASS: 2/2 checks passed');
  });

  test('a missed deadline: FAIL, later stages skipped, heal, recovery and teardown still run', async () => {
    const phases: string[] = [];
    const { rt, sleep } = manual();
    const report = await runDrill(
      fakeDrill(phases, {
        check1: async (ctx) => {
          await ctx.expect('never', { deadlineMs: 500, intervalMs: 100 }, () => {
            throw new Error('connection refused');
          });
        },
      }),
      { cluster: null, clock: rt, sleep },
    );
    assert.equal(report.result, 'FAIL');
    assert.deepEqual(phases, ['setup', 'inject1', 'check1', 'heal', 'recovery', 'teardown']);
    const failed = report.checks.find((c) => !c.ok);
    assert.equal(failed?.name, 'never');
    assert.equal(failed?.deadlineMs, 500);
    assert.equal(failed?.elapsedMs, 500);
    assert.match(failed?.detail ?? '', /not within 500 ms; last error: connection refused/);
    assert.equal(report.error, undefined, 'a failed check is not an error of the drill itself');
  });

  test('a failed immediate assertion fails the drill', async () => {
    const phases: string[] = [];
    const { rt, sleep } = manual();
    const report = await runDrill(
      fakeDrill(phases, { check2: async (ctx) => ctx.verify('nothing lost', false, '3 writes missing') }),
      { cluster: null, clock: rt, sleep },
    );
    assert.equal(report.result, 'FAIL');
    assert.deepEqual(
      report.checks.filter((c) => !c.ok).map((c) => [c.stage, c.detail]),
      [['two', '3 writes missing']],
    );
  });

  test('an exception in setup: FAIL with the error; heal runs, recovery does not', async () => {
    const phases: string[] = [];
    const { rt, sleep } = manual();
    const report = await runDrill(
      fakeDrill(phases, {
        setup: async () => {
          throw new Error('kubectl create failed');
        },
      }),
      { cluster: null, clock: rt, sleep },
    );
    assert.equal(report.result, 'FAIL');
    assert.deepEqual(phases, ['setup', 'heal', 'teardown']);
    assert.match(report.error ?? '', /kubectl create failed/);
  });

  test('a failing heal fails the drill even when every check passed', async () => {
    const phases: string[] = [];
    const { rt, sleep } = manual();
    const report = await runDrill(
      fakeDrill(phases, {
        check1: async (ctx) => ctx.verify('fine', true, 'ok'),
        heal: async () => {
          throw new Error('cannot restart etcd-1');
        },
      }),
      { cluster: null, clock: rt, sleep },
    );
    assert.equal(report.result, 'FAIL');
    assert.match(report.error ?? '', /heal: cannot restart etcd-1/);
    assert.ok(!phases.includes('recovery'));
  });

  test('a drill that checks nothing does not pass', async () => {
    const { rt, sleep } = manual();
    const report = await runDrill(fakeDrill([], {}), { cluster: null, clock: rt, sleep });
    // The fake's recovery makes one check; a drill without any is caught here.
    assert.equal(report.result, 'PASS');
    const empty: Drill<null> = {
      name: 'empty',
      title: 'Empty',
      description: '',
      start: () => ({ setup: async () => {}, stages: [], heal: async () => {} }),
    };
    const r2 = await runDrill(empty, { cluster: null, clock: rt, sleep });
    assert.equal(r2.result, 'FAIL');
    assert.equal(r2.error, 'the drill checked nothing');
  });

  test('preflight refusal: FAIL before anything runs', async () => {
    const phases: string[] = [];
    const { rt, sleep } = manual();
    const d = fakeDrill(phases, {});
    d.preflight = () => {
      throw new Error('needs at least 3 etcd members');
    };
    const report = await runDrill(d, { cluster: null, clock: rt, sleep });
    assert.equal(report.result, 'FAIL');
    assert.deepEqual(phases, []);
    assert.match(report.error ?? '', /needs at least 3 etcd members/);
  });
});

describe('observer narration', () => {
  const pod = (
    over: Partial<Pod['spec']> = {},
    status: Pod['status'] = {},
    meta: Partial<Pod['metadata']> = {},
  ): Pod => ({
    metadata: { name: 'web-1', namespace: 'default', ...meta },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...over },
    status,
  });

  test('pods: created by their owner, scheduled, running, ready, terminating', () => {
    const owned = pod(
      {},
      {},
      { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'u', controller: true }] },
    );
    assert.deepEqual(describePodChange(undefined, owned), [
      { source: 'kube-controller-manager', message: 'pod default/web-1 created by ReplicaSet/web-abc' },
    ]);
    const scheduled = pod({ nodeName: 'worker-2' });
    assert.deepEqual(describePodChange(pod(), scheduled), [
      { source: 'kube-scheduler', message: 'pod default/web-1 scheduled to worker-2' },
    ]);
    const running = pod(
      { nodeName: 'worker-2' },
      { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    );
    assert.deepEqual(
      describePodChange(scheduled, running).map((d) => d.message),
      ['pod default/web-1 is Running', 'pod default/web-1 Ready=True'],
    );
    const terminating = pod({ nodeName: 'worker-2' }, running.status, {
      deletionTimestamp: '2026-11-22T08:00:00Z',
      deletionGracePeriodSeconds: 30,
    });
    assert.deepEqual(describePodChange(running, terminating), [
      { source: 'kube-apiserver', message: 'pod default/web-1 Terminating on worker-2 (grace 30 s)' },
    ]);
    assert.deepEqual(describePodChange(running, running), []);
  });

  test('nodes: NotReady (Unknown) is the controller verdict, taints come and go', () => {
    const node = (ready: string, taints: { key: string; effect: 'NoSchedule' | 'NoExecute' }[] = []): Node => ({
      metadata: { name: 'worker-1' },
      spec: { taints },
      status: { conditions: [{ type: 'Ready', status: ready as 'True' }] },
    });
    assert.deepEqual(
      describeNodeChange(
        node('True'),
        node('Unknown', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]),
      ),
      [
        { source: 'kube-controller-manager', message: 'node worker-1 NotReady (Unknown)' },
        {
          source: 'kube-controller-manager',
          message: 'node worker-1 tainted node.kubernetes.io/unreachable:NoExecute',
        },
      ],
    );
    assert.deepEqual(
      describeNodeChange(
        node('Unknown', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]),
        node('True'),
      ),
      [
        { source: 'kubelet/worker-1', message: 'node worker-1 Ready' },
        {
          source: 'kube-controller-manager',
          message: 'node worker-1 taint node.kubernetes.io/unreachable:NoExecute removed',
        },
      ],
    );
  });

  test('pod moves: a controller pod leaving a node pairs with the next one scheduled, first gone first replaced', () => {
    const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'u', controller: true };
    const p = (name: string, node: string | undefined, owners: OwnerReference[] = [rs]): Pod => ({
      metadata: { name, namespace: 'default', uid: name, ownerReferences: owners },
      spec: { containers: [], ...(node ? { nodeName: node } : {}) },
    });
    const t = new PodMoveTracker();
    assert.equal(t.scheduled(p('new-0', 'worker-2')), undefined, 'nothing left yet: a plain scale-up');
    t.left(p('a', 'worker-1'));
    t.left(p('a', 'worker-1')); // Terminating, then deleted: one departure
    t.left(p('b', 'worker-1'));
    assert.equal(t.scheduled(p('c', 'worker-2')), 'ReplicaSet/web-abc: moved worker-1 → worker-2 (a → c)');
    assert.equal(t.scheduled(p('d', 'worker-1')), 'ReplicaSet/web-abc: replaced on worker-1 (b → d)');
    assert.equal(t.scheduled(p('e', 'worker-3')), undefined);
    t.left(p('bare', 'worker-1', []));
    t.left(p('mirror', 'control-plane', [{ apiVersion: 'v1', kind: 'Node', name: 'control-plane', uid: 'n' }]));
    assert.equal(t.scheduled(p('f', 'worker-3')), undefined, 'bare and mirror pods do not move');
  });

  test('events are attributed to their component, and a node agent to its node', () => {
    const ev = (source: { component?: string; host?: string }) => ({ metadata: {}, involvedObject: {}, source });
    assert.equal(eventSource(ev({ component: 'kubelet', host: 'worker-2' })), 'kubelet/worker-2');
    assert.equal(eventSource(ev({ component: 'replicaset-controller' })), 'replicaset-controller');
  });

  test('supervisor log lines', () => {
    assert.equal(
      describeSupervisorLine({ event: 'exit', component: 'etcd-1', code: null, signal: 'SIGKILL', planned: false }),
      'etcd-1 exited (signal SIGKILL)',
    );
    assert.equal(
      describeSupervisorLine({ event: 'start', component: 'etcd-1', pid: 42, restarts: 1 }),
      'started etcd-1 (pid 42, restart #1)',
    );
    assert.equal(
      describeSupervisorLine({ event: 'restart', component: 'etcd-1', backoffMs: 250 }),
      'restarting etcd-1 in 250 ms',
    );
    assert.equal(describeSupervisorLine({ event: 'weird', component: 'x' }), undefined);
  });
});
