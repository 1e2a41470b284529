// The FailedScheduling message, built the way upstream's FitError.Error() builds it (v1.32):
//   "0/N nodes are available: <count reason, …sorted as strings>. <postfilter message>."
// Each reason on each node's status counts once; the "count reason" strings are sorted as plain
// strings (so "10 …" sorts before "9 …", as in Go). The preemption postfilter's message is itself a
// FitError string prefixed with "preemption: ", which is why real clusters print a double period.
import { KemuError } from '@kemu/runtime';
import type { NodeStatus } from './status.js';

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';
export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_PREEMPTION_VICTIMS = 'No preemption victims found for incoming pod';

function compareGoStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `0/N nodes are available: …` for one set of per-node statuses, postfix appended as upstream does. */
export function fitErrorMessage(
  numAllNodes: number,
  statuses: ReadonlyMap<string, NodeStatus>,
  postFilterMsg = '',
): string {
  const histogram = new Map<string, number>();
  for (const status of statuses.values()) for (const r of status.reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  const parts = [...histogram].map(([reason, n]) => `${n} ${reason}`).sort(compareGoStrings);
  let msg = `0/${numAllNodes} nodes are available:`;
  if (parts.length > 0) msg += ` ${parts.join(', ')}.`;
  if (postFilterMsg !== '') msg += ` ${postFilterMsg}.`;
  return msg;
}

/** No node fits the pod. `message` is the FailedScheduling event / PodScheduled condition text. */
export class FitError extends KemuError {
  readonly numAllNodes: number;
  readonly statuses: ReadonlyMap<string, NodeStatus>;
  readonly postFilterMsg: string;
  /** Nodes where evicting lower-priority pods would let the pod fit (eviction itself is not done here). */
  readonly preemptionCandidates: readonly string[];

  constructor(
    numAllNodes: number,
    statuses: ReadonlyMap<string, NodeStatus>,
    postFilterMsg: string,
    preemptionCandidates: readonly string[] = [],
  ) {
    super(
      'UNSCHEDULABLE',
      numAllNodes === 0 ? NO_NODES_AVAILABLE : fitErrorMessage(numAllNodes, statuses, postFilterMsg),
    );
    this.numAllNodes = numAllNodes;
    this.statuses = statuses;
    this.postFilterMsg = postFilterMsg;
    this.preemptionCandidates = preemptionCandidates;
  }

  /** The plugins that rejected some node (upstream's UnschedulablePlugins, used for requeueing). */
  get unschedulablePlugins(): Set<string> {
    return new Set([...this.statuses.values()].map((s) => s.plugin));
  }
}
