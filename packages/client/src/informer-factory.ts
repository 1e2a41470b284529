// One informer per resource (and selector) per process, shared by every controller that asks, like
// client-go's SharedInformerFactory: the controller-manager's 20-odd controllers then cost one list
// and one watch per resource, not one each.
import { findResource, type KubeObject, qualifiedResource } from '@kemu/api';
import type { Logger, Random, Runtime } from '@kemu/runtime';
import { ClientConfigError } from './errors.js';
import { type InformerOptions, SharedIndexInformer, waitForCacheSync } from './informer.js';
import type { ApiClient, ListOptions } from './interfaces.js';

export interface InformerFactoryOptions {
  api: ApiClient;
  runtime: Runtime;
  random: Random;
  log?: Logger;
  /** Default resync for informers made here (0/absent: none). */
  resyncPeriodMs?: number;
  /** Restricts every informer to one namespace (absent: all). */
  namespace?: string;
}

export class SharedInformerFactory {
  private readonly informers = new Map<string, SharedIndexInformer<KubeObject>>();
  private started = false;

  constructor(private readonly opts: InformerFactoryOptions) {}

  /**
   * The informer for `resource` (plural, `deployments.apps`, short name), created on first use.
   * Informers asked for after `start()` are started at once.
   */
  forResource<T extends KubeObject = KubeObject>(
    resource: string,
    extra: Pick<ListOptions, 'labelSelector' | 'fieldSelector'> & Pick<InformerOptions<T>, 'indexers'> = {},
  ): SharedIndexInformer<T> {
    const def = findResource(resource);
    if (!def) throw new ClientConfigError(`unknown resource "${resource}"`);
    const id = `${qualifiedResource(def)}?${extra.labelSelector ?? ''}&${extra.fieldSelector ?? ''}`;
    const existing = this.informers.get(id) as SharedIndexInformer<T> | undefined;
    if (existing) {
      if (extra.indexers) {
        for (const [name, fn] of Object.entries(extra.indexers)) {
          // Indexes with the same name are assumed to be the same index (client-go refuses conflicts too).
          try {
            existing.addIndexers({ [name]: fn });
          } catch {
            // already present
          }
        }
      }
      return existing;
    }
    const selector: Pick<ListOptions, 'namespace' | 'labelSelector' | 'fieldSelector'> = {};
    if (this.opts.namespace !== undefined && def.namespaced) selector.namespace = this.opts.namespace;
    if (extra.labelSelector !== undefined) selector.labelSelector = extra.labelSelector;
    if (extra.fieldSelector !== undefined) selector.fieldSelector = extra.fieldSelector;
    const informerOpts: InformerOptions<T> = {
      listWatcher: this.opts.api.resource<T>(resource),
      runtime: this.opts.runtime,
      random: this.opts.random.fork(),
      selector,
      name: id,
    };
    if (this.opts.log) informerOpts.log = this.opts.log;
    if (this.opts.resyncPeriodMs !== undefined) informerOpts.resyncPeriodMs = this.opts.resyncPeriodMs;
    if (extra.indexers) informerOpts.indexers = extra.indexers;
    const informer = new SharedIndexInformer<T>(informerOpts);
    this.informers.set(id, informer as unknown as SharedIndexInformer<KubeObject>);
    if (this.started) informer.start();
    return informer;
  }

  /** Starts every informer made so far (and any made later). */
  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) if (!inf.hasStarted) inf.start();
  }

  waitForCacheSync(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    return waitForCacheSync([...this.informers.values()], { runtime: this.opts.runtime, ...opts });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
