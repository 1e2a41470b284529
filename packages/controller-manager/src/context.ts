import type { TimingProfile } from '@kemu/api';
import type { ApiClient, EventRecorder, QueueMetricsHooks, SharedInformerFactory } from '@kemu/client';
import type { Logger, Random, Runtime } from '@kemu/runtime';

/**
 * What every controller gets from the controller-manager process. Controllers share one informer
 * factory (one list + watch per resource for the whole process, as in kube-controller-manager) and
 * one API client; each builds its own workqueue and runs through `runController` from `@kemu/client`.
 */
export interface ControllerContext {
  api: ApiClient;
  informers: SharedInformerFactory;
  runtime: Runtime;
  random: Random;
  log: Logger;
  /** Event recorder whose `source.component` is the controller's name (e.g. `replicaset-controller`). */
  recorder(component: string): EventRecorder;
  profile: TimingProfile;
  /** Workqueue metrics hooks (`workqueue_*` on the process's /metrics); absent in unit tests. */
  queueMetrics?: QueueMetricsHooks;
}

/** A running controller; `stop()` drains its workers (called when leadership is lost or on shutdown). */
export interface RunningController {
  stop(): Promise<void>;
}

/**
 * One controller as the process registers it. `name` is upstream's `--controllers` name
 * (`replicaset`, `deployment`, `nodelifecycle`, `garbagecollector`, …). `start` must only register
 * informers and start workers: the process starts the informer factory after every controller's
 * `start` ran and waits for its caches before reconciles begin (runController waits for sync).
 */
export interface ControllerDescriptor {
  name: string;
  start(ctx: ControllerContext): RunningController;
}
