// The level-triggered controller loop: informers feed keys into a workqueue; N workers take keys
// and call reconcile(key), which reads the caches and converges the world. Failure → retry with
// the queue's rate limiter; success → forget the key's backoff; `requeueAfterMs` → come back later.
import type { KubeObject } from '@kemu/api';
import { type Logger, type Runtime, silentLogger } from '@kemu/runtime';
import { ClientConfigError } from './errors.js';
import { DeletedFinalStateUnknown, type EventHandler, waitForCacheSync } from './informer.js';
import { objectKey } from './interfaces.js';
import type { RateLimitingQueue } from './workqueue.js';

// biome-ignore lint/suspicious/noConfusingVoidType: reconcile may return nothing (the common case).
export type ReconcileResult = void | {
  requeueAfterMs?: number;
  /** Alias of requeueAfterMs (milliseconds), for code written after controller-runtime's RequeueAfter. */
  requeueAfter?: number;
};

export interface ControllerOptions {
  name: string;
  runtime: Runtime;
  /** Workers start only after all of these have synced. */
  informers: readonly { whenSynced(): Promise<void> }[];
  queue: RateLimitingQueue<string>;
  reconcile(key: string): Promise<ReconcileResult>;
  /** Concurrent workers (default 1); the queue guarantees one key is never reconciled twice at once. */
  workers?: number;
  /** Give up on a key after this many consecutive failures (default: never, like most controllers). */
  maxRetries?: number;
  log?: Logger;
}

export interface RunningController {
  /** Shuts the queue down and waits for in-flight reconciles to finish. */
  stop(): Promise<void>;
  /** Settles when every worker has exited. */
  readonly done: Promise<void>;
  readonly stats: { reconciles: number; failures: number; requeues: number; dropped: number };
}

export function runController(opts: ControllerOptions): RunningController {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new ClientConfigError('workers must be a positive integer');
  const log = (opts.log ?? silentLogger()).child({ controller: opts.name });
  const { queue } = opts;
  const stats = { reconciles: 0, failures: 0, requeues: 0, dropped: 0 };
  const stopping = new AbortController();

  const processOne = async (key: string): Promise<void> => {
    stats.reconciles++;
    try {
      const result = await opts.reconcile(key);
      queue.forget(key);
      const after = result?.requeueAfterMs ?? result?.requeueAfter;
      if (after !== undefined && after >= 0) {
        stats.requeues++;
        queue.addAfter(key, after);
      }
    } catch (err) {
      stats.failures++;
      if (opts.maxRetries !== undefined && queue.numRequeues(key) >= opts.maxRetries) {
        stats.dropped++;
        queue.forget(key);
        log.error({ err, key }, 'reconcile failed too often; dropping key');
        return;
      }
      log.warn({ err, key, retries: queue.numRequeues(key) }, 'reconcile failed; will retry');
      queue.addRateLimited(key);
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await processOne(key);
      } finally {
        queue.done(key);
      }
    }
  };

  const done = (async () => {
    const synced = await waitForCacheSync(opts.informers, { runtime: opts.runtime, signal: stopping.signal });
    if (!synced) return;
    log.info({ workers }, 'caches synced; starting workers');
    await Promise.all(Array.from({ length: workers }, () => worker()));
  })();

  return {
    stats,
    done,
    async stop() {
      stopping.abort();
      await queue.shutDownWithDrain();
      await done;
    },
  };
}

/** An informer handler that enqueues `namespace/name` for every add, update and delete. */
export function enqueueHandler<T extends KubeObject>(
  queue: RateLimitingQueue<string>,
  keyOf: (obj: T) => string | undefined = objectKey,
): EventHandler<T> {
  const add = (obj: T) => {
    const key = keyOf(obj);
    if (key !== undefined) queue.add(key);
  };
  return {
    onAdd: add,
    onUpdate: (_old, obj) => add(obj),
    onDelete: (obj) => add(obj instanceof DeletedFinalStateUnknown ? obj.obj : obj),
  };
}
