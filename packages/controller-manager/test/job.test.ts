import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Job, Pod } from '@kemu/api';
import { formatIndexes, JOB_TRACKING_FINALIZER, JobController, parseIndexes } from '../src/controllers/job.js';
import { Harness } from './helpers/harness.js';

function job(name: string, spec: Partial<Job['spec']> = {}): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: {
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
      ...spec,
    },
  };
}

const active = (h: Harness) =>
  h
    .pods()
    .filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');

describe('completed index sets', () => {
  it('format and parse like upstream', () => {
    assert.equal(formatIndexes([5, 1, 3, 4, 7, 3]), '1,3-5,7');
    assert.deepEqual(parseIndexes('1,3-5,7'), [1, 3, 4, 5, 7]);
    assert.equal(formatIndexes([]), '');
  });
});

describe('Job controller', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });
  const setup = () => {
    const h = new Harness();
    harnesses.push(h);
    h.start(new JobController(h.ctx).run());
    return h;
  };
  const api = (h: Harness) => h.api.resource<Job>('jobs.batch', { namespace: 'default' });

  it('completions 5 parallelism 2: never more than 2 running, Complete with counts and events', async () => {
    const h = setup();
    await api(h).create(job('pi', { completions: 5, parallelism: 2 }));
    await h.settle();
    let maxActive = 0;
    for (let i = 0; i < 10 && active(h).length > 0; i++) {
      maxActive = Math.max(maxActive, active(h).length);
      const p = active(h)[0] as Pod;
      assert.ok(p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER));
      assert.equal(p.metadata.ownerReferences?.[0]?.kind, 'Job');
      await h.setPodPhase(p, 'Succeeded');
      await h.settle();
    }
    assert.equal(maxActive, 2);
    const j = await api(h).get('pi');
    assert.equal(j.status?.succeeded, 5);
    assert.equal(j.status?.active ?? 0, 0);
    assert.ok(j.status?.completionTime);
    assert.ok(j.status?.startTime);
    const complete = j.status?.conditions?.find((c) => c.type === 'Complete');
    assert.equal(complete?.status, 'True');
    assert.equal(h.pods().length, 5, 'exactly 5 pods ran');
    assert.ok(
      h.pods().every((p) => !(p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER)),
      'finalizers removed',
    );
    assert.deepEqual(j.status?.uncountedTerminatedPods?.succeeded ?? [], []);
    const ev = h.events();
    assert.equal(ev.filter((e) => e.reason === 'SuccessfulCreate').length, 5);
    assert.ok(ev.some((e) => e.reason === 'Completed' && e.message === 'Job completed'));
  });

  it('failed pods are replaced after a back-off until backoffLimit, then BackoffLimitExceeded', async () => {
    const h = setup();
    await api(h).create(job('fail', { backoffLimit: 2 }));
    await h.settle();
    const createdAt: number[] = [h.rt.now()];
    for (let i = 0; i < 3; i++) {
      const p = active(h)[0];
      assert.ok(p, `pod ${i} exists`);
      await h.setPodPhase(p, 'Failed');
      await h.settle();
      // replacement waits initial·2^(failures-1): 1 s, 2 s (fast profile)
      if (i < 2) {
        assert.equal(active(h).length, 0, 'no replacement during the back-off');
        await h.settle(1000 * 2 ** i + 200, 100);
        assert.equal(active(h).length, 1, `replacement ${i + 1} created`);
        createdAt.push(h.rt.now());
      }
    }
    await h.settle();
    const j = await api(h).get('fail');
    assert.equal(j.status?.failed, 3);
    const failed = j.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.reason, 'BackoffLimitExceeded');
    assert.equal(failed?.message, 'Job has reached the specified backoff limit');
    assert.ok(h.events().some((e) => e.reason === 'BackoffLimitExceeded'));
  });

  it('activeDeadlineSeconds fails the job and deletes its pods', async () => {
    const h = setup();
    await api(h).create(job('slow', { activeDeadlineSeconds: 3, parallelism: 2, completions: 4 }));
    await h.settle();
    assert.equal(active(h).length, 2);
    await h.settle(3500, 250);
    const j = await api(h).get('slow');
    const failed = j.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.reason, 'DeadlineExceeded');
    assert.equal(failed?.message, 'Job was active longer than specified deadline');
    assert.equal(active(h).length, 0);
  });

  it('Indexed: one pod per index with its annotation, completedIndexes', async () => {
    const h = setup();
    await api(h).create(job('ix', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    await h.settle();
    const ixs = active(h)
      .map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'])
      .sort();
    assert.deepEqual(ixs, ['0', '1', '2']);
    const p1 = active(h).find(
      (p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1',
    ) as Pod;
    assert.equal(p1.spec.hostname, 'ix-1');
    await h.setPodPhase(p1, 'Succeeded');
    await h.settle();
    assert.equal((await api(h).get('ix')).status?.completedIndexes, '1');
    for (const p of active(h)) await h.setPodPhase(p, 'Succeeded');
    await h.settle();
    const j = await api(h).get('ix');
    assert.equal(j.status?.completedIndexes, '0-2');
    assert.equal(j.status?.conditions?.find((c) => c.type === 'Complete')?.status, 'True');
  });

  it('a restarted controller does not count finished pods twice', async () => {
    const h = setup();
    await api(h).create(job('once', { completions: 2, parallelism: 2 }));
    await h.settle();
    for (const p of active(h)) await h.setPodPhase(p, 'Succeeded');
    // a second controller (as after a leader change) syncing the same job
    const second = new JobController(h.ctx);
    h.start(second.run());
    await h.settle();
    await second.sync('default/once');
    await h.settle();
    const j = await api(h).get('once');
    assert.equal(j.status?.succeeded, 2);
    assert.equal(h.pods().length, 2);
  });
});

describe('ttl-after-finished controller', () => {
  it('deletes a finished job ttlSecondsAfterFinished after it completed', async () => {
    const { ttlAfterFinishedController } = await import('../src/controllers/ttl-after-finished.js');
    const h = new Harness();
    h.start(new JobController(h.ctx).run(), ttlAfterFinishedController.start(h.ctx));
    try {
      const api = h.api.resource<Job>('jobs.batch', { namespace: 'default' });
      await api.create(job('short', { ttlSecondsAfterFinished: 2 }));
      await h.settle();
      for (const p of active(h)) await h.setPodPhase(p, 'Succeeded');
      await h.settle(1000, 250);
      assert.equal(h.objects<Job>('jobs.batch').length, 1, 'kept during the TTL');
      await h.settle(1500, 250);
      assert.equal(h.objects<Job>('jobs.batch').length, 0, 'deleted after the TTL');
    } finally {
      await h.stop();
    }
  });
});
