// Job controller (upstream pkg/controller/job): runs pods until `completions` succeed (or, without
// completions, until one succeeds), at most `parallelism` at a time; replaces failed pods after an
// exponential back-off until `backoffLimit`; enforces activeDeadlineSeconds; Indexed completion
// mode. Finished pods are counted exactly once through the `batch.kubernetes.io/job-tracking`
// finalizer and `status.uncountedTerminatedPods`, as upstream does, so a pod removed by podgc or a
// restart of this process never changes the counts.
import {
  controllerRef,
  formatTime,
  isBeingDeleted,
  isPodReady,
  type Job,
  type JobCondition,
  type KubeObject,
  type Pod,
  parseTime,
} from '@kemu/api';
import {
  DeletedFinalStateUnknown,
  isConflict,
  isNotFound,
  runController,
  type SharedIndexInformer,
  splitKey,
} from '@kemu/client';
import type { ControllerContext, ControllerDescriptor, RunningController } from '../context.js';
import { ControllerExpectations } from '../workload/expectations.js';
import { podFromTemplate } from '../workload/pod-template.js';
import {
  claimObjects,
  deletionOrder,
  errorMessage,
  newQueue,
  quietConflicts,
  sameStatus,
  selectorOf,
} from '../workload/util.js';
import {
  claimCandidates,
  controllerUidIndex,
  POD_CONTROLLER_UID_INDEX,
  podOwnerHandler,
  slowStartBatch,
  withKind,
} from './replicaset.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

type JobStatus = NonNullable<Job['status']>;

export function isJobFinished(job: Job): boolean {
  return (job.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

/** When the job finished: completionTime, else the Failed condition's transition time. */
export function jobFinishTime(job: Job): number | undefined {
  if (job.status?.completionTime) return parseTime(job.status.completionTime);
  const failed = (job.status?.conditions ?? []).find((c) => c.type === 'Failed' && c.status === 'True');
  return failed ? parseTime(failed.lastTransitionTime) : undefined;
}

function indexOf(p: Pod): number | undefined {
  const v = p.metadata.annotations?.[COMPLETION_INDEX] ?? p.metadata.labels?.[COMPLETION_INDEX];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** `1,3-5,7` from a sorted set of indexes (upstream's completedIndexes format). */
export function formatIndexes(ix: readonly number[]): string {
  const sorted = [...new Set(ix)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function parseIndexes(s: string | undefined): number[] {
  if (!s) return [];
  const out: number[] = [];
  for (const part of s.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

function hasFinalizer(p: Pod): boolean {
  return (p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

function podFinishedAt(p: Pod): number {
  let latest = 0;
  for (const c of p.status?.containerStatuses ?? []) {
    latest = Math.max(latest, parseTime(c.state?.terminated?.finishedAt) ?? 0);
  }
  if (latest === 0) {
    for (const c of p.status?.conditions ?? []) latest = Math.max(latest, parseTime(c.lastTransitionTime) ?? 0);
  }
  return latest;
}

export class JobController {
  readonly expectations: ControllerExpectations;
  private readonly jobInformer: SharedIndexInformer<Job>;
  private readonly podInformer: SharedIndexInformer<Pod>;
  private readonly queue;
  private readonly recorder;

  constructor(private readonly ctx: ControllerContext) {
    this.expectations = new ControllerExpectations(ctx.runtime);
    this.jobInformer = ctx.informers.forResource<Job>('jobs.batch');
    this.podInformer = ctx.informers.forResource<Pod>('pods', {
      indexers: { [POD_CONTROLLER_UID_INDEX]: controllerUidIndex },
    });
    this.queue = newQueue(ctx, 'job');
    this.recorder = ctx.recorder('job-controller');
    const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    const enqueue = (key: string) => this.queue.add(key);
    this.jobInformer.addEventHandler({
      onAdd: (j) => enqueue(keyOf(j)),
      onUpdate: (_o, j) => enqueue(keyOf(j)),
      onDelete: (obj) => {
        const j = obj instanceof DeletedFinalStateUnknown ? (obj.obj as Job) : obj;
        this.expectations.delete(keyOf(j));
        // Pods of a deleted job must not keep the tracking finalizer.
        enqueue(keyOf(j));
      },
    });
    this.podInformer.addEventHandler(
      podOwnerHandler({
        kind: 'Job',
        owners: this.jobInformer,
        expectations: this.expectations,
        enqueue,
        selectorOf: (j) => selectorOf(j.spec.selector),
      }),
    );
  }

  run(workers = 2): RunningController {
    return runController({
      name: 'job',
      runtime: this.ctx.runtime,
      informers: [this.jobInformer, this.podInformer],
      queue: this.queue,
      workers,
      log: this.ctx.log,
      reconcile: quietConflicts(this.ctx.log, (key) => this.sync(key)),
    });
  }

  private podsApi(ns: string) {
    return this.ctx.api.resource<Pod>('pods', { namespace: ns });
  }
  private jobsApi(ns: string) {
    return this.ctx.api.resource<Job>('jobs.batch', { namespace: ns });
  }

  async sync(key: string): Promise<{ requeueAfterMs: number } | undefined> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const cached = this.jobInformer.get(ns, name);
    if (!cached) {
      this.expectations.delete(key);
      await this.releaseOrphans(ns, name);
      return undefined;
    }
    const job = withKind(cached, 'Job', 'batch/v1');
    const selector = selectorOf(job.spec.selector);
    // The apiserver always generates a selector; without one (never valid upstream) only pods this
    // job created are its own, so an empty selector can never claim a whole namespace.
    const all = selector.empty
      ? this.podInformer.store.byIndex(POD_CONTROLLER_UID_INDEX, job.metadata.uid ?? '')
      : await claimObjects<Pod>({
          owner: job,
          ownerRef: controllerRef(job),
          selector,
          candidates: claimCandidates(this.podInformer, job),
          client: this.podsApi(ns),
        });
    const now = this.ctx.runtime.now();
    const status: JobStatus = structuredClone(job.status ?? {});
    const uncounted = {
      succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])],
      failed: [...(status.uncountedTerminatedPods?.failed ?? [])],
    };
    const indexed = job.spec.completionMode === 'Indexed';
    const completedIndexes = new Set(parseIndexes(status.completedIndexes));
    // 1. Count newly finished pods (terminal, still carrying our finalizer, not yet recorded).
    let newSucceeded = 0;
    let newFailed = 0;
    let lastFailure = 0;
    for (const p of all) {
      const uid = p.metadata.uid ?? '';
      if (p.status?.phase === 'Failed') lastFailure = Math.max(lastFailure, podFinishedAt(p));
      if (!hasFinalizer(p) || uncounted.succeeded.includes(uid) || uncounted.failed.includes(uid)) continue;
      if (p.status?.phase === 'Succeeded') {
        const ix = indexOf(p);
        if (indexed && ix !== undefined && completedIndexes.has(ix)) {
          uncounted.succeeded.push(uid); // a duplicate success of an index counts once
          continue;
        }
        if (indexed && ix !== undefined) completedIndexes.add(ix);
        uncounted.succeeded.push(uid);
        newSucceeded++;
      } else if (p.status?.phase === 'Failed') {
        uncounted.failed.push(uid);
        newFailed++;
      }
    }
    status.succeeded = (status.succeeded ?? 0) + newSucceeded;
    status.failed = (status.failed ?? 0) + newFailed;
    if (indexed) status.completedIndexes = formatIndexes([...completedIndexes]);
    const active = all.filter(
      (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !isBeingDeleted(p),
    );
    const finishedBefore = isJobFinished(job);
    if (!status.startTime && !job.spec.suspend) status.startTime = formatTime(now);

    // 2. Decide whether the job is done.
    let requeue: number | undefined;
    let finish: { type: 'Complete' | 'Failed'; reason: string; message: string } | undefined;
    if (!finishedBefore) {
      const completions = job.spec.completions;
      const backoffLimit = job.spec.backoffLimit ?? 6;
      const startMs = parseTime(status.startTime);
      const deadline = job.spec.activeDeadlineSeconds;
      if ((status.failed ?? 0) > backoffLimit) {
        finish = {
          type: 'Failed',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
        };
      } else if (
        deadline !== undefined &&
        startMs !== undefined &&
        !job.spec.suspend &&
        now >= startMs + deadline * 1000
      ) {
        finish = {
          type: 'Failed',
          reason: 'DeadlineExceeded',
          message: 'Job was active longer than specified deadline',
        };
      } else if (
        completions !== undefined && completions !== null
          ? (status.succeeded ?? 0) >= completions
          : (status.succeeded ?? 0) > 0 && active.length === 0
      ) {
        finish = {
          type: 'Complete',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
        };
      } else if (deadline !== undefined && startMs !== undefined && !job.spec.suspend) {
        requeue = startMs + deadline * 1000 - now + 1;
      }
    }

    // 3. Converge pods (only when our cache reflects our own last writes).
    const satisfied = this.expectations.satisfied(key);
    let manageError: unknown;
    if (satisfied && !isBeingDeleted(job)) {
      try {
        if (finish || finishedBefore || job.spec.suspend) {
          await this.deletePods(key, job, active, active.length);
        } else {
          const r = await this.manage(key, job, active, status, completedIndexes, lastFailure);
          if (r !== undefined) requeue = Math.min(requeue ?? r, r);
        }
      } catch (err) {
        manageError = err;
      }
    }

    // 4. Status: counts, uncounted uids, conditions.
    status.active = finish || finishedBefore ? 0 : active.length;
    status.ready = active.filter(isPodReady).length;
    status.terminating = all.filter(
      (p) => isBeingDeleted(p) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    ).length;
    status.uncountedTerminatedPods = { succeeded: uncounted.succeeded, failed: uncounted.failed };
    status.conditions = this.suspendConditions(job, status.conditions ?? [], now);
    if (finish) {
      const t = formatTime(now);
      const interim = finish.type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
      const conds = (status.conditions ?? []).filter((c) => c.type !== interim && c.type !== finish.type);
      conds.push(
        {
          type: interim,
          status: 'True',
          reason: finish.reason,
          message: finish.message,
          lastProbeTime: t,
          lastTransitionTime: t,
        },
        {
          type: finish.type,
          status: 'True',
          reason: finish.reason,
          message: finish.message,
          lastProbeTime: t,
          lastTransitionTime: t,
        },
      );
      status.conditions = conds;
      if (finish.type === 'Complete') status.completionTime = t;
    }
    let written = job;
    if (!sameStatus(status, job.status)) {
      const copy = structuredClone(job);
      copy.status = status;
      written = await this.jobsApi(ns).updateStatus(copy);
      if (finish?.type === 'Complete') void this.recorder.event(job, 'Normal', 'Completed', 'Job completed');
      else if (finish) void this.recorder.event(job, 'Warning', finish.reason, finish.message);
    }

    // 5. Counted pods lose the finalizer, then leave uncountedTerminatedPods.
    const countedUids = new Set([...uncounted.succeeded, ...uncounted.failed]);
    let finalizersToRemove = all.filter((p) => hasFinalizer(p) && countedUids.has(p.metadata.uid ?? ''));
    // A finished job keeps no finalizers on any of its pods.
    if (finish || finishedBefore) finalizersToRemove = all.filter(hasFinalizer);
    const released = new Set<string>();
    for (const p of finalizersToRemove) {
      if (await this.removeFinalizer(p)) released.add(p.metadata.uid ?? '');
    }
    const stillTracked = new Set(
      all.filter((p) => hasFinalizer(p) && !released.has(p.metadata.uid ?? '')).map((p) => p.metadata.uid ?? ''),
    );
    const keep = (uids: string[]) => uids.filter((u) => stillTracked.has(u));
    const nextUncounted = { succeeded: keep(uncounted.succeeded), failed: keep(uncounted.failed) };
    if (
      nextUncounted.succeeded.length !== uncounted.succeeded.length ||
      nextUncounted.failed.length !== uncounted.failed.length
    ) {
      const copy = structuredClone(written);
      copy.status = { ...(copy.status ?? {}), uncountedTerminatedPods: nextUncounted };
      await this.jobsApi(ns).updateStatus(copy);
    }
    if (manageError) throw manageError;
    return requeue !== undefined ? { requeueAfterMs: Math.max(1, requeue) } : undefined;
  }

  private suspendConditions(job: Job, conds: JobCondition[], now: number): JobCondition[] {
    const cur = conds.find((c) => c.type === 'Suspended');
    const t = formatTime(now);
    if (job.spec.suspend && cur?.status !== 'True') {
      return [
        ...conds.filter((c) => c.type !== 'Suspended'),
        {
          type: 'Suspended',
          status: 'True',
          reason: 'JobSuspended',
          message: 'Job suspended',
          lastProbeTime: t,
          lastTransitionTime: t,
        },
      ];
    }
    if (!job.spec.suspend && cur?.status === 'True') {
      return [
        ...conds.filter((c) => c.type !== 'Suspended'),
        {
          type: 'Suspended',
          status: 'False',
          reason: 'JobResumed',
          message: 'Job resumed',
          lastProbeTime: t,
          lastTransitionTime: t,
        },
      ];
    }
    return conds;
  }

  /** manageJob: create or delete pods towards min(parallelism, remaining completions). */
  private async manage(
    key: string,
    job: Job,
    active: Pod[],
    status: JobStatus,
    completedIndexes: Set<number>,
    lastFailure: number,
  ): Promise<number | undefined> {
    const parallelism = job.spec.parallelism ?? 1;
    const completions = job.spec.completions;
    const succeeded = status.succeeded ?? 0;
    let want: number;
    if (completions === undefined || completions === null) want = succeeded > 0 ? active.length : parallelism;
    else want = Math.max(0, Math.min(completions - succeeded, parallelism));
    const diff = active.length - want;
    if (diff > 0) {
      await this.deletePods(key, job, active, diff);
      return undefined;
    }
    if (diff === 0) return undefined;
    // Back-off after failures: initial·2^(failures-1), capped, from the last failure.
    const failed = status.failed ?? 0;
    if (failed > 0 && lastFailure > 0) {
      const b = this.ctx.profile.jobPodFailureBackOffMs;
      const delay = Math.min(b.max, b.initial * 2 ** Math.min(30, failed - 1));
      const wait = lastFailure + delay - this.ctx.runtime.now();
      if (wait > 0) return wait;
    }
    let toCreate = -diff;
    const indexes: number[] = [];
    if (job.spec.completionMode === 'Indexed') {
      const busy = new Set(active.map(indexOf).filter((i): i is number => i !== undefined));
      for (let i = 0; i < (completions ?? 0) && indexes.length < toCreate; i++) {
        if (!completedIndexes.has(i) && !busy.has(i)) indexes.push(i);
      }
      toCreate = indexes.length;
    }
    if (toCreate <= 0) return undefined;
    this.expectations.expectCreations(key, toCreate);
    const ns = job.metadata.namespace ?? '';
    const ref = controllerRef(job);
    const template = job.spec.template;
    let next = 0;
    const created = await slowStartBatch(toCreate, 1, async () => {
      const ix = indexes.length > 0 ? indexes[next++] : undefined;
      const pod = podFromTemplate(template, job, ref, {
        generateName: ix !== undefined ? `${job.metadata.name}-${ix}-` : `${job.metadata.name}-`,
      });
      pod.metadata.finalizers = [...(pod.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER];
      if (ix !== undefined) {
        pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [COMPLETION_INDEX]: String(ix) };
        pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [COMPLETION_INDEX]: String(ix) };
        pod.spec.hostname = `${job.metadata.name}-${ix}`;
        if (job.spec.template.spec.subdomain) pod.spec.subdomain = job.spec.template.spec.subdomain;
      }
      try {
        const out = await this.podsApi(ns).create(pod);
        void this.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${out.metadata.name}`);
      } catch (err) {
        void this.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
        throw err;
      }
    });
    for (let i = created; i < toCreate; i++) this.expectations.creationObserved(key);
    if (created < toCreate) throw new Error(`created ${created} of ${toCreate} pods for Job ${key}`);
    return undefined;
  }

  private async deletePods(key: string, job: Job, active: Pod[], n: number): Promise<void> {
    if (n <= 0) return;
    const victims = [...active].sort((a, b) => deletionOrder(a, b)).slice(0, n);
    this.expectations.expectDeletions(
      key,
      victims.map((p) => p.metadata.uid ?? ''),
    );
    const ns = job.metadata.namespace ?? '';
    let firstError: unknown;
    for (const p of victims) {
      try {
        await this.podsApi(ns).delete(p.metadata.name ?? '', { preconditions: { uid: p.metadata.uid ?? '' } });
        void this.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (err) {
        this.expectations.deletionObserved(key, p.metadata.uid ?? '');
        if (!isNotFound(err)) firstError ??= err;
      }
    }
    if (firstError) throw firstError;
  }

  private async removeFinalizer(p: Pod): Promise<boolean> {
    const copy = structuredClone(p);
    copy.metadata.finalizers = (p.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
    try {
      await this.podsApi(p.metadata.namespace ?? '').update(copy);
      return true;
    } catch (err) {
      if (isNotFound(err)) return true;
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** The job is gone: its pods must not keep the tracking finalizer (upstream does the same). */
  private async releaseOrphans(ns: string, jobName: string): Promise<void> {
    for (const p of this.podInformer.list({ namespace: ns })) {
      if (!hasFinalizer(p)) continue;
      const ref = (p.metadata.ownerReferences ?? []).find((r) => r.kind === 'Job' && r.name === jobName);
      if (ref) await this.removeFinalizer(p);
    }
  }
}

export const jobController: ControllerDescriptor = {
  name: 'job',
  start: (ctx) => new JobController(ctx).run(),
};
