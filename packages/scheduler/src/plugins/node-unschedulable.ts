import type { FilterPlugin } from '../framework.js';
import { reject } from '../status.js';
import { tolerated } from './taint-toleration.js';

export const NODE_UNSCHEDULABLE_REASON = 'node(s) were unschedulable';

/** A cordoned node (spec.unschedulable) takes only pods tolerating node.kubernetes.io/unschedulable. */
export const nodeUnschedulablePlugin: FilterPlugin = {
  name: 'NodeUnschedulable',
  prepareFilter(pod) {
    const tolerates = tolerated(pod.spec.tolerations, {
      key: 'node.kubernetes.io/unschedulable',
      effect: 'NoSchedule',
    });
    return (node) =>
      node.node.spec?.unschedulable === true && !tolerates
        ? reject('NodeUnschedulable', 'UnschedulableAndUnresolvable', NODE_UNSCHEDULABLE_REASON)
        : null;
  },
};
