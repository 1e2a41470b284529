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
  /** Matching pods on a node when an index answers it directly (system defaults); else `matches` is run over the node's pods. */
  countOn?: (node: NodeInfo) => number;
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
  const key = `${ns}/${owner.uid}`;
  const countOn = (node: NodeInfo): number => node.podsByController.get(key) ?? 0;
  return [
    { maxSkew: 3, topologyKey: HOSTNAME_KEY, minDomains: 1, matches, countOn },
    { maxSkew: 5, topologyKey: ZONE_KEY, minDomains: 1, matches, countOn },
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
    const domains = countDomainsLoose(active, nodes);
    const raw: (number | null)[] = new Array(nodes.length);
    for (let j = 0; j < nodes.length; j++) {
      const n = nodes[j] as NodeInfo;
      if (requireAll && !hasAllKeys(n, cs)) {
        raw[j] = null;
        continue;
      }
      let s = 0;
      for (let i = 0; i < active.length; i++) {
        const d = domains[i] as Domains;
        const value = d.values[j];
        if (value === undefined) continue;
        const count = d.byNode !== undefined ? (d.byNode[j] ?? 0) : (d.counts.get(value) ?? 0);
        s += count * d.weight + ((active[i] as Constraint).maxSkew - 1);
      }
      raw[j] = Math.round(s);
    }
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

interface Domains {
  /** Each node's value of the topology key (same order as the nodes). */
  values: (string | undefined)[];
  /** Matching pods per topology value. */
  counts: Map<string, number>;
  /** Upstream's topologyNormalizingWeight: log(domains + 2). */
  weight: number;
  /** For the hostname key every node is its own domain: the per-node counts, no map (as upstream). */
  byNode?: number[];
}

/**
 * Like countDomains over the feasible nodes, without the all-keys requirement. Constraints sharing
 * one selector (the system defaults: hostname and zone) count each node's pods once.
 */
function countDomainsLoose(cs: readonly Constraint[], nodes: readonly NodeInfo[]): Domains[] {
  const perNode = new Map<Constraint['matches'], number[]>();
  const matchingOn = (c: Constraint): number[] => {
    let counts = perNode.get(c.matches);
    if (counts === undefined && c.countOn !== undefined) {
      counts = nodes.map(c.countOn);
      perNode.set(c.matches, counts);
    } else if (counts === undefined) {
      counts = nodes.map((node) => {
        let n = 0;
        for (const p of node.pods) if (!isBeingDeleted(p) && c.matches(p)) n++;
        return n;
      });
      perNode.set(c.matches, counts);
    }
    return counts;
  };
  return cs.map((c) => {
    const counts = new Map<string, number>();
    const perNodeCounts = matchingOn(c);
    if (c.topologyKey === HOSTNAME_KEY) {
      const values = nodes.map((n) => n.labels[HOSTNAME_KEY]);
      let domains = 0;
      for (const v of values) if (v !== undefined) domains++;
      return { values, counts, weight: Math.log(domains + 2), byNode: perNodeCounts };
    }
    const values = new Array<string | undefined>(nodes.length);
    for (let j = 0; j < nodes.length; j++) {
      const value = (nodes[j] as NodeInfo).labels[c.topologyKey];
      values[j] = value;
      if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + (perNodeCounts[j] ?? 0));
    }
    return { values, counts, weight: Math.log(counts.size + 2) };
  });
}
