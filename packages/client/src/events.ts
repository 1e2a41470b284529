// Recording core/v1 Events like client-go's record.EventRecorder + EventCorrelator: the same
// (object, type, reason, message, component) repeated within the cache's life becomes one Event
// whose `count` and `lastTimestamp` grow, instead of a new object per occurrence; and once one
// object has had 10 different messages for the same reason within 10 minutes, further ones are
// folded into a single "(combined from similar events): ..." Event (client-go's EventAggregator).
import { type Event, formatTime, type KubeObject, type ObjectReference } from '@kemu/api';
import { type Logger, type Runtime, silentLogger } from '@kemu/runtime';
import { isNotFound } from './errors.js';
import type { ResourceClient } from './interfaces.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** A cluster-wide events client (namespace taken from each involved object). */
  events: ResourceClient<Event>;
  /** `source.component` and `reportingComponent`, e.g. `default-scheduler`, `kubelet`. */
  component: string;
  /** `source.host` (kubelets set their node name). */
  host?: string;
  /** `reportingInstance`, e.g. the pod or node name of this process. */
  instance?: string;
  runtime: Runtime;
  log?: Logger;
  /** Distinct events remembered for aggregation (default 4096, least recently used evicted). */
  cacheSize?: number;
  /** Distinct messages per (object, type, reason) before they are combined (default 10). */
  maxSimilarEvents?: number;
  /** Window for counting similar messages (default 600 s). */
  similarWindowMs?: number;
}

interface Similar {
  messages: Set<string>;
  lastMs: number;
}

export const COMBINED_EVENT_PREFIX = '(combined from similar events): ';

interface Aggregate {
  name: string;
  namespace: string;
  count: number;
}

export class EventRecorder {
  private readonly cache = new Map<string, Aggregate>();
  /** Writes for one aggregation key run one after another so a burst makes one Event, not several. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly similar = new Map<string, Similar>();
  private readonly log: Logger;
  private seq = 0;

  constructor(private readonly opts: EventRecorderOptions) {
    this.log = (opts.log ?? silentLogger()).child({ recorder: opts.component });
  }

  /**
   * Records an event about `obj`. Never throws: events are best effort, like upstream's. The promise
   * settles when the write is done (tests await it; controllers need not).
   */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const ref = referenceTo(obj);
    const similarKey = JSON.stringify([
      ref.apiVersion,
      ref.kind,
      ref.namespace,
      ref.name,
      ref.uid,
      type,
      reason,
      this.opts.component,
      this.opts.host,
    ]);
    let key = JSON.stringify([similarKey, message]);
    let text = message;
    if (this.isAggregated(similarKey, key)) {
      key = similarKey;
      text = `${COMBINED_EVENT_PREFIX}${message}`;
    }
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev
      .then(() => this.write(key, ref, type, reason, text))
      .catch((err: unknown) => {
        this.log.warn({ err, reason }, 'could not record event');
      });
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  /** Counts distinct messages for (object, type, reason); true once there are too many to keep apart. */
  private isAggregated(similarKey: string, key: string): boolean {
    const now = this.opts.runtime.now();
    let rec = this.similar.get(similarKey);
    if (!rec || now - rec.lastMs > (this.opts.similarWindowMs ?? 600_000)) {
      rec = { messages: new Set(), lastMs: now };
      this.similar.set(similarKey, rec);
    }
    rec.lastMs = now;
    rec.messages.add(key);
    this.similar.delete(similarKey);
    this.similar.set(similarKey, rec);
    while (this.similar.size > (this.opts.cacheSize ?? 4096)) {
      const oldest = this.similar.keys().next().value;
      if (oldest === undefined) break;
      this.similar.delete(oldest);
    }
    return rec.messages.size >= (this.opts.maxSimilarEvents ?? 10);
  }

  private async write(
    key: string,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const now = this.opts.runtime.now();
    const seen = this.cache.get(key);
    if (seen) {
      this.cache.delete(key);
      this.cache.set(key, seen); // most recently used
      try {
        await this.opts.events.patch(
          seen.name,
          'merge',
          { count: seen.count + 1, lastTimestamp: formatTime(now), message },
          { namespace: seen.namespace },
        );
        seen.count++;
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.cache.delete(key); // the Event expired or was deleted: start a new one
      }
    }
    const namespace = ref.namespace || 'default';
    // client-go names events <object>.<unix nanoseconds in hex>; a sequence keeps same-ms names apart.
    const name = `${ref.name ?? 'unknown'}.${(BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: formatTime(now),
      lastTimestamp: formatTime(now),
      eventTime: null,
      source:
        this.opts.host === undefined
          ? { component: this.opts.component }
          : { component: this.opts.component, host: this.opts.host },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.instance ?? this.opts.host ?? '',
    };
    await this.opts.events.create(ev);
    this.cache.set(key, { name, namespace, count: 1 });
    const limit = this.opts.cacheSize ?? 4096;
    while (this.cache.size > limit) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }
}

/** An ObjectReference to `obj` (kind/apiVersion as stored, so objects from an informer work). */
export function referenceTo(obj: KubeObject): ObjectReference {
  const ref: ObjectReference = {};
  if (obj.kind !== undefined) ref.kind = obj.kind;
  if (obj.metadata.namespace !== undefined) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.name !== undefined) ref.name = obj.metadata.name;
  if (obj.metadata.uid !== undefined) ref.uid = obj.metadata.uid;
  if (obj.apiVersion !== undefined) ref.apiVersion = obj.apiVersion;
  if (obj.metadata.resourceVersion !== undefined) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}
