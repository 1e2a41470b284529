// Unit-test harness: one FakeApi, a ManualRuntime and a ControllerContext, as the process builds them.
import { formatTime, type KubeObject, type Pod, TIMING_PROFILES } from '@kemu/api';
import { type ApiClient, EventRecorder, FakeApi, SharedInformerFactory } from '@kemu/client';
import { ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import type { ControllerContext, RunningController } from '../../src/context.js';

export async function flush(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class Harness {
  readonly rt = new ManualRuntime(Date.parse('2026-11-22T08:00:00Z'));
  readonly api = new FakeApi({ clock: this.rt, defaultAndValidate: true });
  readonly random = new SeededRandom(7);
  readonly factory: SharedInformerFactory;
  readonly ctx: ControllerContext;
  private readonly running: RunningController[] = [];

  /** `informerApi` lets a test give the informers a different view of the API (e.g. a lagging watch). */
  constructor(opts: { informerApi?: (api: FakeApi) => ApiClient } = {}) {
    this.factory = new SharedInformerFactory({
      api: opts.informerApi ? opts.informerApi(this.api) : this.api,
      runtime: this.rt,
      random: this.random.fork(),
    });
    const recorders = new Map<string, EventRecorder>();
    this.ctx = {
      api: this.api,
      informers: this.factory,
      runtime: this.rt,
      random: this.random,
      log: silentLogger(),
      profile: TIMING_PROFILES.fast,
      recorder: (component) => {
        let r = recorders.get(component);
        if (!r) {
          r = new EventRecorder({ events: this.api.resource('events'), component, runtime: this.rt });
          recorders.set(component, r);
        }
        return r;
      },
    };
  }

  start(...ctls: RunningController[]): void {
    this.running.push(...ctls);
    this.factory.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.map((c) => c.stop()));
    this.factory.stop();
  }

  /** Lets the informers, queues and reconciles run until nothing changes, advancing time in steps. */
  async settle(ms = 0, stepMs = 100): Promise<void> {
    await flush(20);
    for (let left = ms; left > 0; left -= stepMs) {
      this.rt.advance(Math.min(stepMs, left));
      await flush(20);
    }
    // a few extra turns with tiny advances so rate-limited retries (ms) and addAfter(0) fire
    for (let i = 0; i < 5; i++) {
      this.rt.advance(10);
      await flush(20);
    }
  }

  objects<T extends KubeObject>(resource: string): T[] {
    return this.api.objects(resource) as T[];
  }

  pods(ns = 'default'): Pod[] {
    return this.objects<Pod>('pods').filter((p) => p.metadata.namespace === ns);
  }

  events(): { reason: string; message: string; name: string }[] {
    return this.objects<KubeObject & { reason: string; message: string; involvedObject: { name: string } }>(
      'events',
    ).map((e) => ({
      reason: e.reason,
      message: e.message,
      name: e.involvedObject.name,
    }));
  }

  /** What a kubelet would do: the pod runs on `node` and is Ready (or Succeeded/Failed). */
  async setPodPhase(
    pod: Pod,
    phase: 'Running' | 'Succeeded' | 'Failed',
    ready = phase === 'Running',
    node = 'n1',
  ): Promise<Pod> {
    const pods = this.api.resource<Pod>('pods', { namespace: pod.metadata.namespace ?? 'default' });
    let updated = await pods.get(pod.metadata.name ?? '');
    const now = formatTime(this.rt.now());
    if (!updated.spec.nodeName) {
      await pods.bind({
        metadata: { name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? 'default' },
        target: { kind: 'Node', name: node },
      });
      updated = await pods.get(pod.metadata.name ?? '');
    }
    updated.status = {
      ...(updated.status ?? {}),
      phase,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
      ],
      startTime: now,
    };
    return pods.updateStatus(updated);
  }

  async readyAll(ns = 'default', filter: (p: Pod) => boolean = () => true): Promise<void> {
    for (const p of this.pods(ns)) {
      if (p.metadata.deletionTimestamp || !filter(p)) continue;
      const ready = (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      if (!ready) await this.setPodPhase(p, 'Running');
    }
  }
}
