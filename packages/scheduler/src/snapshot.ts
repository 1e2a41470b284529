// The scheduler's view of the cluster for one scheduling cycle (upstream's cache snapshot of
// NodeInfos): each node with its allocatable, the summed requests of the pods bound to it, and the
// pods themselves (for inter-pod affinity and spreading). `assume` adds a just-chosen pod so the next
// decision sees it before the binding round-trips through the apiserver.
//
// A Snapshot can be built once from lists (tests, preemption's dry run) or kept up to date in place
// by the scheduler's cache (`addNode`/`updateNode`/`removeNode`, `addPod`/`removePod`): each cluster
// change then costs O(pods on one node), never a rebuild of the whole view per scheduling cycle.

import type { Node, Pod } from '@kemu/api';
import { controllerOf, isBeingDeleted, isPodTerminal } from '@kemu/api';
import { SchedulerInputError } from './errors.js';
import { PODS, podRequests, type Resources, resourceListToResources } from './resources.js';

/** `namespace/name`, the key pods are tracked by. */
export function podKeyOf(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}

export class NodeInfo {
  node: Node;
  readonly name: string;
  allocatable: Resources;
  /** Sum of the bound pods' requests (what NodeResourcesFit compares against allocatable). */
  readonly requested: Resources = new Map();
  /** Same with upstream's non-zero defaults for cpu/memory (what scoring uses). */
  readonly nonZeroRequested: Resources = new Map();
  readonly pods: Pod[] = [];
  /** The subset with any pod (anti-)affinity, which other pods' decisions must consult (upstream keeps it too). */
  readonly podsWithAffinity: Pod[] = [];
  /**
   * Pods not being deleted per controller (`namespace/controller uid`): what the system default
   * topology spreading counts, kept here so scoring a node is O(1), not O(pods on it).
   */
  readonly podsByController = new Map<string, number>();
  /** What each pod added (by pod key), so removing it subtracts exactly that. */
  private readonly added = new Map<string, { requests: Resources; nonZero: Resources; controller: string | null }>();

  /** `allocatable.pods`, read on every filter call, so kept as a plain number. */
  private allowed: number;

  /** `shared` counts pods with affinity across a whole Snapshot (so plugins can skip the walk when there are none). */
  constructor(
    node: Node,
    private readonly shared: { podsWithAffinity: number } = { podsWithAffinity: 0 },
  ) {
    this.node = node;
    this.name = node.metadata.name ?? '';
    this.allocatable = parseAllocatable(node);
    this.allowed = this.allocatable.get(PODS) ?? 0;
  }

  /** A newer version of the same node (status heartbeat, labels, taints); its pods stay. */
  setNode(node: Node): void {
    const before = this.node.status?.allocatable ?? this.node.status?.capacity;
    const after = node.status?.allocatable ?? node.status?.capacity;
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      this.allocatable = parseAllocatable(node);
      this.allowed = this.allocatable.get(PODS) ?? 0;
    }
    this.node = node;
  }

  get labels(): Readonly<Record<string, string>> {
    return this.node.metadata.labels ?? {};
  }

  /** The pod count limit; a node that reports none allows none, as upstream. */
  get allowedPods(): number {
    return this.allowed;
  }

  addPod(pod: Pod): void {
    let requests: Resources;
    let nonZero: Resources;
    try {
      requests = podRequests(pod);
      nonZero = podRequests(pod, true);
    } catch (err) {
      const name = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
      throw new SchedulerInputError(`pod ${name}: bad resource requests: ${(err as Error).message}`, { cause: err });
    }
    const key = podKeyOf(pod);
    if (this.added.has(key)) this.removePod(key);
    add(this.requested, requests, 1);
    add(this.nonZeroRequested, nonZero, 1);
    const controller = isBeingDeleted(pod) ? null : controllerKey(pod);
    if (controller !== null) this.podsByController.set(controller, (this.podsByController.get(controller) ?? 0) + 1);
    this.added.set(key, { requests, nonZero, controller });
    this.pods.push(pod);
    if (hasPodAffinity(pod)) {
      this.podsWithAffinity.push(pod);
      this.shared.podsWithAffinity++;
    }
  }

  hasPod(key: string): boolean {
    return this.added.has(key);
  }

  /** Removes the pod with this key (a no-op when it is not here); returns whether it was. */
  removePod(key: string): boolean {
    const was = this.added.get(key);
    if (was === undefined) return false;
    this.added.delete(key);
    add(this.requested, was.requests, -1);
    add(this.nonZeroRequested, was.nonZero, -1);
    if (was.controller !== null) {
      const n = (this.podsByController.get(was.controller) ?? 0) - 1;
      if (n > 0) this.podsByController.set(was.controller, n);
      else this.podsByController.delete(was.controller);
    }
    removeWhere(this.pods, key);
    if (removeWhere(this.podsWithAffinity, key)) this.shared.podsWithAffinity--;
    return true;
  }
}

function parseAllocatable(node: Node): Resources {
  try {
    return resourceListToResources(node.status?.allocatable ?? node.status?.capacity);
  } catch (err) {
    const name = node.metadata.name ?? '';
    throw new SchedulerInputError(`node ${name}: bad allocatable: ${(err as Error).message}`, { cause: err });
  }
}

/** `namespace/uid` of the pod's controller, or null for pods without one. */
export function controllerKey(pod: Pod): string | null {
  const owner = controllerOf(pod);
  return owner?.uid === undefined ? null : `${pod.metadata.namespace ?? 'default'}/${owner.uid}`;
}

function hasPodAffinity(pod: Pod): boolean {
  const a = pod.spec.affinity;
  return a?.podAffinity !== undefined || a?.podAntiAffinity !== undefined;
}

function removeWhere(pods: Pod[], key: string): boolean {
  const i = pods.findIndex((p) => podKeyOf(p) === key);
  if (i < 0) return false;
  // Order within a node does not matter to any plugin: swap with the last one, O(1).
  const last = pods.pop() as Pod;
  if (i < pods.length) pods[i] = last;
  return true;
}

function add(target: Resources, r: Resources, sign: 1 | -1): void {
  for (const [k, v] of r) target.set(k, (target.get(k) ?? 0) + sign * v);
}

/** Pods that hold resources on their node: bound and not finished (terminating pods still count). */
export function occupiesNode(pod: Pod): boolean {
  return (pod.spec.nodeName ?? '') !== '' && !isPodTerminal(pod);
}

export class Snapshot {
  readonly nodes: NodeInfo[];
  private readonly byName = new Map<string, NodeInfo>();
  private readonly shared = { podsWithAffinity: 0 };

  /** Pods with any pod (anti-)affinity on any node: 0 lets affinity plugins skip walking the nodes. */
  get podsWithAffinity(): number {
    return this.shared.podsWithAffinity;
  }

  /** Pods bound to nodes not in `nodes` are ignored (their node is gone or not yet seen). */
  constructor(nodes: readonly Node[], pods: readonly Pod[]) {
    this.nodes = nodes.map((n) => new NodeInfo(n, this.shared));
    for (const info of this.nodes) this.byName.set(info.name, info);
    for (const pod of pods) {
      if (!occupiesNode(pod)) continue;
      this.byName.get(pod.spec.nodeName ?? '')?.addPod(pod);
    }
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }

  /** Adds a node (or updates it if known); throws SchedulerInputError for unparsable allocatable. */
  addNode(node: Node): NodeInfo {
    const name = node.metadata.name ?? '';
    const known = this.byName.get(name);
    if (known) {
      known.setNode(node);
      return known;
    }
    const info = new NodeInfo(node, this.shared);
    this.nodes.push(info);
    this.byName.set(name, info);
    return info;
  }

  /** Removes a node and returns the pods that were on it (the caller decides where they go). */
  removeNode(name: string): Pod[] {
    const info = this.byName.get(name);
    if (!info) return [];
    this.byName.delete(name);
    this.shared.podsWithAffinity -= info.podsWithAffinity.length;
    const i = this.nodes.indexOf(info);
    if (i >= 0) this.nodes.splice(i, 1);
    return [...info.pods];
  }

  /** Records `pod` as running on `nodeName` (upstream's AssumePod) and returns the bound copy. */
  assume(pod: Pod, nodeName: string): Pod {
    const info = this.byName.get(nodeName);
    if (!info) throw new SchedulerInputError(`cannot assume pod on unknown node ${nodeName}`);
    const bound: Pod = { ...pod, spec: { ...pod.spec, nodeName } };
    info.addPod(bound);
    return bound;
  }
}
