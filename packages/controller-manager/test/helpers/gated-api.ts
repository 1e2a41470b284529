// A slow cache on demand: an ApiClient whose watches of chosen resources hold their events while the
// gate is closed, so a controller's informer lags behind what the controller itself just wrote.
import type { KubeObject } from '@kemu/api';
import type { ApiClient, ResourceClient, WatchEvent, WatchOptions, WatchStream } from '@kemu/client';

export class Gate {
  private held = false;
  private waiters: (() => void)[] = [];
  close(): void {
    this.held = true;
  }
  open(): void {
    this.held = false;
    for (const w of this.waiters.splice(0)) w();
  }
  wait(): Promise<void> {
    return this.held ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }
}

class GatedStream<T> implements WatchStream<T> {
  constructor(
    private readonly inner: WatchStream<T>,
    private readonly gate: Gate,
  ) {}
  get closed(): boolean {
    return this.inner.closed;
  }
  cancel(): void {
    this.inner.cancel();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    for await (const ev of this.inner) {
      await this.gate.wait();
      yield ev;
    }
  }
}

export function gatedApi(inner: ApiClient, gated: readonly string[], gate: Gate): ApiClient {
  return {
    resource<T extends KubeObject = KubeObject>(resource: string, opts?: { namespace?: string }): ResourceClient<T> {
      const client = inner.resource<T>(resource, opts);
      if (!gated.includes(resource)) return client;
      return new Proxy(client, {
        get(target, prop) {
          if (prop === 'watch') return (o?: WatchOptions) => new GatedStream<T>(target.watch(o), gate);
          const v = Reflect.get(target, prop) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  };
}
