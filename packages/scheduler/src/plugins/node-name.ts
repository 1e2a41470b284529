import type { FilterPlugin } from '../framework.js';
import { reject } from '../status.js';

export const NODE_NAME_REASON = "node(s) didn't match the requested node name";

/** spec.nodeName set by the user pins the pod to that node. */
export const nodeNamePlugin: FilterPlugin = {
  name: 'NodeName',
  prepareFilter(pod) {
    const want = pod.spec.nodeName ?? '';
    return (node) =>
      want === '' || want === node.name ? null : reject('NodeName', 'UnschedulableAndUnresolvable', NODE_NAME_REASON);
  },
};
