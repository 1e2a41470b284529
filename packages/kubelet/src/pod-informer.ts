// One pod informer for every kubelet of the process, partitioned by spec.nodeName. A single kubelet
// watches only its own pods (fieldSelector spec.nodeName=<node>, as upstream); a process hosting
// many sim nodes watches all bound pods once and hands each event to the node it names, instead of
// opening one watch per node.
import type { Pod } from '@kemu/api';
import {
  type ApiClient,
  DeletedFinalStateUnknown,
  fieldIndexFunc,
  type ListWatcher,
  SharedIndexInformer,
} from '@kemu/client';
import type { Logger, Random, Runtime } from '@kemu/runtime';

export interface NodePodHandler {
  upsert(pod: Pod): void;
  remove(pod: Pod): void;
}

export interface PodInformerHubOptions {
  api: ApiClient;
  runtime: Runtime;
  random: Random;
  log: Logger;
  /** Only this node's pods (one kubelet); absent: every bound pod (many sim nodes). */
  nodeName?: string;
}

export const BY_NODE_INDEX = 'byNode';

function strip(pod: Pod): Pod {
  if (pod.metadata.managedFields === undefined) return pod;
  const { managedFields: _drop, ...metadata } = pod.metadata;
  return { ...pod, metadata };
}

/**
 * The pods resource without `metadata.managedFields` (client-go's informer TransformFunc idiom): the
 * kubelet never reads them and they can double a cached pod's size, which counts with 10,000 sim pods.
 */
export function withoutManagedFields(lw: ListWatcher<Pod>): ListWatcher<Pod> {
  return {
    async list(opts) {
      const r = await lw.list(opts);
      return { ...r, items: r.items.map(strip) };
    },
    watch(opts) {
      const inner = lw.watch(opts);
      return {
        cancel: () => inner.cancel(),
        get closed() {
          return inner.closed;
        },
        async *[Symbol.asyncIterator]() {
          for await (const ev of inner) {
            yield ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED'
              ? { type: ev.type, object: strip(ev.object) }
              : ev;
          }
        },
      };
    },
  };
}

export class PodInformerHub {
  readonly informer: SharedIndexInformer<Pod>;
  private readonly handlers = new Map<string, NodePodHandler>();

  constructor(o: PodInformerHubOptions) {
    this.informer = new SharedIndexInformer<Pod>({
      listWatcher: withoutManagedFields(o.api.resource<Pod>('pods')),
      runtime: o.runtime,
      random: o.random,
      log: o.log,
      name: 'pods',
      selector: { fieldSelector: o.nodeName !== undefined ? `spec.nodeName=${o.nodeName}` : 'spec.nodeName!=' },
      indexers: { [BY_NODE_INDEX]: fieldIndexFunc('spec.nodeName') },
      pageSize: 2000,
    });
    this.informer.addEventHandler({
      onAdd: (pod) => this.handlers.get(pod.spec.nodeName ?? '')?.upsert(pod),
      onUpdate: (_old, pod) => this.handlers.get(pod.spec.nodeName ?? '')?.upsert(pod),
      onDelete: (obj) => {
        const pod = obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
        this.handlers.get(pod.spec.nodeName ?? '')?.remove(pod);
      },
    });
  }

  /** Routes the pods bound to `nodeName` to `handler` (and replays those already cached). */
  subscribe(nodeName: string, handler: NodePodHandler): () => void {
    this.handlers.set(nodeName, handler);
    for (const pod of this.informer.store.byIndex(BY_NODE_INDEX, nodeName)) handler.upsert(pod);
    return () => {
      if (this.handlers.get(nodeName) === handler) this.handlers.delete(nodeName);
    };
  }

  get(namespace: string, name: string): Pod | undefined {
    return this.informer.get(namespace, name);
  }

  start(): void {
    if (!this.informer.hasStarted) this.informer.start();
  }

  stop(): void {
    this.informer.stop();
  }
}
