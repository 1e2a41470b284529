import type { Lease, TimingProfile } from '@kemu/api';
import {
  type ApiClient,
  EventRecorder,
  LeaderElector,
  type QueueMetricsHooks,
  SharedInformerFactory,
} from '@kemu/client';
import type { Logger, Random, Runtime } from '@kemu/runtime';
import type { ControllerContext, ControllerDescriptor, RunningController } from './context.js';

export const LEASE_NAMESPACE = 'kube-system';
export const LEASE_NAME = 'kube-controller-manager';

export interface ControllerManagerOptions {
  api: ApiClient;
  runtime: Runtime;
  random: Random;
  log: Logger;
  profile: TimingProfile;
  /** The controllers to run (already filtered by `--controllers`), in start order. */
  controllers: readonly ControllerDescriptor[];
  leaderElect: boolean;
  /** Lease holder identity (`<name>_<uuid>`, as upstream's `<hostname>_<uuid>`). */
  identity: string;
  /** `reportingInstance` of Events. */
  instance: string;
  queueMetrics?: QueueMetricsHooks;
  /** Leadership was lost (not given up by `stop()`); the process exits, as upstream does. */
  onLostLeadership?: () => void;
  /** Called with true when this replica starts leading (or runs without election), false when it stops. */
  onLeadingChanged?: (leading: boolean) => void;
}

export interface ControllerManager {
  /** True while controllers run (this replica leads, or runs without election). */
  isLeading(): boolean;
  /** The names of the controllers that were started. */
  readonly started: readonly string[];
  /** Stops controllers and informers and, when leading, hands the lease back. */
  stop(): Promise<void>;
}

/**
 * kube-controller-manager's core: one informer factory and one API client shared by every
 * controller, started only while this replica holds Lease kube-system/kube-controller-manager
 * (or at once with `leaderElect: false`). Controllers register informers and workers first; the
 * factory starts after all of them, so every controller sees the same initial list.
 */
export function startControllerManager(opts: ControllerManagerOptions): ControllerManager {
  const { log, runtime } = opts;
  let factory: SharedInformerFactory | null = null;
  let running: { name: string; ctl: RunningController }[] = [];
  const started: string[] = [];
  let leading = false;
  let stopping = false;
  const recorders = new Map<string, EventRecorder>();

  const recorder = (component: string): EventRecorder => {
    let r = recorders.get(component);
    if (!r) {
      r = new EventRecorder({
        events: opts.api.resource('events'),
        component,
        instance: opts.instance,
        runtime,
        log,
      });
      recorders.set(component, r);
    }
    return r;
  };

  const startControllers = (): void => {
    factory = new SharedInformerFactory({ api: opts.api, runtime, random: opts.random.fork(), log });
    const ctx: ControllerContext = {
      api: opts.api,
      informers: factory,
      runtime,
      random: opts.random,
      log,
      recorder,
      profile: opts.profile,
      ...(opts.queueMetrics ? { queueMetrics: opts.queueMetrics } : {}),
    };
    for (const d of opts.controllers) {
      try {
        running.push({ name: d.name, ctl: d.start({ ...ctx, log: log.child({ controller: d.name }) }) });
        started.push(d.name);
        log.info({ controller: d.name }, 'started controller');
      } catch (err) {
        // Upstream treats a controller that fails to start as fatal; one bad controller should not
        // take the rest of the cluster's reconciliation with it here, so it is logged and skipped.
        log.error({ err, controller: d.name }, 'controller failed to start; skipping it');
      }
    }
    factory.start();
    leading = true;
    opts.onLeadingChanged?.(true);
  };

  const stopControllers = async (): Promise<void> => {
    const toStop = running;
    running = [];
    await Promise.all(
      toStop.map(async ({ name, ctl }) => {
        try {
          await ctl.stop();
        } catch (err) {
          log.warn({ err, controller: name }, 'controller stop failed');
        }
      }),
    );
    factory?.stop();
    factory = null;
    if (leading) {
      leading = false;
      opts.onLeadingChanged?.(false);
    }
  };

  let elector: LeaderElector | null = null;
  if (opts.leaderElect) {
    const le = opts.profile.leaderElection;
    elector = new LeaderElector({
      leases: opts.api.resource<Lease>('leases.coordination.k8s.io'),
      namespace: LEASE_NAMESPACE,
      name: LEASE_NAME,
      identity: opts.identity,
      runtime,
      random: opts.random.fork(),
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      releaseOnCancel: true,
      log,
      callbacks: {
        onStartedLeading: () => {
          log.info({ identity: opts.identity }, 'became leader; starting controllers');
          startControllers();
        },
        onStoppedLeading: () => {
          if (stopping) return;
          log.error({ identity: opts.identity }, 'leaderelection lost');
          leading = false;
          opts.onLeadingChanged?.(false);
          opts.onLostLeadership?.();
          void stopControllers();
        },
        onNewLeader: (id) => {
          if (id !== opts.identity) log.info({ leader: id }, 'new leader elected');
        },
      },
    });
    void elector.run();
  } else {
    startControllers();
  }

  return {
    isLeading: () => leading,
    started,
    async stop() {
      stopping = true;
      await stopControllers();
      await elector?.stop();
    },
  };
}
