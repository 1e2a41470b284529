// The kube-scheduler's control loop (upstream's pkg/scheduler: eventhandlers.go + schedule_one.go):
// informers on pods and nodes keep the cache (a live Snapshot) and the scheduling queue current; the
// loop pops a pod, runs the pure `schedule()`, assumes the pod onto the chosen node so the next
// decision already counts it, and binds it through pods/binding without waiting: bindings run
// concurrently (bounded) while the loop goes on. A failed binding forgets the assumption and retries
// the pod after its backoff. A pod that fits nowhere waits in the queue for a cluster event that may
// help it; the failure is reported as upstream does: a Warning `FailedScheduling` Event and the pod's
// `PodScheduled=False` condition (reason `Unschedulable`), both with the FitError text.
import type { Event, Node, Pod, PodCondition } from '@kemu/api';
import { formatTime } from '@kemu/api';
import {
  type ApiClient,
  DeletedFinalStateUnknown,
  EventRecorder,
  isConflict,
  isNotFound,
  type ResourceClient,
  type SharedIndexInformer,
  SharedInformerFactory,
} from '@kemu/client';
import { type Logger, type Random, type Runtime, silentLogger } from '@kemu/runtime';
import { Registry } from 'prom-client';
import { SchedulerCache } from './cache.js';
import {
  assignedPodChanged,
  DEFAULT_SCHEDULER_NAME,
  isAssigned,
  isSchedulable,
  nodeSchedulingPropertiesChanged,
  pendingPodChanged,
} from './changes.js';
import { SchedulerInputError } from './errors.js';
import { type AttemptResult, SchedulerMetrics } from './metrics.js';
import { type QueuedPodInfo, SchedulingQueue } from './queue.js';
import { schedule } from './schedule.js';
import { podKeyOf } from './snapshot.js';

export interface SchedulerOptions {
  api: ApiClient;
  runtime: Runtime;
  random: Random;
  log?: Logger;
  /** Where the scheduler's metrics are registered (a private registry when absent). */
  metrics?: Registry;
  /** Pods naming another `spec.schedulerName` are left alone (default `default-scheduler`). */
  schedulerName?: string;
  /** Events' `source.host` / `reportingInstance`. */
  host?: string;
  instance?: string;
  /** Upstream's percentageOfNodesToScore; 0 (default) is its adaptive share. */
  percentageOfNodesToScore?: number;
  /**
   * Bindings in flight at once; the loop waits for a free slot beyond that (default 64). Enough to
   * keep the apiserver busy, few enough that the leader's lease renewal does not queue behind
   * thousands of writes (kemu's apiserver has no priority and fairness to put it first).
   */
  maxInFlightBindings?: number;
  /** Event writes in flight at once (default 8); the rest wait in order. */
  maxInFlightEvents?: number;
  /** Events waiting to be written beyond which new ones are dropped and counted (default 1000, as client-go's broadcaster queue). */
  maxQueuedEvents?: number;
  /** Pods scheduled per turn of the event loop before yielding to I/O (default 32). */
  batchSize?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface SchedulerStats {
  scheduled: number;
  unschedulable: number;
  errors: number;
  bound: number;
  bindFailures: number;
}

export const POD_SCHEDULED = 'PodScheduled';
export const REASON_UNSCHEDULABLE = 'Unschedulable';
export const REASON_SCHEDULER_ERROR = 'SchedulerError';

function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function unwrap<T>(obj: T | DeletedFinalStateUnknown<T>): T {
  return obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
}

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly metrics: SchedulerMetrics;
  readonly stats: SchedulerStats = { scheduled: 0, unschedulable: 0, errors: 0, bound: 0, bindFailures: 0 };
  readonly podInformer: SharedIndexInformer<Pod>;
  readonly nodeInformer: SharedIndexInformer<Node>;
  private readonly factory: SharedInformerFactory;
  private readonly pods: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly log: Logger;
  private readonly schedulerName: string;
  private readonly maxInFlightBindings: number;
  private readonly maxQueuedEvents: number;
  private readonly maxInFlightEvents: number;
  private readonly eventBacklog: (() => Promise<void>)[] = [];
  private eventsInFlight = 0;
  private readonly batchSize: number;
  private nextStartNodeIndex = 0;
  private inFlightBindings = 0;
  private queuedEvents = 0;
  private readonly pendingWrites = new Set<Promise<void>>();
  private readonly bindings = new Set<Promise<void>>();
  /** When each pending pod first entered the queue (performance.now(), for the SLI histogram). */
  private readonly firstQueued = new Map<string, number>();
  private wake: (() => void) | null = null;
  private started = false;
  private halted = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.log = opts.log ?? silentLogger();
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.maxInFlightBindings = opts.maxInFlightBindings ?? 64;
    this.maxQueuedEvents = opts.maxQueuedEvents ?? 1000;
    this.maxInFlightEvents = opts.maxInFlightEvents ?? 8;
    this.batchSize = opts.batchSize ?? 32;
    this.queue = new SchedulingQueue({
      runtime: opts.runtime,
      ...(opts.initialBackoffMs !== undefined ? { initialBackoffMs: opts.initialBackoffMs } : {}),
      ...(opts.maxBackoffMs !== undefined ? { maxBackoffMs: opts.maxBackoffMs } : {}),
    });
    this.queue.onActive(() => this.wakeUp());
    this.metrics = new SchedulerMetrics(
      opts.metrics ?? new Registry(),
      () => this.queue.lengths,
      () => ({ nodes: this.cache.nodeCount, pods: this.cache.podCount, assumed: this.cache.assumedCount }),
    );
    this.factory = new SharedInformerFactory({
      api: opts.api,
      runtime: opts.runtime,
      random: opts.random,
      log: this.log,
    });
    this.podInformer = this.factory.forResource<Pod>('pods');
    this.nodeInformer = this.factory.forResource<Node>('nodes');
    this.pods = opts.api.resource<Pod>('pods');
    this.recorder = new EventRecorder({
      events: opts.api.resource<Event>('events'),
      component: this.schedulerName,
      runtime: opts.runtime,
      log: this.log,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.instance !== undefined ? { instance: opts.instance } : {}),
    });
  }

  /** Starts the informers (every replica keeps its cache and queue warm; only the leader runs `run`). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.podInformer.addEventHandler({
      onAdd: (pod) => this.guard('pod add', () => this.onPodAdd(pod)),
      onUpdate: (oldPod, newPod) => this.guard('pod update', () => this.onPodUpdate(oldPod, newPod)),
      onDelete: (obj) => this.guard('pod delete', () => this.onPodDelete(unwrap(obj))),
    });
    this.nodeInformer.addEventHandler({
      onAdd: (node) => this.guard('node add', () => this.onNodeAdd(node)),
      onUpdate: (oldNode, newNode) => this.guard('node update', () => this.onNodeUpdate(oldNode, newNode)),
      onDelete: (obj) => this.guard('node delete', () => this.cache.removeNode(unwrap(obj).metadata.name ?? '')),
    });
    this.factory.start();
  }

  hasSynced(): boolean {
    return this.podInformer.hasSynced() && this.nodeInformer.hasSynced();
  }

  whenSynced(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    return this.factory.waitForCacheSync(opts);
  }

  /**
   * The scheduling loop: runs until `signal` aborts (leadership lost, shutdown). Pods are scheduled
   * in batches, yielding to I/O between batches so watch events and binding replies keep flowing.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.start();
    const onAbort = (): void => this.wakeUp();
    signal.addEventListener('abort', onAbort);
    try {
      if (!(await this.whenSynced({ signal }))) return;
      this.queue.start();
      this.log.info({ nodes: this.cache.nodeCount, pending: this.queue.lengths }, 'scheduling loop started');
      while (!signal.aborted && !this.halted) {
        let n = 0;
        while (
          n < this.batchSize &&
          this.inFlightBindings < this.maxInFlightBindings &&
          !signal.aborted &&
          !this.halted
        ) {
          const info = this.queue.pop();
          if (info === undefined) break;
          this.scheduleOne(info);
          n++;
        }
        if (n > 0) await yieldToIo();
        else if (!signal.aborted && !this.halted) await this.waitForWork();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.queue.stop();
    }
  }

  /**
   * Stops scheduling new pods and waits for the bindings (and writes) in flight. Called before the
   * lease is released on shutdown, so a successor never schedules a pod whose binding is still on
   * its way.
   */
  async halt(): Promise<void> {
    this.halted = true;
    this.wakeUp();
    while (this.bindings.size > 0) await Promise.all([...this.bindings]);
  }

  /** Stops the informers and waits for bindings, status patches and events in flight. */
  async stop(): Promise<void> {
    this.halted = true;
    this.queue.stop();
    this.wakeUp();
    // Events not yet written are dropped (as client-go's broadcaster does on shutdown).
    this.queuedEvents -= this.eventBacklog.length;
    this.eventBacklog.length = 0;
    await this.idle();
    await this.factory.stop();
  }

  /** Resolves when no binding, condition patch or event write is in flight or waiting (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pendingWrites.size > 0) await Promise.all([...this.pendingWrites]);
  }

  /** One scheduling cycle for one popped pod (synchronous; the binding runs on). */
  scheduleOne(info: QueuedPodInfo): void {
    const key = info.key;
    const current = this.podInformer.store.getByKey(key);
    // Deleted, bound or handed to another scheduler since it was queued: nothing to do.
    if (current === undefined || !isSchedulable(current, this.schedulerName) || this.cache.nodeOf(key) !== undefined) {
      this.firstQueued.delete(key);
      return;
    }
    info.pod = current;
    const started = performance.now();
    let result: ReturnType<typeof schedule>;
    try {
      result = schedule(current, this.cache.snapshot, {
        random: this.opts.random,
        percentageOfNodesToScore: this.opts.percentageOfNodesToScore ?? 0,
        startNodeIndex: this.nextStartNodeIndex,
      });
    } catch (err) {
      if (!(err instanceof SchedulerInputError)) throw err;
      this.failed(info, REASON_SCHEDULER_ERROR, err.message, null, started);
      return;
    }
    if ('fitError' in result) {
      const fit = result.fitError;
      // No nodes at all is an error upstream (ErrNoNodesAvailable), retried after backoff.
      if (fit.numAllNodes === 0) this.failed(info, REASON_SCHEDULER_ERROR, fit.message, null, started);
      else this.failed(info, REASON_UNSCHEDULABLE, fit.message, fit.unschedulablePlugins, started);
      return;
    }
    this.nextStartNodeIndex = result.nextStartNodeIndex;
    const assumed = this.cache.assume(current, result.node);
    this.stats.scheduled++;
    this.observe('scheduled', started);
    const binding = this.bind(info, assumed, result.node);
    this.bindings.add(binding);
    void binding.finally(() => this.bindings.delete(binding));
    this.track(binding);
  }

  // ---- outcomes ----------------------------------------------------------------------------------

  private failed(
    info: QueuedPodInfo,
    reason: typeof REASON_UNSCHEDULABLE | typeof REASON_SCHEDULER_ERROR,
    message: string,
    plugins: Set<string> | null,
    started: number,
  ): void {
    if (plugins === null) {
      this.stats.errors++;
      this.observe('error', started);
      this.queue.addBackoff(info);
    } else {
      this.stats.unschedulable++;
      this.observe('unschedulable', started);
      this.queue.addUnschedulable(info, plugins);
    }
    this.log.debug({ pod: info.key, reason, message }, 'unable to schedule pod');
    this.recordEvent(info.pod, 'Warning', 'FailedScheduling', message);
    this.track(this.setUnschedulableCondition(info.key, reason, message));
  }

  private async bind(info: QueuedPodInfo, pod: Pod, node: string): Promise<void> {
    this.inFlightBindings++;
    const started = performance.now();
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    try {
      await this.pods.bind({
        metadata: { name, namespace, ...(pod.metadata.uid !== undefined ? { uid: pod.metadata.uid } : {}) },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      });
      const now = performance.now();
      this.stats.bound++;
      this.metrics.bindingDuration.observe((now - started) / 1000);
      const first = this.firstQueued.get(info.key);
      if (first !== undefined) {
        this.metrics.podSchedulingDuration.observe(
          { attempts: String(Math.min(info.attempts, 5)) },
          (now - first) / 1000,
        );
        this.firstQueued.delete(info.key);
      }
      this.recordEvent(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${node}`);
    } catch (err) {
      this.stats.bindFailures++;
      this.cache.forget(info.key);
      // The freed room may help others (upstream moves pods as for an assigned pod's deletion).
      this.queue.moveOnEvent('AssignedPodDelete');
      // NotFound: the pod is gone. Conflict: the apiserver refuses a pod that is already assigned
      // (e.g. by a previous leader whose binding our informer has not shown yet) or being deleted;
      // either way the informer brings the truth, and a PodScheduled=False here would be wrong.
      if (isNotFound(err) || isConflict(err)) {
        this.log.info({ pod: info.key, node, err: (err as Error).message }, 'binding no longer needed');
        return;
      }
      const current = this.podInformer.store.getByKey(info.key);
      const message = `running Bind plugin "DefaultBinder": ${(err as Error).message}`;
      this.log.warn({ pod: info.key, node, err: (err as Error).message }, 'binding failed, retrying after backoff');
      if (current !== undefined && isSchedulable(current, this.schedulerName)) {
        info.pod = current;
        this.queue.addBackoff(info);
      }
      this.recordEvent(pod, 'Warning', 'FailedScheduling', message);
      await this.setUnschedulableCondition(info.key, REASON_SCHEDULER_ERROR, message);
    } finally {
      this.inFlightBindings--;
      this.wakeUp();
    }
  }

  /** Upstream's updatePod: PodScheduled=False with the reason and message, only when it changes. */
  private async setUnschedulableCondition(key: string, reason: string, message: string): Promise<void> {
    const pod = this.podInformer.store.getByKey(key);
    if (pod === undefined || isAssigned(pod)) return;
    const existing = (pod.status?.conditions ?? []).find((c) => c.type === POD_SCHEDULED);
    if (existing?.status === 'False' && existing.reason === reason && existing.message === message) return;
    const condition: PodCondition = {
      type: POD_SCHEDULED,
      status: 'False',
      lastProbeTime: null,
      lastTransitionTime:
        existing?.status === 'False' && existing.lastTransitionTime !== undefined
          ? existing.lastTransitionTime
          : formatTime(this.opts.runtime.now()),
      reason,
      message,
    };
    try {
      await this.pods.patch(
        pod.metadata.name ?? '',
        'strategic',
        { status: { conditions: [condition] } },
        { namespace: pod.metadata.namespace ?? 'default', subresource: 'status' },
      );
    } catch (err) {
      if (!isNotFound(err)) this.log.warn({ pod: key, err: (err as Error).message }, 'could not update pod condition');
    }
  }

  /**
   * Fire-and-forget, bounded like client-go's broadcaster: a few writes in flight, up to
   * `maxQueuedEvents` waiting; beyond that events are dropped (and counted), never the scheduling.
   */
  private recordEvent(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.queuedEvents >= this.maxQueuedEvents) {
      this.metrics.droppedEvents.inc();
      return;
    }
    this.queuedEvents++;
    const subject = { ...pod, apiVersion: 'v1', kind: 'Pod' };
    this.eventBacklog.push(() => this.recorder.event(subject, type, reason, message));
    this.pumpEvents();
  }

  private pumpEvents(): void {
    while (this.eventsInFlight < this.maxInFlightEvents) {
      const write = this.eventBacklog.shift();
      if (write === undefined) return;
      this.eventsInFlight++;
      this.track(
        write().finally(() => {
          this.eventsInFlight--;
          this.queuedEvents--;
          this.pumpEvents();
        }),
      );
    }
  }

  private track(p: Promise<void>): void {
    this.pendingWrites.add(p);
    void p.finally(() => this.pendingWrites.delete(p));
  }

  private observe(result: AttemptResult, started: number): void {
    this.metrics.attempt(result, (performance.now() - started) / 1000);
  }

  private waitForWork(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  // ---- informer event handlers (upstream's eventhandlers.go) ----------------------------------------

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, what }, 'scheduler event handler failed');
    }
  }

  private enqueue(pod: Pod): void {
    const key = podKeyOf(pod);
    if (!this.firstQueued.has(key)) this.firstQueued.set(key, performance.now());
    this.queue.add(pod);
  }

  private onPodAdd(pod: Pod): void {
    if (isAssigned(pod)) {
      this.cache.addOrUpdatePod(pod);
      this.queue.delete(pod);
      this.queue.moveOnEvent('AssignedPodAdd');
    } else if (isSchedulable(pod, this.schedulerName)) {
      this.enqueue(pod);
    }
  }

  private onPodUpdate(oldPod: Pod, newPod: Pod): void {
    const key = podKeyOf(newPod);
    if (isAssigned(newPod)) {
      const wasOccupying = this.cache.nodeOf(key) !== undefined && !this.cache.isAssumed(key);
      this.cache.addOrUpdatePod(newPod);
      if (!isAssigned(oldPod)) {
        // Our binding (or someone else's) landed.
        this.queue.delete(newPod);
        this.firstQueued.delete(key);
        this.queue.moveOnEvent('AssignedPodAdd');
      } else if (wasOccupying && this.cache.nodeOf(key) === undefined) {
        this.queue.moveOnEvent('AssignedPodDelete'); // finished: its requests are free again
      } else if (assignedPodChanged(oldPod, newPod)) {
        this.queue.moveOnEvent('AssignedPodUpdate');
      }
      return;
    }
    // Our binding is in flight: this is an older version (e.g. our own status patch) arriving late.
    if (this.cache.isAssumed(key)) return;
    if (!isSchedulable(newPod, this.schedulerName)) {
      this.queue.delete(newPod);
      this.firstQueued.delete(key);
      return;
    }
    if (!this.queue.has(key)) this.enqueue(newPod);
    else if (pendingPodChanged(oldPod, newPod)) this.queue.update(newPod);
  }

  private onPodDelete(pod: Pod): void {
    const key = podKeyOf(pod);
    this.firstQueued.delete(key);
    this.queue.delete(pod);
    if (this.cache.nodeOf(key) !== undefined) {
      this.cache.removePod(key);
      this.queue.moveOnEvent('AssignedPodDelete');
    }
  }

  private onNodeAdd(node: Node): void {
    this.cache.addOrUpdateNode(node);
    this.queue.moveOnEvent('NodeAdd');
  }

  private onNodeUpdate(oldNode: Node, newNode: Node): void {
    this.cache.addOrUpdateNode(newNode);
    if (nodeSchedulingPropertiesChanged(oldNode, newNode)) this.queue.moveOnEvent('NodeUpdate');
  }
}
