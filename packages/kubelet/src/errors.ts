import { KemuError } from '@kemu/runtime';

/** A bad or missing command-line flag; main prints it with the usage and exits 2. */
export class KubeletFlagError extends KemuError {
  constructor(message: string) {
    super('KUBELET_BAD_FLAG', message);
  }
}

/**
 * A container's config could not be built from the pod (a missing ConfigMap, Secret or key, a
 * PVC that is not bound): the container waits with reason `CreateContainerConfigError`.
 */
export class ContainerConfigError extends KemuError {
  readonly reason = 'CreateContainerConfigError';
  constructor(message: string) {
    super('KUBELET_CONTAINER_CONFIG', message);
  }
}

/** An admin request naming no node this process hosts (`?node=` with `--sim-nodes`). */
export class UnknownNodeError extends KemuError {
  constructor(node: string) {
    super('KUBELET_UNKNOWN_NODE', `this kubelet process does not host node "${node}"`);
  }
}
