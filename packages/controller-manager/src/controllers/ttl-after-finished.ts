// TTL-after-finished controller (upstream pkg/controller/ttlafterfinished): deletes a finished Job
// `ttlSecondsAfterFinished` after it completed or failed.
import type { Job, KubeObject } from '@kemu/api';
import { isNotFound, runController, splitKey } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../context.js';
import { newQueue } from '../workload/util.js';
import { isJobFinished, jobFinishTime } from './job.js';

export const ttlAfterFinishedController: ControllerDescriptor = {
  name: 'ttl-after-finished',
  start(ctx: ControllerContext) {
    const jobs = ctx.informers.forResource<Job>('jobs.batch');
    const queue = newQueue(ctx, 'ttl_jobs_to_delete');
    const enqueue = (j: KubeObject) => {
      const job = j as Job;
      if (job.spec?.ttlSecondsAfterFinished !== undefined && isJobFinished(job)) {
        queue.add(`${j.metadata.namespace}/${j.metadata.name}`);
      }
    };
    jobs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, j) => enqueue(j) });
    return runController({
      name: 'ttl-after-finished',
      runtime: ctx.runtime,
      informers: [jobs],
      queue,
      log: ctx.log,
      async reconcile(key) {
        const { namespace, name } = splitKey(key);
        const job = jobs.get(namespace ?? '', name);
        const ttl = job?.spec.ttlSecondsAfterFinished;
        if (!job || ttl === undefined || !isJobFinished(job) || job.metadata.deletionTimestamp) return;
        const finished = jobFinishTime(job) ?? ctx.runtime.now();
        const left = finished + ttl * 1000 - ctx.runtime.now();
        if (left > 0) return { requeueAfterMs: left };
        try {
          // Upstream deletes with Foreground propagation; Background needs no GC finalizer handshake
          // and the garbage collector still removes the pods through their ownerReferences.
          await ctx.api
            .resource<Job>('jobs.batch', { namespace: namespace ?? '' })
            .delete(name, { propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid ?? '' } });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        return undefined;
      },
    });
  },
};
