// Which object changes can matter to a scheduling decision. Status heartbeats (a Node's every few
// seconds, a running pod's probes) must not send every unschedulable pod back to the queue, so the
// event handlers ask these first, as upstream's event handlers and queueing hints do.
import type { Node, Pod } from '@kemu/api';
import { isBeingDeleted, isPodTerminal } from '@kemu/api';

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Allocatable, labels, taints or cordoning changed: filters may now answer differently. */
export function nodeSchedulingPropertiesChanged(oldNode: Node, newNode: Node): boolean {
  return (
    !same(oldNode.status?.allocatable, newNode.status?.allocatable) ||
    !same(oldNode.metadata.labels, newNode.metadata.labels) ||
    !same(oldNode.spec?.taints, newNode.spec?.taints) ||
    (oldNode.spec?.unschedulable ?? false) !== (newNode.spec?.unschedulable ?? false)
  );
}

/**
 * A pending pod changed in a way that may change its placement (spec, labels, annotations): not
 * its status, which includes the PodScheduled condition the scheduler itself writes (upstream's
 * isPodUpdated ignores the same fields).
 */
export function pendingPodChanged(oldPod: Pod, newPod: Pod): boolean {
  return (
    !same(oldPod.spec, newPod.spec) ||
    !same(oldPod.metadata.labels, newPod.metadata.labels) ||
    !same(oldPod.metadata.annotations, newPod.metadata.annotations)
  );
}

/** Labels or requests of a bound pod changed: spreading, affinity or fit may now differ. */
export function assignedPodChanged(oldPod: Pod, newPod: Pod): boolean {
  return (
    !same(oldPod.metadata.labels, newPod.metadata.labels) ||
    !same(
      oldPod.spec.containers.map((c) => c.resources?.requests),
      newPod.spec.containers.map((c) => c.resources?.requests),
    )
  );
}

export function isAssigned(pod: Pod): boolean {
  return (pod.spec.nodeName ?? '') !== '';
}

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Pending pods this scheduler should place: unassigned, ours, neither finished nor being deleted. */
export function isSchedulable(pod: Pod, schedulerName: string): boolean {
  return (
    !isAssigned(pod) &&
    (pod.spec.schedulerName ?? DEFAULT_SCHEDULER_NAME) === schedulerName &&
    !isBeingDeleted(pod) &&
    !isPodTerminal(pod)
  );
}
