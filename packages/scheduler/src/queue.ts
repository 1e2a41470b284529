// The scheduling queue, modelled on upstream's PriorityQueue (pkg/scheduler/backend/queue):
// - activeQ: pods ready to be tried, highest priority first, then the earliest enqueued;
// - backoffQ: pods that failed and wait out a per-pod exponential backoff (1 s doubling to 10 s);
// - unschedulable: pods that failed and wait for a cluster event that could make them fit (or for
//   5 minutes, after which they are retried anyway).
// A failed pod goes straight to backoffQ instead when a relevant event arrived while it was being
// scheduled (upstream's moveRequestCycle), so that event is not lost.
import type { Pod } from '@kemu/api';
import type { Runtime, TimerHandle } from '@kemu/runtime';
import { Heap } from './heap.js';

export interface QueuedPodInfo {
  pod: Pod;
  key: string;
  /** When the pod last entered the queue (ms, injected clock); orders equal priorities. */
  timestamp: number;
  /** Scheduling attempts so far (incremented by pop). */
  attempts: number;
  /** Plugins that rejected the pod in its last attempt (decides which events can help it). */
  unschedulablePlugins: Set<string>;
  /** The queue's scheduling cycle at the last pop. */
  schedulingCycle: number;
}

/** Cluster changes that can make an unschedulable pod schedulable. */
export type ClusterEvent = 'NodeAdd' | 'NodeUpdate' | 'AssignedPodAdd' | 'AssignedPodUpdate' | 'AssignedPodDelete';

/** Which rejecting plugins each event can satisfy (upstream's EventsToRegister, for kemu's plugins). */
const EVENT_PLUGINS: Record<ClusterEvent, ReadonlySet<string>> = {
  NodeAdd: new Set([
    'NodeUnschedulable',
    'NodeName',
    'TaintToleration',
    'NodeAffinity',
    'NodeResourcesFit',
    'PodTopologySpread',
    'InterPodAffinity',
  ]),
  NodeUpdate: new Set([
    'NodeUnschedulable',
    'TaintToleration',
    'NodeAffinity',
    'NodeResourcesFit',
    'PodTopologySpread',
    'InterPodAffinity',
  ]),
  AssignedPodAdd: new Set(['PodTopologySpread', 'InterPodAffinity']),
  AssignedPodUpdate: new Set(['NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity']),
  AssignedPodDelete: new Set(['NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity']),
};

export interface SchedulingQueueOptions {
  runtime: Runtime;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Pods unschedulable this long are retried even without an event (upstream: 5 min). */
  maxInUnschedulableMs?: number;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}

function priorityOf(pod: Pod): number {
  return pod.spec.priority ?? 0;
}

export class SchedulingQueue {
  private readonly runtime: Runtime;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  // Heaps hold stale entries after updates/moves; the maps say which entry is current.
  private readonly active = new Map<string, QueuedPodInfo>();
  private readonly activeHeap = new Heap<QueuedPodInfo>((a, b) => {
    const pa = priorityOf(a.pod);
    const pb = priorityOf(b.pod);
    return pa !== pb ? pa > pb : a.timestamp < b.timestamp;
  });
  private readonly backoff = new Map<string, QueuedPodInfo>();
  private readonly backoffHeap = new Heap<QueuedPodInfo>((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private schedulingCycle = 0;
  private moveRequestCycle = -1;
  private readonly listeners: (() => void)[] = [];
  private timers: TimerHandle[] = [];

  constructor(options: SchedulingQueueOptions) {
    this.runtime = options.runtime;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.maxInUnschedulableMs = options.maxInUnschedulableMs ?? 300_000;
  }

  /** Arms the periodic flushes (backoffQ every second, unschedulable leftovers every 30 s). */
  start(): void {
    if (this.timers.length > 0) return;
    this.timers.push(this.runtime.setInterval(() => this.flushBackoffCompleted(), 1000));
    this.timers.push(this.runtime.setInterval(() => this.flushUnschedulableLeftover(), 30_000));
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers = [];
  }

  /** Called whenever a pod enters activeQ (the scheduling loop's wake-up). */
  onActive(listener: () => void): void {
    this.listeners.push(listener);
  }

  get lengths(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  has(key: string): boolean {
    return this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key);
  }

  /** A new pending pod. */
  add(pod: Pod): void {
    const key = podKey(pod);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
    const previous = this.active.get(key);
    this.toActive({
      pod,
      key,
      timestamp: this.runtime.now(),
      attempts: previous?.attempts ?? 0,
      unschedulablePlugins: new Set(),
      schedulingCycle: 0,
    });
  }

  /** A queued pod changed: keep its place and backoff; an unschedulable one gets another chance. */
  update(pod: Pod): void {
    const key = podKey(pod);
    const inActive = this.active.get(key);
    if (inActive) {
      inActive.pod = pod;
      return;
    }
    const inBackoff = this.backoff.get(key);
    if (inBackoff) {
      inBackoff.pod = pod;
      return;
    }
    const waiting = this.unschedulable.get(key);
    if (waiting) {
      this.unschedulable.delete(key);
      waiting.pod = pod;
      this.toActiveOrBackoff(waiting);
      return;
    }
    this.add(pod);
  }

  delete(pod: Pod): void {
    const key = podKey(pod);
    this.active.delete(key);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
  }

  /** The next pod to schedule, or undefined when activeQ is empty. */
  pop(): QueuedPodInfo | undefined {
    for (;;) {
      const info = this.activeHeap.pop();
      if (info === undefined) return undefined;
      if (this.active.get(info.key) !== info) continue; // stale entry
      this.active.delete(info.key);
      this.schedulingCycle++;
      info.attempts++;
      info.schedulingCycle = this.schedulingCycle;
      return info;
    }
  }

  /** A popped pod did not fit; `plugins` are the ones that rejected it. */
  addUnschedulable(info: QueuedPodInfo, plugins: Iterable<string>): void {
    if (this.has(info.key)) return; // re-added meanwhile by an update; that copy wins
    info.unschedulablePlugins = new Set(plugins);
    info.timestamp = this.runtime.now();
    if (this.moveRequestCycle >= info.schedulingCycle) this.toBackoff(info);
    else this.unschedulable.set(info.key, info);
  }

  /**
   * A popped pod failed for a reason other than not fitting (a binding error, an unreadable pod):
   * no event can be waited for, so it retries after its backoff (upstream sends pods rejected by no
   * plugin to backoffQ).
   */
  addBackoff(info: QueuedPodInfo): void {
    if (this.has(info.key)) return;
    info.unschedulablePlugins = new Set();
    info.timestamp = this.runtime.now();
    this.toBackoff(info);
  }

  /** Upstream's backoff: initial × 2^(attempts−1), capped. */
  backoffDuration(info: QueuedPodInfo): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < info.attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoffMs) return this.maxBackoffMs;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  backoffExpiry(info: QueuedPodInfo): number {
    return info.timestamp + this.backoffDuration(info);
  }

  /** Moves the unschedulable pods this event may help to activeQ (or backoffQ while backing off). */
  moveOnEvent(event: ClusterEvent): void {
    const interested = EVENT_PLUGINS[event];
    for (const info of [...this.unschedulable.values()]) {
      const helps =
        info.unschedulablePlugins.size === 0 || [...info.unschedulablePlugins].some((p) => interested.has(p));
      if (!helps) continue;
      this.unschedulable.delete(info.key);
      this.toActiveOrBackoff(info);
    }
    this.moveRequestCycle = this.schedulingCycle;
  }

  /** Pods whose backoff has expired go to activeQ. */
  flushBackoffCompleted(): void {
    const now = this.runtime.now();
    for (;;) {
      const info = this.backoffHeap.peek();
      if (info === undefined) return;
      if (this.backoff.get(info.key) !== info) {
        this.backoffHeap.pop();
        continue;
      }
      if (this.backoffExpiry(info) > now) return;
      this.backoffHeap.pop();
      this.backoff.delete(info.key);
      this.toActive(info);
    }
  }

  /** Pods stuck in unschedulable longer than the limit are retried anyway. */
  flushUnschedulableLeftover(): void {
    const now = this.runtime.now();
    for (const info of [...this.unschedulable.values()]) {
      if (now - info.timestamp < this.maxInUnschedulableMs) continue;
      this.unschedulable.delete(info.key);
      this.toActiveOrBackoff(info);
    }
  }

  private toActiveOrBackoff(info: QueuedPodInfo): void {
    if (this.backoffExpiry(info) > this.runtime.now()) this.toBackoff(info);
    else this.toActive(info);
  }

  private toBackoff(info: QueuedPodInfo): void {
    this.backoff.set(info.key, info);
    this.backoffHeap.push(info);
  }

  private toActive(info: QueuedPodInfo): void {
    this.active.set(info.key, info);
    this.activeHeap.push(info);
    for (const l of this.listeners) l();
  }
}
