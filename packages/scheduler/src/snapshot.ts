// The scheduler's view of the cluster for one scheduling cycle (upstream's cache snapshot of
// NodeInfos): each node with its allocatable, the summed requests of the pods bound to it, and the
// pods themselves (for inter-pod affinity and spreading). `assume` adds a just-chosen pod so the next
// decision sees it before the binding round-trips through the apiserver.

import type { Node, Pod } from '@kemu/api';
import { isPodTerminal } from '@kemu/api';
import { SchedulerInputError } from './errors.js';
import { PODS, podRequests, type Resources, resourceListToResources } from './resources.js';

export class NodeInfo {
  readonly node: Node;
  readonly name: string;
  readonly allocatable: Resources;
  /** Sum of the bound pods' requests (what NodeResourcesFit compares against allocatable). */
  readonly requested: Resources = new Map();
  /** Same with upstream's non-zero defaults for cpu/memory (what scoring uses). */
  readonly nonZeroRequested: Resources = new Map();
  readonly pods: Pod[] = [];
  /** The subset with any pod (anti-)affinity, which other pods' decisions must consult (upstream keeps it too). */
  readonly podsWithAffinity: Pod[] = [];

  constructor(node: Node) {
    this.node = node;
    this.name = node.metadata.name ?? '';
    try {
      this.allocatable = resourceListToResources(node.status?.allocatable ?? node.status?.capacity);
    } catch (err) {
      throw new SchedulerInputError(`node ${this.name}: bad allocatable: ${(err as Error).message}`, { cause: err });
    }
  }

  get labels(): Readonly<Record<string, string>> {
    return this.node.metadata.labels ?? {};
  }

  /** The pod count limit; a node that reports none allows none, as upstream. */
  get allowedPods(): number {
    return this.allocatable.get(PODS) ?? 0;
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
    add(this.requested, requests);
    add(this.nonZeroRequested, nonZero);
    this.pods.push(pod);
    const a = pod.spec.affinity;
    if (a?.podAffinity !== undefined || a?.podAntiAffinity !== undefined) this.podsWithAffinity.push(pod);
  }
}

function add(target: Resources, r: Resources): void {
  for (const [k, v] of r) target.set(k, (target.get(k) ?? 0) + v);
}

/** Pods that hold resources on their node: bound and not finished (terminating pods still count). */
export function occupiesNode(pod: Pod): boolean {
  return (pod.spec.nodeName ?? '') !== '' && !isPodTerminal(pod);
}

export class Snapshot {
  readonly nodes: NodeInfo[];
  private readonly byName = new Map<string, NodeInfo>();

  /** Pods bound to nodes not in `nodes` are ignored (their node is gone or not yet seen). */
  constructor(nodes: readonly Node[], pods: readonly Pod[]) {
    this.nodes = nodes.map((n) => new NodeInfo(n));
    for (const info of this.nodes) this.byName.set(info.name, info);
    for (const pod of pods) {
      if (!occupiesNode(pod)) continue;
      this.byName.get(pod.spec.nodeName ?? '')?.addPod(pod);
    }
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
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
