// What the DaemonSet controller needs to decide whether a node should run a daemon pod (upstream
// component-helpers: nodeaffinity + v1helper taints): nodeSelector, required node affinity
// (matchExpressions on labels, matchFields on metadata.name) and NoSchedule/NoExecute taints.
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from '@kemu/api';

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
      if (value === undefined || !/^-?\d+$/.test(value) || values.length !== 1 || !/^-?\d+$/.test(values[0] ?? ''))
        return false;
      const lhs = BigInt(value);
      const rhs = BigInt(values[0] ?? '0');
      return r.operator === 'Gt' ? lhs > rhs : lhs < rhs;
    }
    default:
      return false;
  }
}

function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // An empty term matches nothing (upstream).
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels[r.key])) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name') return false;
    if (!requirementMatches(r, node.metadata.name)) return false;
  }
  return true;
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution both hold. */
export function nodeMatchesPod(spec: Pod['spec'], node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && !(required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node))) return false;
  return true;
}

/** v1helper.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  switch (t.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** The first NoSchedule/NoExecute taint the tolerations do not cover, if any. */
export function untoleratedTaint(tolerations: readonly Toleration[], node: Node): Taint | undefined {
  return (node.spec?.taints ?? []).find(
    (taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerations.some((t) => tolerates(t, taint)),
  );
}

/**
 * util.AddOrUpdateDaemonPodTolerations: daemons keep running through node conditions that evict or
 * repel other pods.
 */
export function daemonTolerations(spec: Pod['spec']): Toleration[] {
  const out = [...(spec.tolerations ?? [])];
  const add = (key: string, effect: 'NoSchedule' | 'NoExecute') => {
    if (
      !out.some(
        (t) => t.key === key && t.effect === effect && t.operator === 'Exists' && t.tolerationSeconds === undefined,
      )
    ) {
      // replace a same key/effect toleration (upstream AddOrUpdateTolerationInPodSpec)
      const i = out.findIndex((t) => t.key === key && t.effect === effect);
      const tol: Toleration = { key, operator: 'Exists', effect };
      if (i >= 0) out[i] = tol;
      else out.push(tol);
    }
  };
  add('node.kubernetes.io/not-ready', 'NoExecute');
  add('node.kubernetes.io/unreachable', 'NoExecute');
  add('node.kubernetes.io/disk-pressure', 'NoSchedule');
  add('node.kubernetes.io/memory-pressure', 'NoSchedule');
  add('node.kubernetes.io/pid-pressure', 'NoSchedule');
  add('node.kubernetes.io/unschedulable', 'NoSchedule');
  if (spec.hostNetwork) add('node.kubernetes.io/network-unavailable', 'NoSchedule');
  return out;
}
