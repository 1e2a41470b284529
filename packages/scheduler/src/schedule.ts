// One scheduling decision: run every filter on every node (first rejection wins, in upstream's
// default plugin order), score the feasible nodes with the weighted score plugins, pick the best and
// break ties uniformly at random (reservoir sampling, as upstream's selectHost). When nothing fits,
// a dry run of preemption explains whether evicting lower-priority pods could help.
import type { Pod } from '@kemu/api';
import type { Random } from '@kemu/runtime';
import { SchedulerInputError } from './errors.js';
import { FitError, fitErrorMessage, NO_PREEMPTION_VICTIMS, PREEMPTION_NOT_HELPFUL } from './fit-error.js';
import type { FilterPlugin, NodeFilter, ScorePlugin } from './framework.js';
import { interPodAffinityPlugin } from './plugins/inter-pod-affinity.js';
import { nodeAffinityPlugin } from './plugins/node-affinity.js';
import { nodeNamePlugin } from './plugins/node-name.js';
import { nodeResourcesFitPlugin } from './plugins/node-resources-fit.js';
import { nodeUnschedulablePlugin } from './plugins/node-unschedulable.js';
import { podTopologySpreadPlugin } from './plugins/pod-topology-spread.js';
import { taintTolerationPlugin } from './plugins/taint-toleration.js';
import { type NodeInfo, Snapshot } from './snapshot.js';
import { type NodeStatus, reject } from './status.js';

/** Upstream's default profile order (the plugins kemu has). */
export const DEFAULT_FILTERS: readonly FilterPlugin[] = [
  nodeUnschedulablePlugin,
  nodeNamePlugin,
  taintTolerationPlugin,
  nodeAffinityPlugin,
  nodeResourcesFitPlugin,
  podTopologySpreadPlugin,
  interPodAffinityPlugin,
];

export const DEFAULT_SCORERS: readonly ScorePlugin[] = [
  taintTolerationPlugin,
  nodeAffinityPlugin,
  nodeResourcesFitPlugin,
  podTopologySpreadPlugin,
  interPodAffinityPlugin,
];

export interface ScheduleOptions {
  random: Random;
  filters?: readonly FilterPlugin[];
  scorers?: readonly ScorePlugin[];
  /** Stop filtering after this share of feasible nodes (upstream's percentageOfNodesToScore; 0 = adaptive). */
  percentageOfNodesToScore?: number;
  /** Where filtering starts (upstream rotates it so every node gets its turn); see `nextStartNodeIndex`. */
  startNodeIndex?: number;
}

export type ScheduleResult =
  | { node: string; score: number; feasibleNodes: number; nextStartNodeIndex: number }
  | { fitError: FitError };

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/** How many feasible nodes are enough (upstream's numFeasibleNodesToFind): all below 100 nodes, ~42 % of 1,000. */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let percentage = percentageOfNodesToScore;
  if (percentage === 0)
    percentage = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, 50 - Math.trunc(numAllNodes / 125));
  const n = Math.trunc((numAllNodes * percentage) / 100);
  return Math.max(n, MIN_FEASIBLE_NODES_TO_FIND);
}

function runFilters(filters: readonly NodeFilter[], node: NodeInfo): NodeStatus | null {
  for (const f of filters) {
    const status = f(node);
    if (status !== null) return status;
  }
  return null;
}

/** Malformed quantities or selectors in the pod surface as one typed error naming the pod. */
function prepare<T>(pod: Pod, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SchedulerInputError) throw err;
    const name = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
    throw new SchedulerInputError(`pod ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Picks a node for `pod`, or explains why none fits. Throws SchedulerInputError for a pod whose
 * requests or selectors cannot be parsed (the caller records it and moves on).
 */
export function schedule(pod: Pod, snapshot: Snapshot, options: ScheduleOptions): ScheduleResult {
  const filterPlugins = options.filters ?? DEFAULT_FILTERS;
  const scorers = options.scorers ?? DEFAULT_SCORERS;
  if (snapshot.nodes.length === 0) return { fitError: new FitError(0, new Map(), '') };

  const filters = prepare(pod, () => filterPlugins.map((p) => p.prepareFilter(pod, snapshot)));
  const feasible: NodeInfo[] = [];
  const statuses = new Map<string, NodeStatus>();
  const all = snapshot.nodes;
  const enough = numFeasibleNodesToFind(all.length, options.percentageOfNodesToScore ?? 0);
  const start = (options.startNodeIndex ?? 0) % all.length;
  let processed = 0;
  while (processed < all.length && feasible.length < enough) {
    const node = all[(start + processed) % all.length] as NodeInfo;
    processed++;
    const status = runFilters(filters, node);
    if (status === null) feasible.push(node);
    else statuses.set(node.name, status);
  }
  const nextStartNodeIndex = (start + processed) % all.length;

  if (feasible.length === 0) {
    const { message, candidates } = dryRunPreemption(pod, snapshot, statuses, filterPlugins);
    return { fitError: new FitError(snapshot.nodes.length, statuses, message, candidates) };
  }
  if (feasible.length === 1)
    return { node: (feasible[0] as NodeInfo).name, score: 0, feasibleNodes: 1, nextStartNodeIndex };

  const totals = new Array<number>(feasible.length).fill(0);
  for (const s of scorers) {
    const scores = prepare(pod, () => s.score(pod, snapshot, feasible));
    for (let i = 0; i < totals.length; i++) totals[i] = (totals[i] ?? 0) + (scores[i] ?? 0) * s.weight;
  }
  let best = -1;
  let bestScore = Number.NEGATIVE_INFINITY;
  let ties = 0;
  for (let i = 0; i < totals.length; i++) {
    const t = totals[i] ?? 0;
    if (t > bestScore) {
      bestScore = t;
      best = i;
      ties = 1;
    } else if (t === bestScore) {
      ties++;
      if (options.random.int(0, ties) === 0) best = i;
    }
  }
  return {
    node: (feasible[best] as NodeInfo).name,
    score: bestScore,
    feasibleNodes: feasible.length,
    nextStartNodeIndex,
  };
}

function priorityOf(pod: Pod): number {
  return pod.spec.priority ?? 0;
}

/**
 * Upstream's DefaultPreemption PostFilter, without evicting: nodes rejected as unresolvable are "not
 * helpful"; elsewhere, removing every lower-priority pod must make the pod fit. Returns the
 * "preemption: …" message, empty when some node is a candidate (upstream then nominates it).
 */
export function dryRunPreemption(
  pod: Pod,
  snapshot: Snapshot,
  statuses: ReadonlyMap<string, NodeStatus>,
  filterPlugins: readonly FilterPlugin[] = DEFAULT_FILTERS,
): { message: string; candidates: string[] } {
  if (pod.spec.preemptionPolicy === 'Never')
    return { message: 'preemption: not eligible due to preemptionPolicy=Never.', candidates: [] };
  const prio = priorityOf(pod);
  const outcome = new Map<string, NodeStatus>();
  const candidates: string[] = [];
  for (const node of snapshot.nodes) {
    const status = statuses.get(node.name);
    if (status === undefined) continue;
    if (status.code === 'UnschedulableAndUnresolvable') {
      outcome.set(node.name, reject('DefaultPreemption', 'UnschedulableAndUnresolvable', PREEMPTION_NOT_HELPFUL));
      continue;
    }
    const victims = node.pods.filter((p) => priorityOf(p) < prio);
    if (victims.length === 0) {
      outcome.set(node.name, reject('DefaultPreemption', 'UnschedulableAndUnresolvable', NO_PREEMPTION_VICTIMS));
      continue;
    }
    const keep = new Set(node.pods.filter((p) => priorityOf(p) >= prio));
    const others = snapshot.nodes.flatMap((n) => n.pods).filter((p) => p.spec.nodeName !== node.name || keep.has(p));
    const reduced = new Snapshot(
      snapshot.nodes.map((n) => n.node),
      others,
    );
    const reducedNode = reduced.get(node.name) as NodeInfo;
    const after = runFilters(
      filterPlugins.map((p) => p.prepareFilter(pod, reduced)),
      reducedNode,
    );
    if (after === null) candidates.push(node.name);
    else outcome.set(node.name, after);
  }
  if (candidates.length > 0) return { message: '', candidates };
  return { message: `preemption: ${fitErrorMessage(snapshot.nodes.length, outcome)}`, candidates };
}
