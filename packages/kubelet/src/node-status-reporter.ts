// Registers the Node and posts its status: every `updateFrequencyMs` the status is computed and
// posted when it changed, when `reportFrequencyMs` passed since the last post, or at once when
// readiness flips (`poke()`). A Node deleted under the kubelet is registered again, as upstream's
// kubelet does on its next status update.
import type { Node } from '@kemu/api';
import { isAlreadyExists, isNotFound, type ResourceClient } from '@kemu/client';
import type { Logger, Random, Runtime, TimerHandle } from '@kemu/runtime';
import {
  initialNode,
  type NodeIdentity,
  nodeLabels,
  nodeStatus,
  type Readiness,
  readinessOf,
  nodeStatusFingerprint as statusFingerprint,
} from './node-status.js';
import type { ContainerRuntime, ImageInfo } from './runtime/types.js';

export interface NodeStatusReporterOptions {
  nodes: ResourceClient<Node>;
  identity: () => NodeIdentity;
  containerRuntime: ContainerRuntime;
  updateFrequencyMs: number;
  /** Post even an unchanged status this often (the heartbeat in Ready's lastHeartbeatTime). */
  reportFrequencyMs: number;
  runtime: Runtime;
  random: Random;
  log: Logger;
  jitterStart?: boolean;
  /** Called with the Node after every successful registration or post. */
  onNode?: (node: Node) => void;
}

export class NodeStatusReporter {
  private node: Node | undefined;
  private registered = false;
  private timer: TimerHandle | undefined;
  private running = false;
  private frozen = false;
  private busy = false;
  private again = false;
  private lastPostMs = Number.NEGATIVE_INFINITY;
  private lastFingerprint = '';
  private lastReady: boolean | undefined;
  private images: ImageInfo[] = [];
  private failures = 0;
  private spread = false;
  /** Status writes that reached the apiserver. */
  posts = 0;

  constructor(private readonly o: NodeStatusReporterOptions) {}

  get current(): Node | undefined {
    return this.node;
  }

  get uid(): string | undefined {
    return this.node?.metadata.uid;
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Register at once (pods wait for the Node to exist); with many nodes only the later posts are
    // spread over the period (see tick).
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  freeze(): void {
    this.frozen = true;
  }

  resume(): void {
    this.frozen = false;
    this.poke();
  }

  /** Re-evaluate now (readiness may have changed). */
  poke(): void {
    if (!this.running) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    this.timer = this.o.runtime.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (!this.running) return;
    this.busy = true;
    try {
      if (!this.frozen) await this.sync();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.o.log.warn({ err: (err as Error).message }, 'failed to update node status');
    } finally {
      this.busy = false;
    }
    if (!this.running) return;
    if (this.again) {
      this.again = false;
      this.schedule(0);
      return;
    }
    const base =
      this.failures > 0 ? Math.min(this.o.updateFrequencyMs, 200 * 2 ** (this.failures - 1)) : this.o.updateFrequencyMs;
    let delay = base + Math.floor(base * 0.04 * this.o.random.next());
    if (this.o.jitterStart && !this.spread) {
      this.spread = true;
      delay = base + this.o.random.int(0, base);
    }
    this.schedule(delay);
  }

  private readiness(): Readiness {
    return readinessOf(this.o.containerRuntime.status());
  }

  private async refreshImages(): Promise<void> {
    if (!this.o.containerRuntime.status().ready) return;
    try {
      this.images = await this.o.containerRuntime.listImages();
    } catch {
      // the runtime went down meanwhile: keep the last list
    }
  }

  /** One round: register if needed, then post the status if anything is due. */
  async sync(): Promise<void> {
    if (!this.registered) {
      await this.register();
      return;
    }
    await this.refreshImages();
    const r = this.readiness();
    const now = this.o.runtime.now();
    const status = nodeStatus(this.o.identity(), r, this.images, this.node?.status?.conditions, now);
    const fp = statusFingerprint(status);
    const due =
      fp !== this.lastFingerprint || r.ready !== this.lastReady || now - this.lastPostMs >= this.o.reportFrequencyMs;
    if (!due) return;
    try {
      this.node = await this.o.nodes.patch(this.o.identity().nodeName, 'merge', { status }, { subresource: 'status' });
    } catch (err) {
      if (isNotFound(err)) {
        this.o.log.warn('node object is gone; registering it again');
        this.registered = false;
        await this.register();
        return;
      }
      throw err;
    }
    this.posted(fp, r.ready, now);
  }

  private posted(fp: string, ready: boolean, now: number): void {
    this.posts++;
    this.lastFingerprint = fp;
    this.lastReady = ready;
    this.lastPostMs = now;
    if (this.node) this.o.onNode?.(this.node);
  }

  private async register(): Promise<void> {
    await this.refreshImages();
    const id = this.o.identity();
    const r = this.readiness();
    const now = this.o.runtime.now();
    const desired = initialNode(id, r, this.images, now);
    let fp = desired.status ? statusFingerprint(desired.status) : '';
    try {
      this.node = await this.o.nodes.create(desired);
      this.o.log.info('registered node');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Already there (a restarted kubelet): keep its spec (taints, unschedulable), refresh the labels
      // this kubelet owns and post a fresh status.
      const existing = await this.o.nodes.get(id.nodeName);
      const labels = { ...(existing.metadata.labels ?? {}), ...nodeLabels(id) };
      let node = existing;
      if (JSON.stringify(labels) !== JSON.stringify(existing.metadata.labels ?? {})) {
        node = await this.o.nodes.patch(id.nodeName, 'merge', { metadata: { labels } });
      }
      const status = nodeStatus(id, r, this.images, node.status?.conditions, now);
      fp = statusFingerprint(status);
      this.node = await this.o.nodes.patch(id.nodeName, 'merge', { status }, { subresource: 'status' });
      this.o.log.info('node already registered; status refreshed');
    }
    this.registered = true;
    this.posted(fp, r.ready, now);
  }
}
