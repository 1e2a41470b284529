// The kubelet's static pods, assembled: the manifest directory (re-read on change: fs.watch plus a
// poll), the mirror pods in the API, and the status of external (pid-file) pods. The sync loop runs
// the other static pods through `pods()`/`onChange()`, like pods from the API.
import fs from 'node:fs';
import type { Container, Node, Pod, PodStatus } from '@kemu/api';
import type { ResourceClient } from '@kemu/client';
import type { Logger, Runtime, TimerHandle } from '@kemu/runtime';
import { externalPodStatus, observeProcess, type ProcessObservation, pidFileOf, probeReadiness } from './external.js';
import { isExternalStaticPod } from './manifest.js';
import { MirrorPodManager, type MirrorSyncResult } from './mirror.js';
import { StaticPodSource } from './source.js';

export interface StaticPodsOptions {
  /** `--static-pod-dir`. */
  dir: string;
  nodeName: string;
  /** `--node-ip`: pod IP and host IP of external pods (they run on the host network). */
  nodeIP: string;
  pods: ResourceClient<Pod>;
  nodes: ResourceClient<Node>;
  runtime: Runtime;
  log: Logger;
  /** How often the directory is re-read even without a change event (default 2000 ms). */
  pollIntervalMs?: number;
  /** How often mirror pods and external pod status are reconciled (default 1000 ms). */
  syncIntervalMs?: number;
  /** Injectable for tests: reads a pid file and checks its process. */
  observe?: (pidFile: string) => ProcessObservation;
  /** Injectable for tests: one readiness probe of an external pod's container. */
  probe?: (container: Container, nodeIP: string) => Promise<boolean>;
}

/** Readiness of one external container: consecutive results against the probe's thresholds. */
interface ProbeState {
  ready: boolean;
  failures: number;
  successes: number;
}

/** One pod of this source as the kubelet's pod-source hook takes it (`external`: mirrored only). */
export interface StaticSourcedPod {
  pod: Pod;
  external?: boolean;
}

/**
 * The kubelet's `file` pod source (its PodSource hook: `start(update)`, `stop()`, `onStatus`). The
 * kubelet runs the non-external pods and hands their status back through `onStatus`; this class writes
 * it to the mirror pods, and computes the status of external pods itself.
 */
export class StaticPods {
  readonly name = 'file';
  readonly source: StaticPodSource;
  readonly mirrors: MirrorPodManager;
  private readonly listeners = new Set<() => void>();
  private timer: TimerHandle | undefined;
  private watcher: fs.FSWatcher | undefined;
  private lastRead = Number.NEGATIVE_INFINITY;
  private readRequested = false;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly pollIntervalMs: number;
  private readonly syncIntervalMs: number;
  private readonly observe: (pidFile: string) => ProcessObservation;
  private readonly probe: (container: Container, nodeIP: string) => Promise<boolean>;
  /** `ns/name/container` → readiness probe state of external pods. */
  private readonly probes = new Map<string, ProbeState>();
  /** Latest status computed for each external pod, by `ns/name` (served by the kubelet's /pods). */
  private readonly externalStatus = new Map<string, PodStatus>();
  /** Latest status the kubelet computed for each run static pod, by `ns/name`. */
  private readonly runStatus = new Map<string, PodStatus>();

  constructor(private readonly opts: StaticPodsOptions) {
    this.source = new StaticPodSource({ dir: opts.dir, nodeName: opts.nodeName, clock: opts.runtime, log: opts.log });
    this.mirrors = new MirrorPodManager({ nodeName: opts.nodeName, pods: opts.pods, nodes: opts.nodes, log: opts.log });
    this.pollIntervalMs = opts.pollIntervalMs ?? 2000;
    this.syncIntervalMs = opts.syncIntervalMs ?? 1000;
    this.observe = opts.observe ?? ((file) => observeProcess(file));
    this.probe = opts.probe ?? probeReadiness;
  }

  /** Static pods the sync loop runs (every static pod except the external ones). */
  pods(): Pod[] {
    return this.source.pods().filter((p) => !isExternalStaticPod(p));
  }

  /** External pods with the status this kubelet reports for them. */
  externalPods(): Pod[] {
    return this.source
      .pods()
      .filter(isExternalStaticPod)
      .map((p) => {
        const status = this.externalStatus.get(`${p.metadata.namespace}/${p.metadata.name}`);
        return status === undefined ? p : { ...p, status };
      });
  }

  /** Every static pod, external ones marked, for the kubelet's pod-source hook. */
  sourcedPods(): StaticSourcedPod[] {
    return this.source.pods().map((pod) => ({ pod, external: isExternalStaticPod(pod) }));
  }

  /** Called (synchronously) whenever the set of static pods changes. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The kubelet computed a new status for one of the static pods it runs: goes to its mirror pod. */
  onStatus(pod: Pod, status: PodStatus): void {
    this.runStatus.set(`${pod.metadata.namespace}/${pod.metadata.name}`, status);
    this.kick();
  }

  /**
   * Reads the directory, starts watching it and the periodic reconcile. With `update` (the kubelet's
   * pod-source hook), the full set of pods is handed over now and after every change.
   */
  start(update?: (pods: StaticSourcedPod[]) => void): void {
    if (update !== undefined) this.onChange(() => update(this.sourcedPods()));
    if (!this.stopped) return;
    this.stopped = false;
    try {
      fs.mkdirSync(this.opts.dir, { recursive: true });
      this.watcher = fs.watch(this.opts.dir, () => {
        this.readRequested = true;
        this.kick();
      });
      this.watcher.on('error', () => {
        // The poll still notices changes.
      });
    } catch (err) {
      this.opts.log.warn({ err, dir: this.opts.dir }, 'cannot watch the static pod directory; polling only');
    }
    this.readNow();
    this.timer = this.opts.runtime.setInterval(() => this.kick(), this.syncIntervalMs);
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Runs one reconcile now (or waits for the one in flight); for tests and shutdown. */
  async syncNow(): Promise<MirrorSyncResult | undefined> {
    await this.running;
    this.readRequested = true;
    return this.pass();
  }

  private kick(): void {
    if (this.stopped || this.running !== undefined) return;
    this.running = this.pass()
      .then(() => undefined)
      .catch((err: unknown) => this.opts.log.warn({ err }, 'static pod sync failed; retrying'))
      .finally(() => {
        this.running = undefined;
      });
  }

  private readNow(): void {
    this.lastRead = this.opts.runtime.monotonic();
    this.readRequested = false;
    if (this.source.read()) for (const fn of [...this.listeners]) fn();
  }

  private async pass(): Promise<MirrorSyncResult | undefined> {
    if (this.readRequested || this.opts.runtime.monotonic() - this.lastRead >= this.pollIntervalMs) this.readNow();
    if (!this.source.hasLoaded) return undefined;
    // Observe and probe the external pods first (the probes are network calls), then reconcile.
    const observed = new Map<string, { seen: ProcessObservation; ready: (c: string) => boolean }>();
    const live = new Set<string>();
    for (const pod of this.source.pods().filter(isExternalStaticPod)) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      const seen = this.observe(pidFileOf(pod));
      await Promise.all(
        pod.spec.containers.map(async (c) => {
          const k = `${key}/${c.name}`;
          live.add(k);
          const state = this.probes.get(k) ?? { ready: false, failures: 0, successes: 0 };
          this.probes.set(k, state);
          if (!seen.alive) {
            // A new process starts unready until its probe passes, as a new container does.
            Object.assign(state, { ready: false, failures: 0, successes: 0 });
            return;
          }
          if (c.readinessProbe === undefined) {
            state.ready = true;
            return;
          }
          const ok = await this.probe(c, this.opts.nodeIP);
          if (ok) {
            state.successes += 1;
            state.failures = 0;
            if (state.successes >= (c.readinessProbe.successThreshold ?? 1)) state.ready = true;
          } else {
            state.failures += 1;
            state.successes = 0;
            if (state.failures >= (c.readinessProbe.failureThreshold ?? 3)) state.ready = false;
          }
        }),
      );
      observed.set(key, { seen, ready: (c) => this.probes.get(`${key}/${c}`)?.ready ?? false });
    }
    for (const k of [...this.probes.keys()]) if (!live.has(k)) this.probes.delete(k);
    const now = this.opts.runtime.now();
    return this.mirrors.sync(this.source.pods(), (pod, mirror) => {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (!isExternalStaticPod(pod)) return this.runStatus.get(key);
      const o = observed.get(key);
      if (o === undefined) return undefined;
      const status = externalPodStatus(pod, o.seen, {
        nodeIP: this.opts.nodeIP,
        now,
        ready: o.ready,
        ...(mirror?.status !== undefined ? { previous: mirror.status } : {}),
      });
      this.externalStatus.set(key, status);
      return status;
    });
  }
}
