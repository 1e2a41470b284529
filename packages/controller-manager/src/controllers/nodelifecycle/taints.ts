// The node taints the node-lifecycle controller manages (upstream k8s.io/api/core/v1 well-known taints).
import type { Node, NodeCondition, Taint } from '@kemu/api';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** Every NoSchedule taint key taint-node-by-condition owns (others on the node are left alone). */
export const CONDITION_TAINT_KEYS = new Set([
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  TAINT_MEMORY_PRESSURE,
  TAINT_DISK_PRESSURE,
  TAINT_PID_PRESSURE,
  TAINT_NETWORK_UNAVAILABLE,
]);

export function condition(node: Node, type: string): NodeCondition | undefined {
  return (node.status?.conditions ?? []).find((c) => c.type === type);
}

/**
 * upstream doNoScheduleTaintingPass: the NoSchedule taints a node's conditions and
 * spec.unschedulable call for (Ready False → not-ready, Unknown → unreachable, pressure True → …).
 */
export function wantedNoScheduleTaints(node: Node): string[] {
  const keys: string[] = [];
  for (const c of node.status?.conditions ?? []) {
    if (c.type === 'Ready' && c.status === 'False') keys.push(TAINT_NOT_READY);
    else if (c.type === 'Ready' && c.status === 'Unknown') keys.push(TAINT_UNREACHABLE);
    else if (c.type === 'MemoryPressure' && c.status === 'True') keys.push(TAINT_MEMORY_PRESSURE);
    else if (c.type === 'DiskPressure' && c.status === 'True') keys.push(TAINT_DISK_PRESSURE);
    else if (c.type === 'PIDPressure' && c.status === 'True') keys.push(TAINT_PID_PRESSURE);
    else if (c.type === 'NetworkUnavailable' && c.status === 'True') keys.push(TAINT_NETWORK_UNAVAILABLE);
  }
  if (node.spec?.unschedulable === true) keys.push(TAINT_UNSCHEDULABLE);
  return keys;
}

/** upstream doNoExecuteTaintingPass: Ready False → not-ready:NoExecute, Unknown → unreachable:NoExecute. */
export function wantedNoExecuteTaint(node: Node): string | undefined {
  const ready = condition(node, 'Ready');
  if (ready?.status === 'False') return TAINT_NOT_READY;
  if (ready?.status === 'Unknown') return TAINT_UNREACHABLE;
  return undefined;
}

/**
 * The node's taints with the controller-owned ones brought to what the conditions call for; other
 * taints (user's, kubelet's --register-with-taints) are kept in place. NoExecute taints keep their
 * timeAdded while they stay, and get `now` when added (eviction timers count from it).
 */
export function reconcileTaints(node: Node, nowTime: string): Taint[] {
  const current = node.spec?.taints ?? [];
  const noSchedule = new Set(wantedNoScheduleTaints(node));
  const noExecute = wantedNoExecuteTaint(node);
  const out: Taint[] = [];
  for (const t of current) {
    if (t.effect === 'NoSchedule' && CONDITION_TAINT_KEYS.has(t.key)) {
      if (noSchedule.delete(t.key)) out.push(t);
    } else if (t.effect === 'NoExecute' && (t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE)) {
      if (t.key === noExecute) out.push(t);
    } else {
      out.push(t);
    }
  }
  for (const key of noSchedule) out.push({ key, effect: 'NoSchedule' });
  if (noExecute !== undefined && !out.some((t) => t.key === noExecute && t.effect === 'NoExecute')) {
    out.push({ key: noExecute, effect: 'NoExecute', timeAdded: nowTime });
  }
  return out;
}
