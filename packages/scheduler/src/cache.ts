// The scheduler's cache (upstream's internal/cache): one Snapshot kept up to date in place from the
// informers' events, plus the pods this scheduler has assumed onto nodes but whose binding the
// apiserver has not yet confirmed. Scheduling cycles read the Snapshot directly: JavaScript runs one
// cycle to completion before the next event is applied, so no copy per cycle is needed.
//
// Pods bound to a node the cache has not seen (yet, or any more) wait in `orphans` and join the node
// when it appears, as upstream keeps NodeInfos for pods whose node is unknown.
import type { Node, Pod } from '@kemu/api';
import { occupiesNode, podKeyOf, Snapshot } from './snapshot.js';

interface CachedPod {
  pod: Pod;
  node: string;
  /** Chosen by this scheduler; the apiserver has not (yet) shown it bound. */
  assumed: boolean;
}

export class SchedulerCache {
  readonly snapshot = new Snapshot([], []);
  private readonly pods = new Map<string, CachedPod>();
  private readonly orphans = new Map<string, Map<string, Pod>>();

  get nodeCount(): number {
    return this.snapshot.nodes.length;
  }

  /** Pods occupying a node in the cache (bound or assumed). */
  get podCount(): number {
    return this.pods.size;
  }

  get assumedCount(): number {
    let n = 0;
    for (const p of this.pods.values()) if (p.assumed) n++;
    return n;
  }

  /** Throws SchedulerInputError for a node whose allocatable cannot be parsed. */
  addOrUpdateNode(node: Node): void {
    const info = this.snapshot.addNode(node);
    const waiting = this.orphans.get(info.name);
    if (waiting === undefined) return;
    this.orphans.delete(info.name);
    for (const pod of waiting.values()) info.addPod(pod);
  }

  removeNode(name: string): void {
    for (const pod of this.snapshot.removeNode(name)) this.orphan(name, pod);
  }

  /**
   * A pod as the apiserver shows it. Bound, unfinished pods occupy their node (confirming an
   * assumption); anything else is removed from the cache.
   */
  addOrUpdatePod(pod: Pod): void {
    const key = podKeyOf(pod);
    if (!occupiesNode(pod)) {
      this.removePod(key);
      return;
    }
    const nodeName = pod.spec.nodeName as string;
    const cached = this.pods.get(key);
    if (cached !== undefined) this.detach(key, cached.node);
    this.pods.set(key, { pod, node: nodeName, assumed: false });
    this.attach(nodeName, pod);
  }

  removePod(key: string): void {
    const cached = this.pods.get(key);
    if (cached === undefined) return;
    this.pods.delete(key);
    this.detach(key, cached.node);
  }

  /** Records this scheduler's decision before the binding round-trips (upstream's AssumePod). */
  assume(pod: Pod, nodeName: string): Pod {
    const key = podKeyOf(pod);
    const bound: Pod = { ...pod, spec: { ...pod.spec, nodeName } };
    const cached = this.pods.get(key);
    if (cached !== undefined) this.detach(key, cached.node);
    this.pods.set(key, { pod: bound, node: nodeName, assumed: true });
    this.attach(nodeName, bound);
    return bound;
  }

  /** The binding failed: the pod no longer occupies the chosen node (only if still assumed). */
  forget(key: string): boolean {
    const cached = this.pods.get(key);
    if (cached === undefined || !cached.assumed) return false;
    this.removePod(key);
    return true;
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed === true;
  }

  /** The node a pod occupies in the cache (assumed or bound). */
  nodeOf(key: string): string | undefined {
    return this.pods.get(key)?.node;
  }

  private attach(nodeName: string, pod: Pod): void {
    const info = this.snapshot.get(nodeName);
    if (info !== undefined) info.addPod(pod);
    else this.orphan(nodeName, pod);
  }

  private detach(key: string, nodeName: string): void {
    if (this.snapshot.get(nodeName)?.removePod(key)) return;
    const waiting = this.orphans.get(nodeName);
    if (waiting === undefined) return;
    waiting.delete(key);
    if (waiting.size === 0) this.orphans.delete(nodeName);
  }

  private orphan(nodeName: string, pod: Pod): void {
    let waiting = this.orphans.get(nodeName);
    if (waiting === undefined) {
      waiting = new Map();
      this.orphans.set(nodeName, waiting);
    }
    waiting.set(podKeyOf(pod), pod);
  }
}
