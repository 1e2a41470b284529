// The scheduler's Prometheus metrics, named as upstream's (pkg/scheduler/metrics) where kemu has the
// same thing to count, so dashboards and muscle memory carry over.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type AttemptResult = 'scheduled' | 'unschedulable' | 'error';

const PROFILE = 'default-scheduler';

export class SchedulerMetrics {
  readonly attempts: Counter<'result' | 'profile'>;
  readonly attemptDuration: Histogram<'result' | 'profile'>;
  readonly podSchedulingDuration: Histogram<'attempts'>;
  readonly bindingDuration: Histogram;
  readonly pendingPods: Gauge<'queue'>;
  readonly cacheSize: Gauge<'type'>;
  readonly droppedEvents: Counter;

  constructor(
    registry: Registry,
    pending: () => { active: number; backoff: number; unschedulable: number },
    sizes: () => { nodes: number; pods: number; assumed: number },
  ) {
    const registers = [registry];
    this.attempts = new Counter({
      name: 'scheduler_schedule_attempts_total',
      help: 'Number of attempts to schedule pods, by the result.',
      labelNames: ['result', 'profile'],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'scheduler_scheduling_attempt_duration_seconds',
      help: 'Scheduling attempt latency in seconds (scheduling algorithm + assume; binding is asynchronous).',
      labelNames: ['result', 'profile'],
      buckets: [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      registers,
    });
    this.podSchedulingDuration = new Histogram({
      name: 'scheduler_pod_scheduling_sli_duration_seconds',
      help: 'Latency from a pod first entering the scheduling queue until its binding succeeded.',
      labelNames: ['attempts'],
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60],
      registers,
    });
    this.bindingDuration = new Histogram({
      name: 'scheduler_binding_duration_seconds',
      help: 'Latency of the binding call to the apiserver.',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.pendingPods = new Gauge({
      name: 'scheduler_pending_pods',
      help: 'Number of pending pods, by the queue type.',
      labelNames: ['queue'],
      registers,
      collect() {
        const l = pending();
        this.set({ queue: 'active' }, l.active);
        this.set({ queue: 'backoff' }, l.backoff);
        this.set({ queue: 'unschedulable' }, l.unschedulable);
      },
    });
    this.cacheSize = new Gauge({
      name: 'scheduler_cache_size',
      help: 'Number of nodes, pods and assumed pods in the scheduler cache.',
      labelNames: ['type'],
      registers,
      collect() {
        const n = sizes();
        this.set({ type: 'nodes' }, n.nodes);
        this.set({ type: 'pods' }, n.pods);
        this.set({ type: 'assumed_pods' }, n.assumed);
      },
    });
    this.droppedEvents = new Counter({
      name: 'scheduler_events_dropped_total',
      help: 'Events not recorded because too many were already waiting to be written (as client-go drops them).',
      registers,
    });
  }

  attempt(result: AttemptResult, seconds: number): void {
    this.attempts.inc({ result, profile: PROFILE });
    this.attemptDuration.observe({ result, profile: PROFILE }, seconds);
  }
}
