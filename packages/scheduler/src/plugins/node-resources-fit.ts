// NodeResourcesFit: the pod's requests must fit in allocatable minus what bound pods request; the
// LeastAllocated score prefers nodes with more room left (cpu and memory weighted equally).
import { type FilterPlugin, MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';
import { CPU, MEMORY, podRequests } from '../resources.js';
import { reject } from '../status.js';

export const TOO_MANY_PODS_REASON = 'Too many pods';

export const nodeResourcesFitPlugin: FilterPlugin & ScorePlugin = {
  name: 'NodeResourcesFit',
  weight: 1,
  prepareFilter(pod) {
    const req = podRequests(pod);
    // Upstream's order: pods, cpu, memory, ephemeral-storage, then extended resources.
    const order = [
      CPU,
      MEMORY,
      'ephemeral-storage',
      ...[...req.keys()].filter((k) => k !== CPU && k !== MEMORY && k !== 'ephemeral-storage').sort(),
    ];
    const wanted = order.filter((k) => (req.get(k) ?? 0) > 0);
    const amounts = wanted.map((k) => req.get(k) ?? 0);
    return (node) => {
      let reasons: string[] | null = null; // allocated only for a rejection: this runs per node per pod
      if (node.pods.length + 1 > node.allowedPods) reasons = [TOO_MANY_PODS_REASON];
      for (let i = 0; i < wanted.length; i++) {
        const k = wanted[i] as string;
        const free = (node.allocatable.get(k) ?? 0) - (node.requested.get(k) ?? 0);
        if ((amounts[i] as number) > free) (reasons ??= []).push(`Insufficient ${k}`);
      }
      return reasons === null ? null : reject('NodeResourcesFit', 'Unschedulable', ...reasons);
    };
  },
  score(pod, _snapshot, nodes) {
    const req = podRequests(pod, true);
    return nodes.map((n) => {
      let sum = 0;
      for (const k of [CPU, MEMORY]) {
        const alloc = n.allocatable.get(k) ?? 0;
        const used = (n.nonZeroRequested.get(k) ?? 0) + (req.get(k) ?? 0);
        sum += alloc === 0 || used > alloc ? 0 : Math.trunc(((alloc - used) * MAX_NODE_SCORE) / alloc);
      }
      return Math.trunc(sum / 2);
    });
  },
};
