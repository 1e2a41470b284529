// A filter plugin's verdict on one node, with upstream's two rejection codes: `Unschedulable` means
// preemption might help; `UnschedulableAndUnresolvable` means it cannot (taints, affinity, names).
export type RejectCode = 'Unschedulable' | 'UnschedulableAndUnresolvable';

export interface NodeStatus {
  code: RejectCode;
  /** One or more reasons, each counted once in the FailedScheduling histogram. */
  reasons: string[];
  plugin: string;
}

export function reject(plugin: string, code: RejectCode, ...reasons: string[]): NodeStatus {
  return { code, reasons, plugin };
}
