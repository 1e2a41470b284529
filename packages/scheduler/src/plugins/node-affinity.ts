// spec.nodeSelector and required/preferred node affinity (upstream's NodeAffinity plugin and
// component-helpers nodeaffinity): terms are ORed, expressions within a term ANDed.
import type { NodeSelectorRequirement, NodeSelectorTerm, Pod } from '@kemu/api';
import { type FilterPlugin, normalizeScores, type ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../snapshot.js';
import { reject } from '../status.js';

export const NODE_AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector";

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const want = Number.parseInt(values[0] ?? '', 10);
      if (Number.isNaN(have) || Number.isNaN(want)) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** A term with no requirements matches nothing (upstream). matchFields knows only metadata.name. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.labels;
  for (const r of exprs)
    if (!requirementMatches(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) return false;
  for (const r of fields) if (!requirementMatches(r, r.key === 'metadata.name' ? node.name : undefined)) return false;
  return true;
}

/** nodeSelector and required node affinity, both must hold. */
export function podMatchesNodeAffinity(pod: Pod, node: NodeInfo): boolean {
  const labels = node.labels;
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined) return true;
  return required.nodeSelectorTerms.some((t) => nodeSelectorTermMatches(t, node));
}

export const nodeAffinityPlugin: FilterPlugin & ScorePlugin = {
  name: 'NodeAffinity',
  weight: 2,
  prepareFilter(pod) {
    const selector = pod.spec.nodeSelector ?? {};
    const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (Object.keys(selector).length === 0 && required === undefined) return () => null;
    return (node) =>
      podMatchesNodeAffinity(pod, node)
        ? null
        : reject('NodeAffinity', 'UnschedulableAndUnresolvable', NODE_AFFINITY_REASON);
  },
  score(pod, _snapshot, nodes) {
    const preferred = pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (preferred.length === 0) return new Array<number>(nodes.length).fill(0);
    const raw = nodes.map((n) => {
      let sum = 0;
      for (const p of preferred) if (p.weight !== 0 && nodeSelectorTermMatches(p.preference, n)) sum += p.weight;
      return sum;
    });
    return normalizeScores(raw, false);
  },
};
