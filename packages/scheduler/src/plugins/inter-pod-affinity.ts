// Required pod affinity / anti-affinity over topology domains (upstream's InterPodAffinity filter).
// Counts of matching pods per (term, topology value) are computed once per cycle.

import type { Pod, PodAffinityTerm, Selector } from '@kemu/api';
import { isBeingDeleted, labelSelectorAsSelector } from '@kemu/api';
import { type FilterPlugin, MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';
import type { Snapshot } from '../snapshot.js';
import { reject } from '../status.js';

export const AFFINITY_REASON = "node(s) didn't match pod affinity rules";
export const ANTI_AFFINITY_REASON = "node(s) didn't match pod anti-affinity rules";
export const EXISTING_ANTI_AFFINITY_REASON = "node(s) didn't satisfy existing pods anti-affinity rules";

interface CompiledTerm {
  topologyKey: string;
  namespaces: Set<string> | null; // null = every namespace (empty namespaceSelector)
  selector: Selector;
}

/** namespaces empty and no namespaceSelector → the owning pod's namespace. */
export function compileTerm(term: PodAffinityTerm, owner: Pod): CompiledTerm {
  const ns = term.namespaces ?? [];
  const selectorAll =
    term.namespaceSelector !== undefined &&
    Object.keys(term.namespaceSelector.matchLabels ?? {}).length === 0 &&
    (term.namespaceSelector.matchExpressions ?? []).length === 0;
  const namespaces = selectorAll ? null : new Set(ns.length > 0 ? ns : [owner.metadata.namespace ?? 'default']);
  return { topologyKey: term.topologyKey, namespaces, selector: labelSelectorAsSelector(term.labelSelector) };
}

export function termMatchesPod(term: CompiledTerm, pod: Pod): boolean {
  if (term.namespaces !== null && !term.namespaces.has(pod.metadata.namespace ?? 'default')) return false;
  return term.selector.matches(pod.metadata.labels ?? {});
}

/** For each term, matching-pod counts per topology value over the whole snapshot. */
function countByTopology(terms: CompiledTerm[], snapshot: Snapshot): Map<string, number>[] {
  const counts = terms.map(() => new Map<string, number>());
  if (terms.length === 0) return counts; // the common case: no walk over every pod in the cluster
  for (const node of snapshot.nodes) {
    for (const pod of node.pods) {
      if (isBeingDeleted(pod)) continue;
      terms.forEach((t, i) => {
        const value = node.labels[t.topologyKey];
        if (value === undefined || !termMatchesPod(t, pod)) return;
        const m = counts[i] as Map<string, number>;
        m.set(value, (m.get(value) ?? 0) + 1);
      });
    }
  }
  return counts;
}

export const interPodAffinityPlugin: FilterPlugin & ScorePlugin = {
  name: 'InterPodAffinity',
  weight: 2,
  prepareFilter(pod, snapshot) {
    const affinity = (pod.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) =>
      compileTerm(t, pod),
    );
    const anti = (pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) =>
      compileTerm(t, pod),
    );
    const affinityCounts = countByTopology(affinity, snapshot);
    const antiCounts = countByTopology(anti, snapshot);
    // The first pod of a group that selects itself may go anywhere, or it could never start.
    const noneMatchAnywhere = affinityCounts.every((m) => m.size === 0);
    const selfMatchesAll = affinity.every((t) => termMatchesPod(t, pod));
    // Existing pods whose anti-affinity rejects this pod: forbidden (topologyKey, value) pairs.
    const forbidden = new Set<string>();
    for (const node of snapshot.podsWithAffinity === 0 ? [] : snapshot.nodes) {
      if (node.podsWithAffinity.length === 0) continue;
      for (const existing of node.podsWithAffinity) {
        for (const raw of existing.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ??
          []) {
          const t = compileTerm(raw, existing);
          const value = node.labels[t.topologyKey];
          if (value !== undefined && termMatchesPod(t, pod)) forbidden.add(`${t.topologyKey}\u0000${value}`);
        }
      }
    }
    return (node) => {
      if (affinity.length > 0) {
        const ok = affinity.every((t, i) => {
          const value = node.labels[t.topologyKey];
          return (
            value !== undefined && ((affinityCounts[i]?.get(value) ?? 0) > 0 || (noneMatchAnywhere && selfMatchesAll))
          );
        });
        if (!ok) return reject('InterPodAffinity', 'UnschedulableAndUnresolvable', AFFINITY_REASON);
      }
      for (let i = 0; i < anti.length; i++) {
        const value = node.labels[(anti[i] as CompiledTerm).topologyKey];
        if (value !== undefined && (antiCounts[i]?.get(value) ?? 0) > 0) {
          return reject('InterPodAffinity', 'Unschedulable', ANTI_AFFINITY_REASON);
        }
      }
      if (forbidden.size > 0) {
        for (const [k, v] of Object.entries(node.labels)) {
          if (forbidden.has(`${k}\u0000${v}`))
            return reject('InterPodAffinity', 'Unschedulable', EXISTING_ANTI_AFFINITY_REASON);
        }
      }
      return null;
    };
  },
  score(pod, snapshot, nodes) {
    const scores = preferredTopologyScores(pod, snapshot);
    if (scores.size === 0) return nodes.map(() => 0);
    const raw = nodes.map((n) => {
      let sum = 0;
      for (const [k, v] of Object.entries(n.labels)) sum += scores.get(`${k}\u0000${v}`) ?? 0;
      return sum;
    });
    const min = Math.min(...raw);
    const max = Math.max(...raw);
    if (max === min) return raw.map(() => 0);
    return raw.map((s) => Math.trunc((MAX_NODE_SCORE * (s - min)) / (max - min)));
  },
};

/** Upstream: an existing pod's required affinity to the incoming pod counts with this weight. */
const HARD_POD_AFFINITY_WEIGHT = 1;

/**
 * Preferred (anti-)affinity of the incoming pod toward existing pods, and of existing pods toward it
 * (upstream's InterPodAffinity PreScore): a score per (topologyKey, value) pair.
 */
function preferredTopologyScores(pod: Pod, snapshot: Snapshot): Map<string, number> {
  const scores = new Map<string, number>();
  const bump = (key: string, value: string | undefined, w: number): void => {
    if (value === undefined || w === 0) return;
    const k = `${key}\u0000${value}`;
    scores.set(k, (scores.get(k) ?? 0) + w);
  };
  const own = [
    ...(pod.spec.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
      w: t.weight,
      term: compileTerm(t.podAffinityTerm, pod),
    })),
    ...(pod.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
      w: -t.weight,
      term: compileTerm(t.podAffinityTerm, pod),
    })),
  ];
  if (own.length === 0 && snapshot.podsWithAffinity === 0) return scores;
  for (const node of snapshot.nodes) {
    for (const existing of own.length > 0 ? node.pods : node.podsWithAffinity) {
      if (isBeingDeleted(existing)) continue;
      for (const { w, term } of own)
        if (termMatchesPod(term, existing)) bump(term.topologyKey, node.labels[term.topologyKey], w);
      const a = existing.spec.affinity;
      if (a === undefined) continue;
      const theirs = [
        ...(a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
          w: HARD_POD_AFFINITY_WEIGHT,
          raw: t,
        })),
        ...(a.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
          w: t.weight,
          raw: t.podAffinityTerm,
        })),
        ...(a.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
          w: -t.weight,
          raw: t.podAffinityTerm,
        })),
      ];
      for (const { w, raw } of theirs) {
        const term = compileTerm(raw, existing);
        if (termMatchesPod(term, pod)) bump(term.topologyKey, node.labels[term.topologyKey], w);
      }
    }
  }
  return scores;
}
