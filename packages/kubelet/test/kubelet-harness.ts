// A Kubelet on FakeApi + SimRuntime + ManualRuntime for unit tests: time moves only when told,
// so back-off and probe timing are exact.
import type { Node, Pod, Service } from '@kemu/api';
import { TIMING_PROFILES } from '@kemu/api';
import { FakeApi, SharedIndexInformer } from '@kemu/client';
import { ManualRuntime, SeededRandom, silentLogger } from '@kemu/runtime';
import type { KubeletConfig } from '../src/config.js';
import { Kubelet, type KubeletOptions } from '../src/kubelet.js';
import { PodInformerHub } from '../src/pod-informer.js';
import { SimRuntime } from '../src/runtime/sim-runtime.js';
import type { ContainerRuntime } from '../src/runtime/types.js';

export const T0 = Date.parse('2026-11-22T08:00:00Z');

export function testConfig(over: Partial<KubeletConfig> = {}): KubeletConfig {
  return {
    apiservers: ['ws://127.0.0.1:1'],
    nodeName: 'n1',
    runtimeKind: 'sim',
    rootDir: '/tmp/kemu-kubelet-unit',
    nodeIP: '127.0.0.1',
    port: 10250,
    adminPort: 0,
    podCidr: '127.9.0.0/24',
    registerWithTaints: [],
    nodeLabels: {},
    staticPodDir: undefined,
    profile: TIMING_PROFILES.fast,
    simNodes: 1,
    simNodePrefix: 'sim-',
    ...over,
  };
}

export interface Harness {
  clock: ManualRuntime;
  api: FakeApi;
  rt: ContainerRuntime;
  kubelet: Kubelet;
  /** Advance time in small steps, letting promises settle between them. */
  step(ms: number, stepMs?: number): Promise<void>;
  flush(): Promise<void>;
  createPod(pod: Partial<Pod> & { spec: Pod['spec'] }, name?: string): Promise<Pod>;
  pod(name: string): Pod | undefined;
  node(): Node | undefined;
  events(name?: string): { reason: string; message: string; type: string; count: number }[];
  stop(): Promise<void>;
}

export async function flushPromises(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export async function startHarness(
  opts: {
    config?: Partial<KubeletConfig>;
    runtime?: (clock: ManualRuntime) => ContainerRuntime;
    kubelet?: Partial<KubeletOptions>;
  } = {},
): Promise<Harness> {
  const clock = new ManualRuntime(T0);
  const api = new FakeApi({ clock });
  const random = new SeededRandom(7);
  const log = silentLogger();
  const config = testConfig(opts.config);
  const podHub = new PodInformerHub({ api, runtime: clock, random: random.fork(), log, nodeName: config.nodeName });
  const services = new SharedIndexInformer<Service>({
    listWatcher: api.resource<Service>('services'),
    runtime: clock,
    random: random.fork(),
    log,
  });
  const rt =
    opts.runtime?.(clock) ??
    new SimRuntime({
      runtime: clock,
      logger: log,
      stateDir: '/tmp/kemu-sim-unit',
      random: random.fork(),
      podCidr: config.podCidr,
    });
  const kubelet = new Kubelet({
    config,
    api,
    podHub,
    services,
    containerRuntime: rt,
    runtime: clock,
    random: random.fork(),
    log,
    ...opts.kubelet,
  });
  podHub.start();
  services.start();
  kubelet.start();
  const flush = () => flushPromises();
  // Let the first timers (node registration) fire, so pods created by a test start at once.
  clock.advance(0);
  await flush();
  const h: Harness = {
    clock,
    api,
    rt,
    kubelet,
    flush,
    async step(ms, stepMs = 50) {
      for (let t = 0; t < ms; t += stepMs) {
        clock.advance(Math.min(stepMs, ms - t));
        await flush();
      }
    },
    async createPod(p, name = 'p1') {
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        ...p,
        metadata: { name, namespace: 'default', ...(p.metadata ?? {}) },
        spec: { nodeName: config.nodeName, ...p.spec },
        status: { phase: 'Pending' },
      };
      const created = await api.resource<Pod>('pods').create(pod);
      await flush();
      return created;
    },
    pod: (name) => api.objects('pods').find((o) => o.metadata.name === name) as Pod | undefined,
    node: () => api.objects('nodes').find((o) => o.metadata.name === config.nodeName) as Node | undefined,
    events: (name) =>
      (
        api.objects('events') as unknown as {
          involvedObject: { name?: string };
          reason: string;
          message: string;
          type: string;
          count: number;
        }[]
      )
        .filter((e) => name === undefined || e.involvedObject.name === name)
        .map((e) => ({ reason: e.reason, message: e.message, type: e.type, count: e.count })),
    async stop() {
      kubelet.stop();
      podHub.stop();
      services.stop();
      await rt.close();
    },
  };
  return h;
}
