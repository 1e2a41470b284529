// The kubelet's static pods, assembled: the manifest directory (re-read on change: fs.watch plus a
// poll), the mirror pods in the API, and the status of external (pid-file) pods. The sync loop runs
// the other static pods through `pods()`/`onChange()`, like pods from the API.
import fs from 'node:fs';
import type { Node, Pod, PodStatus } from '@kemu/api';
import type { ResourceClient } from '@kemu/client';
import type { Logger, Runtime, TimerHandle } from '@kemu/runtime';
import { externalPodStatus, observeProcess, type ProcessObservation, pidFileOf } from './external.js';
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
}

export class StaticPods {
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
  /** Latest status computed for each external pod, by `ns/name` (served by the kubelet's /pods). */
  private readonly externalStatus = new Map<string, PodStatus>();

  constructor(private readonly opts: StaticPodsOptions) {
    this.source = new StaticPodSource({ dir: opts.dir, nodeName: opts.nodeName, clock: opts.runtime, log: opts.log });
    this.mirrors = new MirrorPodManager({ nodeName: opts.nodeName, pods: opts.pods, nodes: opts.nodes, log: opts.log });
    this.pollIntervalMs = opts.pollIntervalMs ?? 2000;
    this.syncIntervalMs = opts.syncIntervalMs ?? 1000;
    this.observe = opts.observe ?? ((file) => observeProcess(file));
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

  /** Called (synchronously) whenever the set of static pods changes. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reads the directory, starts watching it and the periodic reconcile. */
  start(): void {
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
    const now = this.opts.runtime.now();
    return this.mirrors.sync(this.source.pods(), (pod, mirror) => {
      if (!isExternalStaticPod(pod)) return undefined;
      const status = externalPodStatus(pod, this.observe(pidFileOf(pod)), {
        nodeIP: this.opts.nodeIP,
        now,
        ...(mirror?.status !== undefined ? { previous: mirror.status } : {}),
      });
      this.externalStatus.set(`${pod.metadata.namespace}/${pod.metadata.name}`, status);
      return status;
    });
  }
}
