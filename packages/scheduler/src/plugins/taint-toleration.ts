// Taints repel pods that do not tolerate them: NoSchedule/NoExecute in filtering, PreferNoSchedule in
// scoring. The matching rule is upstream's Toleration.ToleratesTaint.
import type { Taint, Toleration } from '@kemu/api';
import { type FilterPlugin, normalizeScores, type ScorePlugin } from '../framework.js';
import { reject } from '../status.js';

export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  if ((t.key ?? '') !== '' && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

export function tolerated(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

export const taintTolerationPlugin: FilterPlugin & ScorePlugin = {
  name: 'TaintToleration',
  weight: 3,
  prepareFilter(pod) {
    const tolerations = pod.spec.tolerations;
    return (node) => {
      for (const taint of node.node.spec?.taints ?? []) {
        if (taint.effect === 'PreferNoSchedule') continue;
        if (!tolerated(tolerations, taint)) {
          return reject('TaintToleration', 'UnschedulableAndUnresolvable', untoleratedTaintReason(taint));
        }
      }
      return null;
    };
  },
  score(pod, _snapshot, nodes) {
    // Only tolerations that can apply to PreferNoSchedule count (no effect or that effect).
    const prefer = (pod.spec.tolerations ?? []).filter(
      (t) => t.effect === undefined || t.effect === 'PreferNoSchedule',
    );
    const counts = nodes.map((n) => {
      const taints = n.node.spec?.taints;
      if (taints === undefined || taints.length === 0) return 0;
      return taints.filter((t) => t.effect === 'PreferNoSchedule' && !tolerated(prefer, t)).length;
    });
    return normalizeScores(counts, true);
  },
};
