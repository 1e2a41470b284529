// Plugin shapes. A plugin prepares once per scheduling cycle (upstream's PreFilter/PreScore, where
// cluster-wide counts are computed) and returns a cheap per-node function.
import type { Pod } from '@kemu/api';
import type { NodeInfo, Snapshot } from './snapshot.js';
import type { NodeStatus } from './status.js';

/** null = the node passes. */
export type NodeFilter = (node: NodeInfo) => NodeStatus | null;

export interface FilterPlugin {
  readonly name: string;
  prepareFilter(pod: Pod, snapshot: Snapshot): NodeFilter;
}

export const MAX_NODE_SCORE = 100;

export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  /** Scores for `nodes` (the feasible ones), already normalized to 0..MAX_NODE_SCORE. */
  score(pod: Pod, snapshot: Snapshot, nodes: readonly NodeInfo[]): number[];
}

/** Upstream's DefaultNormalizeScore: scale to 0..100 by the max; `reverse` makes fewer better. */
export function normalizeScores(scores: number[], reverse: boolean): number[] {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) return scores.map(() => (reverse ? MAX_NODE_SCORE : 0));
  return scores.map((s) => {
    const v = Math.trunc((MAX_NODE_SCORE * s) / max);
    return reverse ? MAX_NODE_SCORE - v : v;
  });
}
