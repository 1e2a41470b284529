// Pod sources besides the apiserver (upstream pkg/kubelet/config: file, http). The static-pod
// source lives in src/static-pods; the kubelet only defines the hook.
import type { Pod, PodStatus } from '@kemu/api';

export interface SourcedPod {
  /** Full Pod; `metadata.uid` must be set and stable across updates. */
  pod: Pod;
  /** Observed by someone else (a pid-file pod the supervisor runs): the kubelet neither runs nor reports it. */
  external?: boolean;
}

export interface PodSource {
  /** For logs, e.g. `file`. */
  readonly name: string;
  /** Called once by the kubelet; call `update` with the FULL desired set whenever it changes. */
  start(update: (pods: SourcedPod[]) => void): void;
  stop(): void;
  /** The status the kubelet computed for one of this source's (non-external) pods, when it changed. */
  onStatus?(pod: Pod, status: PodStatus): void;
}
