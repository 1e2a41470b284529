import { ProcessRuntime, type ProcessRuntimeOptions } from './process-runtime.js';
import { SimRuntime, type SimRuntimeOptions } from './sim-runtime.js';
import type { ContainerRuntime } from './types.js';

export type ContainerRuntimeOptions =
  | ({ kind: 'process' } & ProcessRuntimeOptions)
  | ({ kind: 'sim' } & SimRuntimeOptions);

/** The runtime a kubelet's `--container-runtime=process|sim` flag selects. */
export function createContainerRuntime(opts: ContainerRuntimeOptions): ContainerRuntime {
  return opts.kind === 'process' ? new ProcessRuntime(opts) : new SimRuntime(opts);
}
