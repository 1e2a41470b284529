// PodTopologySpread: DoNotSchedule constraints filter (skew = domain count + self - global min must
// not exceed maxSkew); ScheduleAnyway constraints, or upstream's system defaults (hostname maxSkew 3,
// zone maxSkew 5) for pods without constraints, score nodes with fewer matching pods higher.

import type { Pod, TopologySpreadConstraint } from '@kemu/api';
import { controllerOf, isBeingDeleted, labelSelectorAsSelector } from '@kemu/api';
import { type FilterPlugin, MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../snapshot.js';
import { reject } from '../status.js';
import { podMatchesNodeAffinity } from './node-affinity.js';

export const SPREAD_REASON = "node(s) didn't match pod topology spread constraints";
export const SPREAD_MISSING_LABEL_REASON =
  "node(s) didn't match pod topology spread constraints (missing required label)";

export const HOSTNAME_KEY = 'kubernetes.io/hostname';
export const ZONE_KEY = 'topology.kubernetes.io/zone';

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  minDomains: number;
  matches: (p: Pod) => boolean;
}

function compile(c: TopologySpreadConstraint, pod: Pod): Constraint {
  const labels = pod.metadata.labels ?? {};
  const matchLabels = { ...(c.labelSelector?.matchLabels ?? {}) };
  for (const k of c.matchLabelKeys ?? []) if (labels[k] !== undefined) matchLabels[k] = labels[k];
  const selector =
    c.labelSelector === undefined && (c.matchLabelKeys ?? []).length === 0
      ? null
      : labelSelectorAsSelector({ ...c.labelSelector, matchLabels });
  const ns = pod.metadata.namespace ?? 'default';
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    minDomains: c.minDomains ?? 1,
    matches: (p) =>
      selector !== null && (p.metadata.namespace ?? 'default') === ns && selector.matches(p.metadata.labels ?? {}),
  };
}

/**
 * Upstream derives the default selector from the Services/ReplicaSets/StatefulSets selecting the pod;
 * the pure core has no such listers, so pods of the same controller stand for "the same workload".
 */
function systemDefaults(pod: Pod): Constraint[] {
  const owner = controllerOf(pod);
  if (owner === undefined) return [];
  const ns = pod.metadata.namespace ?? 'default';
  const matches = (p: Pod): boolean => (p.metadata.namespace ?? 'default') === ns && controllerOf(p)?.uid === owner.uid;
  return [
    { maxSkew: 3, topologyKey: HOSTNAME_KEY, minDomains: 1, matches },
    { maxSkew: 5, topologyKey: ZONE_KEY, minDomains: 1, matches },
  ];
}

function hasAllKeys(node: NodeInfo, cs: readonly Constraint[]): boolean {
  return cs.every((c) => node.labels[c.topologyKey] !== undefined);
}

/** Matching pods per topology value, over nodes that pass the pod's node affinity and carry every key. */
function countDomains(cs: readonly Constraint[], pod: Pod, nodes: readonly NodeInfo[]): Map<string, number>[] {
  const counts = cs.map(() => new Map<string, number>());
  for (const node of nodes) {
    if (!hasAllKeys(node, cs) || !podMatchesNodeAffinity(pod, node)) continue;
    cs.forEach((c, i) => {
      const m = counts[i] as Map<string, number>;
      const value = node.labels[c.topologyKey] as string;
      let n = m.get(value) ?? 0;
      for (const p of node.pods) if (!isBeingDeleted(p) && c.matches(p)) n++;
      m.set(value, n);
    });
  }
  return counts;
}

export const podTopologySpreadPlugin: FilterPlugin & ScorePlugin = {
  name: 'PodTopologySpread',
  weight: 2,
  prepareFilter(pod, snapshot) {
    const cs = (pod.spec.topologySpreadConstraints ?? [])
      .filter((c) => c.whenUnsatisfiable === 'DoNotSchedule')
      .map((c) => compile(c, pod));
    if (cs.length === 0) return () => null;
    const counts = countDomains(cs, pod, snapshot.nodes);
    const minima = counts.map((m, i) => {
      if (m.size < (cs[i] as Constraint).minDomains) return 0;
      let min = Number.POSITIVE_INFINITY;
      for (const v of m.values()) if (v < min) min = v;
      return m.size === 0 ? 0 : min;
    });
    return (node) => {
      if (!hasAllKeys(node, cs))
        return reject('PodTopologySpread', 'UnschedulableAndUnresolvable', SPREAD_MISSING_LABEL_REASON);
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i] as Constraint;
        const self = c.matches(pod) ? 1 : 0;
        const skew = (counts[i]?.get(node.labels[c.topologyKey] as string) ?? 0) + self - (minima[i] ?? 0);
        if (skew > c.maxSkew) return reject('PodTopologySpread', 'Unschedulable', SPREAD_REASON);
      }
      return null;
    };
  },
  score(pod, _snapshot, nodes) {
    const explicit = pod.spec.topologySpreadConstraints ?? [];
    const cs =
      explicit.length > 0
        ? explicit.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway').map((c) => compile(c, pod))
        : systemDefaults(pod);
    if (cs.length === 0) return nodes.map(() => 0);
    // System defaults do not require the keys (a cluster without zones still spreads by hostname).
    const requireAll = explicit.length > 0;
    const usable = cs.map((c) => nodes.some((n) => n.labels[c.topologyKey] !== undefined));
    const active = cs.filter((_, i) => usable[i]);
    const counts = countDomainsLoose(active, nodes);
    const weights = counts.map((m) => Math.log(m.size + 2));
    const raw = nodes.map((n) => {
      if (requireAll && !hasAllKeys(n, cs)) return null;
      let s = 0;
      active.forEach((c, i) => {
        const value = n.labels[c.topologyKey];
        if (value === undefined) return;
        s += (counts[i]?.get(value) ?? 0) * (weights[i] ?? 1) + (c.maxSkew - 1);
      });
      return Math.round(s);
    });
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const s of raw) {
      if (s === null) continue;
      if (s < min) min = s;
      if (s > max) max = s;
    }
    return raw.map((s) =>
      s === null ? 0 : max === 0 ? MAX_NODE_SCORE : Math.trunc((MAX_NODE_SCORE * (max + min - s)) / max),
    );
  },
};

/** Like countDomains over the feasible nodes, without the all-keys requirement. */
function countDomainsLoose(cs: readonly Constraint[], nodes: readonly NodeInfo[]): Map<string, number>[] {
  return cs.map((c) => {
    const m = new Map<string, number>();
    for (const node of nodes) {
      const value = node.labels[c.topologyKey];
      if (value === undefined) continue;
      let n = m.get(value) ?? 0;
      for (const p of node.pods) if (!isBeingDeleted(p) && c.matches(p)) n++;
      m.set(value, n);
    }
    return m;
  });
}
