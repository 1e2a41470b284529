import { KemuError } from '@kemu/runtime';

/** The runtime was stopped (drill) or closed; every operation fails until `start()`. */
export class RuntimeUnavailableError extends KemuError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('RUNTIME_UNAVAILABLE', `container runtime is down: ${message}`);
    this.reason = reason;
  }
}

/**
 * An image the catalogue does not know. `reason` and `message` are what the kubelet puts in the
 * container's waiting state, worded like Kubernetes (`Failed to pull image "nope:1": …`).
 */
export class ImagePullError extends KemuError {
  readonly reason = 'ErrImagePull';
  readonly image: string;
  constructor(image: string, detail: string) {
    super('ERR_IMAGE_PULL', `Failed to pull image "${image}": ${detail}`);
    this.image = image;
  }
}

export class SandboxNotFoundError extends KemuError {
  constructor(id: string) {
    super('SANDBOX_NOT_FOUND', `pod sandbox "${id}" not found`);
  }
}

export class ContainerNotFoundError extends KemuError {
  constructor(id: string) {
    super('CONTAINER_NOT_FOUND', `container "${id}" not found`);
  }
}

/** An operation that the container's or sandbox's current state does not allow (start twice, …). */
export class InvalidStateError extends KemuError {
  constructor(message: string) {
    super('RUNTIME_INVALID_STATE', message);
  }
}

/** A config the runtime cannot act on (empty name, bad memory limit, no command for an image, …). */
export class InvalidConfigError extends KemuError {
  constructor(message: string) {
    super('RUNTIME_INVALID_CONFIG', message);
  }
}

/** The loopback pool for pod IPs has no free address left. */
export class IpPoolExhaustedError extends KemuError {
  constructor(cidr: string) {
    super('POD_IP_EXHAUSTED', `no free pod IP left in ${cidr}`);
  }
}

/** `exec` could not start the command (no such binary, container not running). */
export class ExecError extends KemuError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXEC_FAILED', message, options);
  }
}

/** The container's process could not be started (e.g. its command is not on PATH); reason StartError. */
export class ContainerStartError extends KemuError {
  constructor(message: string) {
    super('CONTAINER_START_FAILED', message);
  }
}
