import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { CronJob, Job } from '@kemu/api';
import { formatTime } from '@kemu/api';
import {
  CronJobController,
  CronSchedule,
  CronScheduleError,
  mostRecentScheduleTime,
} from '../src/controllers/cronjob.js';
import { Harness } from './helpers/harness.js';

function cron(name: string, spec: Partial<CronJob['spec']> = {}): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default' },
    spec: {
      schedule: '*/1 * * * *',
      jobTemplate: {
        metadata: { labels: { team: 'a' } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
  };
}

describe('CronSchedule', () => {
  it('standard 5 fields and descriptors, in a time zone', () => {
    const t0 = Date.parse('2026-11-22T08:00:30Z');
    assert.equal(new CronSchedule('*/5 * * * *').next(t0), Date.parse('2026-11-22T08:05:00Z'));
    assert.equal(new CronSchedule('@hourly').next(t0), Date.parse('2026-11-22T09:00:00Z'));
    assert.equal(new CronSchedule('0 9 * * *', 'Europe/Berlin').next(t0), Date.parse('2026-11-23T08:00:00Z'));
  });
  it('rejects what Kubernetes rejects', () => {
    assert.throws(() => new CronSchedule('* * * * * *'), CronScheduleError);
    assert.throws(() => new CronSchedule('TZ=UTC * * * * *'), CronScheduleError);
    assert.throws(() => new CronSchedule('61 * * * *'), CronScheduleError);
    assert.throws(() => new CronSchedule('@every 5m'), CronScheduleError);
  });
});

describe('CronJob controller', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });
  const setup = () => {
    const h = new Harness();
    harnesses.push(h);
    h.start(new CronJobController(h.ctx).run());
    return h;
  };
  const cjApi = (h: Harness) => h.api.resource<CronJob>('cronjobs.batch', { namespace: 'default' });
  const jobsApi = (h: Harness) => h.api.resource<Job>('jobs.batch', { namespace: 'default' });
  const jobs = (h: Harness) =>
    h.objects<Job>('jobs.batch').sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  async function finish(h: Harness, j: Job, type: 'Complete' | 'Failed'): Promise<void> {
    const cur = await jobsApi(h).get(j.metadata.name ?? '');
    const t = formatTime(h.rt.now());
    cur.status = {
      ...(cur.status ?? {}),
      startTime: cur.status?.startTime ?? t,
      conditions: [{ type, status: 'True', lastTransitionTime: t }],
      ...(type === 'Complete' ? { completionTime: t } : {}),
    };
    await jobsApi(h).updateStatus(cur);
  }

  it('creates one job per schedule time with the upstream name, annotation and status', async () => {
    const h = setup();
    await cjApi(h).create(cron('tick'));
    await h.settle();
    assert.equal(jobs(h).length, 0);
    await h.settle(61_000, 1000);
    const [j] = jobs(h);
    assert.ok(j);
    const minutes = Math.floor(Date.parse('2026-11-22T08:01:00Z') / 60_000);
    assert.equal(j.metadata.name, `tick-${minutes}`);
    assert.equal(j.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-11-22T08:01:00Z');
    assert.equal(j.metadata.labels?.team, 'a');
    assert.equal(j.metadata.ownerReferences?.[0]?.kind, 'CronJob');
    const cj = await cjApi(h).get('tick');
    assert.equal(cj.status?.lastScheduleTime, '2026-11-22T08:01:00Z');
    assert.deepEqual(
      cj.status?.active?.map((r) => r.name),
      [j.metadata.name],
    );
    assert.ok(
      h.events().some((e) => e.reason === 'SuccessfulCreate' && e.message === `Created job ${j.metadata.name}`),
    );
    await finish(h, j, 'Complete');
    await h.settle();
    const after1 = await cjApi(h).get('tick');
    assert.deepEqual(after1.status?.active ?? [], []);
    assert.ok(after1.status?.lastSuccessfulTime);
    // Allow: the next minute starts another; history keeps 3 successful jobs
    for (let i = 0; i < 4; i++) {
      await h.settle(60_000, 1000);
      for (const x of jobs(h)) if (!x.status?.conditions?.length) await finish(h, x, 'Complete');
      await h.settle();
    }
    assert.equal(jobs(h).length, 3, 'successfulJobsHistoryLimit 3');
  });

  it('Forbid skips while a job runs; Replace deletes it; suspend stops scheduling', async () => {
    const h = setup();
    await cjApi(h).create(cron('forbid', { concurrencyPolicy: 'Forbid' }));
    await h.settle(61_000, 1000);
    assert.equal(jobs(h).length, 1);
    await h.settle(60_000, 1000);
    assert.equal(jobs(h).length, 1, 'second run skipped');
    assert.ok(h.events().some((e) => e.reason === 'JobAlreadyActive'));

    const cur = await cjApi(h).get('forbid');
    cur.spec.concurrencyPolicy = 'Replace';
    await cjApi(h).update(cur);
    const first = jobs(h)[0]?.metadata.name;
    await h.settle(60_000, 1000);
    const names = jobs(h).map((j) => j.metadata.name);
    assert.equal(names.length, 1);
    assert.notEqual(names[0], first, 'the running job was replaced');

    const s = await cjApi(h).get('forbid');
    s.spec.suspend = true;
    await cjApi(h).update(s);
    await h.settle(180_000, 2000);
    assert.equal(jobs(h).length, 1, 'suspended: nothing new');
  });

  it('startingDeadlineSeconds: a start missed by more than the deadline is skipped', () => {
    const cj = cron('late', { schedule: '0 * * * *', startingDeadlineSeconds: 10 });
    cj.metadata.creationTimestamp = '2026-11-22T08:00:00Z';
    const sched = new CronSchedule(cj.spec.schedule);
    const now = Date.parse('2026-11-22T09:00:30Z');
    assert.equal(mostRecentScheduleTime(cj, now, sched).time, undefined, '30 s late with a 10 s deadline');
    cj.spec.startingDeadlineSeconds = 60;
    assert.equal(mostRecentScheduleTime(cj, now, sched).time, Date.parse('2026-11-22T09:00:00Z'));
    cj.spec.startingDeadlineSeconds = undefined;
    const behind = mostRecentScheduleTime(cj, Date.parse('2026-11-22T12:10:00Z'), sched);
    assert.equal(behind.time, Date.parse('2026-11-22T12:00:00Z'));
    assert.equal(behind.missed, 4);
    assert.equal(behind.next, Date.parse('2026-11-22T13:00:00Z'));
  });
});
