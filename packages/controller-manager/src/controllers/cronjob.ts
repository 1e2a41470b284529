// CronJob controller (upstream pkg/controller/cronjob, v2): creates a Job for the most recent
// unmet schedule time (named `<cronjob>-<minutes since the epoch>`, so a restarted or second
// controller creates the same name and never a duplicate), honours suspend, startingDeadlineSeconds
// and concurrencyPolicy, tracks status.active / lastScheduleTime / lastSuccessfulTime, prunes
// finished jobs beyond the history limits, and requeues itself for the next schedule time.
import {
  type CronJob,
  controllerOf,
  controllerRef,
  formatTime,
  isBeingDeleted,
  type Job,
  type KubeObject,
  objectReference,
  parseTime,
} from '@kemu/api';
import {
  DeletedFinalStateUnknown,
  isAlreadyExists,
  isNotFound,
  runController,
  type SharedIndexInformer,
  splitKey,
} from '@kemu/client';
import { KemuError } from '@kemu/runtime';
import { CronExpressionParser } from 'cron-parser';
import type { ControllerContext, ControllerDescriptor, RunningController } from '../context.js';
import { errorMessage, newQueue, quietConflicts, sameStatus } from '../workload/util.js';
import { isJobFinished, jobFinishTime } from './job.js';
import { withKind } from './replicaset.js';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Upstream gives up listing missed times past this many and warns. */
const MAX_MISSED = 100;

export class CronScheduleError extends KemuError {
  constructor(message: string) {
    super('CRONJOB_BAD_SCHEDULE', message);
  }
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * A standard 5-field cron schedule (robfig/cron's ParseStandard, what Kubernetes accepts) or one of
 * its descriptors, in `timeZone` (default UTC, as kube-controller-manager runs).
 */
export class CronSchedule {
  private readonly expr: string;
  constructor(
    schedule: string,
    private readonly timeZone = 'UTC',
  ) {
    const s = schedule.trim();
    if (/^(CRON_)?TZ=/.test(s))
      throw new CronScheduleError('CRON_TZ or TZ used in schedule is not supported, use timeZone instead');
    const expr = DESCRIPTORS[s] ?? s;
    if (expr.startsWith('@')) throw new CronScheduleError(`unrecognized descriptor: ${s}`);
    const fields = expr.split(/\s+/);
    if (fields.length !== 5) throw new CronScheduleError(`expected exactly 5 fields, found ${fields.length}: ${s}`);
    this.expr = `0 ${expr}`;
    this.next(0); // validate now
  }

  /** The first schedule time strictly after `afterMs`. */
  next(afterMs: number): number {
    try {
      const it = CronExpressionParser.parse(this.expr, { currentDate: new Date(afterMs), tz: this.timeZone });
      return it.next().getTime();
    } catch (err) {
      throw new CronScheduleError(errorMessage(err));
    }
  }
}

/** mostRecentScheduleTime: the latest schedule time in (earliest, now], and how many were missed. */
export function mostRecentScheduleTime(
  cj: CronJob,
  nowMs: number,
  sched: CronSchedule,
): { time: number | undefined; missed: number; next: number } {
  let earliest =
    parseTime(cj.status?.lastScheduleTime) ?? parseTime(cj.metadata.creationTimestamp ?? undefined) ?? nowMs;
  const sds = cj.spec.startingDeadlineSeconds;
  if (sds !== undefined && sds !== null) earliest = Math.max(earliest, nowMs - sds * 1000);
  let t = sched.next(earliest);
  if (t > nowMs) return { time: undefined, missed: 0, next: t };
  let missed = 0;
  let last = t;
  while (t <= nowMs) {
    last = t;
    missed++;
    if (missed > MAX_MISSED * 100) break; // far behind: stop counting, the latest is close enough
    t = sched.next(t);
  }
  return { time: last, missed, next: t };
}

export class CronJobController {
  private readonly cjInformer: SharedIndexInformer<CronJob>;
  private readonly jobInformer: SharedIndexInformer<Job>;
  private readonly queue;
  private readonly recorder;

  constructor(private readonly ctx: ControllerContext) {
    this.cjInformer = ctx.informers.forResource<CronJob>('cronjobs.batch');
    this.jobInformer = ctx.informers.forResource<Job>('jobs.batch');
    this.queue = newQueue(ctx, 'cronjob');
    this.recorder = ctx.recorder('cronjob-controller');
    const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    this.cjInformer.addEventHandler({
      onAdd: (c) => this.queue.add(keyOf(c)),
      onUpdate: (_o, c) => this.queue.add(keyOf(c)),
    });
    const owner = (j: Job) => {
      const ref = controllerOf(j);
      if (ref?.kind === 'CronJob') this.queue.add(`${j.metadata.namespace}/${ref.name}`);
    };
    this.jobInformer.addEventHandler({
      onAdd: owner,
      onUpdate: (_o, j) => owner(j),
      onDelete: (obj) => owner(obj instanceof DeletedFinalStateUnknown ? (obj.obj as Job) : obj),
    });
  }

  run(workers = 1): RunningController {
    return runController({
      name: 'cronjob',
      runtime: this.ctx.runtime,
      informers: [this.cjInformer, this.jobInformer],
      queue: this.queue,
      workers,
      log: this.ctx.log,
      reconcile: quietConflicts(this.ctx.log, (key) => this.sync(key)),
    });
  }

  private jobsApi(ns: string) {
    return this.ctx.api.resource<Job>('jobs.batch', { namespace: ns });
  }

  async sync(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const cached = this.cjInformer.get(ns, name);
    if (!cached || isBeingDeleted(cached)) return undefined;
    const cj = withKind(cached, 'CronJob', 'batch/v1');
    const now = this.ctx.runtime.now();
    const children = this.jobInformer.list({ namespace: ns }).filter((j) => controllerOf(j)?.uid === cj.metadata.uid);
    const status = structuredClone(cj.status ?? {});
    let active = [...(status.active ?? [])];

    // Reconcile status.active with the jobs that exist.
    for (const j of children) {
      const inList = active.some((r) => r.uid === j.metadata.uid);
      const finished = isJobFinished(j);
      if (inList && finished) {
        active = active.filter((r) => r.uid !== j.metadata.uid);
        const cond = (j.status?.conditions ?? []).find(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        );
        void this.recorder.event(
          cj,
          'Normal',
          'SawCompletedJob',
          `Saw completed job: ${j.metadata.name}, condition: ${cond?.type}`,
        );
      } else if (!inList && !finished) {
        active.push(objectReference(withKind(j, 'Job', 'batch/v1')));
      }
      if (finished && (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True')) {
        const done = jobFinishTime(j);
        const last = parseTime(status.lastSuccessfulTime);
        if (done !== undefined && (last === undefined || done > last)) status.lastSuccessfulTime = formatTime(done);
      }
    }
    for (const ref of [...active]) {
      if (!children.some((j) => j.metadata.uid === ref.uid) && !this.jobInformer.get(ns, ref.name ?? '')) {
        active = active.filter((r) => r !== ref);
        void this.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
      }
    }
    status.active = active;
    await this.cleanupFinished(cj, children);

    let requeue: number | undefined;
    if (!cj.spec.suspend) {
      let sched: CronSchedule;
      try {
        sched = new CronSchedule(cj.spec.schedule, cj.spec.timeZone ?? 'UTC');
      } catch (err) {
        void this.recorder.event(
          cj,
          'Warning',
          'UnparseableSchedule',
          `unparseable schedule: "${cj.spec.schedule}" : ${errorMessage(err)}`,
        );
        await this.writeStatus(cj, status);
        return undefined;
      }
      const { time, missed, next } = mostRecentScheduleTime(cj, now, sched);
      requeue = next - now + 100;
      if (missed > MAX_MISSED) {
        void this.recorder.event(
          cj,
          'Warning',
          'TooManyMissedTimes',
          `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
        );
      }
      if (time !== undefined) await this.startJob(cj, time, now, status, children);
    }
    await this.writeStatus(cj, status);
    return requeue !== undefined ? { requeueAfterMs: Math.max(100, requeue) } : undefined;
  }

  private async startJob(
    cj: CronJob,
    time: number,
    now: number,
    status: NonNullable<CronJob['status']>,
    children: Job[],
  ): Promise<void> {
    const ns = cj.metadata.namespace ?? '';
    const jobName = `${cj.metadata.name}-${Math.floor(time / 60_000)}`;
    const sds = cj.spec.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && time + sds * 1000 < now) {
      void this.recorder.event(
        cj,
        'Warning',
        'MissSchedule',
        `Missed scheduled time to start a job: ${new Date(time).toISOString()}`,
      );
      return;
    }
    if ((status.active ?? []).some((r) => r.name === jobName) || parseTime(status.lastScheduleTime) === time) return;
    if (children.some((j) => j.metadata.name === jobName)) {
      status.lastScheduleTime = formatTime(time);
      return;
    }
    const policy = cj.spec.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && (status.active ?? []).length > 0) {
      void this.recorder.event(
        cj,
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
      );
      return;
    }
    if (policy === 'Replace') {
      for (const ref of [...(status.active ?? [])]) {
        try {
          await this.jobsApi(ns).delete(ref.name ?? '', { propagationPolicy: 'Background' });
          void this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${ref.name}`);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        status.active = (status.active ?? []).filter((r) => r !== ref);
      }
    }
    const tmpl = cj.spec.jobTemplate;
    const job: Job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: jobName,
        namespace: ns,
        labels: { ...(tmpl.metadata?.labels ?? {}) },
        annotations: { ...(tmpl.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: formatTime(time) },
        ownerReferences: [controllerRef(cj)],
      },
      spec: structuredClone(tmpl.spec),
    };
    let created: Job;
    try {
      created = await this.jobsApi(ns).create(job);
    } catch (err) {
      if (isAlreadyExists(err)) {
        // Created by us before (cache lag or a previous leader): record it, do not create again.
        status.lastScheduleTime = formatTime(time);
        return;
      }
      void this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${errorMessage(err)}`);
      throw err;
    }
    void this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata.name}`);
    status.active = [...(status.active ?? []), objectReference(withKind(created, 'Job', 'batch/v1'))];
    status.lastScheduleTime = formatTime(time);
  }

  /** cleanupFinishedJobs: keep the newest successfulJobsHistoryLimit / failedJobsHistoryLimit. */
  private async cleanupFinished(cj: CronJob, children: Job[]): Promise<void> {
    const ns = cj.metadata.namespace ?? '';
    const prune = async (jobs: Job[], limit: number) => {
      const sorted = jobs
        .filter((j) => !isBeingDeleted(j))
        .sort(
          (a, b) =>
            (parseTime(a.status?.startTime) ?? 0) - (parseTime(b.status?.startTime) ?? 0) ||
            (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
        );
      for (const j of sorted.slice(0, Math.max(0, sorted.length - limit))) {
        try {
          await this.jobsApi(ns).delete(j.metadata.name ?? '', { propagationPolicy: 'Background' });
          void this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    };
    const finished = children.filter(isJobFinished);
    const ok = finished.filter((j) =>
      (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True'),
    );
    const failed = finished.filter((j) => !ok.includes(j));
    await prune(ok, cj.spec.successfulJobsHistoryLimit ?? 3);
    await prune(failed, cj.spec.failedJobsHistoryLimit ?? 1);
  }

  private async writeStatus(cj: CronJob, status: NonNullable<CronJob['status']>): Promise<void> {
    const norm = (s: CronJob['status']) => ({ ...s, active: (s?.active ?? []).map((r) => r.uid).sort() });
    if (sameStatus(norm(cj.status), norm(status))) return;
    const copy = structuredClone(cj);
    copy.status = status;
    try {
      await this.ctx.api
        .resource<CronJob>('cronjobs.batch', { namespace: cj.metadata.namespace ?? '' })
        .updateStatus(copy);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const cronJobController: ControllerDescriptor = {
  name: 'cronjob',
  start: (ctx) => new CronJobController(ctx).run(),
};
