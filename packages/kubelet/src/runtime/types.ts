import type { Readable, Writable } from 'node:stream';

/** Who a sandbox belongs to; the kubelet fills it from the Pod. */
export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  /** Incremented when the kubelet recreates the sandbox of the same pod. */
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  /** Defaults to the pod name; becomes HOSTNAME in every container. */
  hostname?: string;
  /** Share the node's address instead of getting a loopback IP of its own. */
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type PodSandboxState = 'ready' | 'notready';

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  /** The pod IP (a loopback address, or the node's address with hostNetwork). */
  ip: string;
  hostname: string;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerMetadata {
  name: string;
  /** Restart count of this container in its pod; each attempt keeps its own log file. */
  attempt?: number;
}

export interface KeyValue {
  name: string;
  value: string;
}

/** A host directory the kubelet prepared (emptyDir, configMap, PVC, …) to show at `containerPath`. */
export interface Mount {
  containerPath: string;
  hostPath: string;
  readOnly?: boolean;
}

export interface PortMapping {
  containerPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  name?: string;
}

export interface ContainerResources {
  /** Bytes; exceeding it kills the container with SIGKILL → exit 137, reason OOMKilled. */
  memoryLimitBytes?: number;
  /** Millicores; recorded only (no CPU throttling for processes). */
  cpuLimitMillis?: number;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: string;
  /** Overrides the image's entrypoint (Kubernetes `command`). */
  command?: string[];
  /** Overrides the image's cmd (Kubernetes `args`). */
  args?: string[];
  workingDir?: string;
  /** Already resolved by the kubelet (valueFrom, envFrom, $(VAR) expansion). */
  envs?: KeyValue[];
  mounts?: Mount[];
  ports?: PortMapping[];
  resources?: ContainerResources;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  stdin?: boolean;
  tty?: boolean;
}

export type ContainerState = 'created' | 'running' | 'exited';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  metadata: { name: string; attempt: number };
  image: string;
  /** What the image reference resolved to, e.g. `docker.io/library/nginx:1.25`. */
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  /** `Completed`, `Error`, `OOMKilled` once exited; empty before. */
  reason: string;
  message: string;
  pid: number | null;
  logPath: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  sandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

export interface PodSandboxFilter {
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

export interface LogOptions {
  /** Keep the stream open and send new lines until the container exits. */
  follow?: boolean;
  /** Only the last N lines (before following). */
  tailLines?: number;
  /** Only lines logged at or after this instant (ms since epoch). */
  sinceTime?: number;
  /** Prefix every line with its RFC3339Nano timestamp, like `kubectl logs --timestamps`. */
  timestamps?: boolean;
  /** Stop after this many bytes. */
  limitBytes?: number;
  /** Only one stream; both by default. */
  stream?: 'stdout' | 'stderr';
}

export interface ExecOptions {
  stdin?: boolean;
  /** Accepted for the API's sake; processes get pipes, not a pseudo-terminal. */
  tty?: boolean;
}

export interface ExecSession {
  stdout: Readable;
  stderr: Readable;
  /** Null unless `stdin: true`. */
  stdin: Writable | null;
  /** Resolves with the command's exit code (128+signal when killed). */
  exit: Promise<{ exitCode: number }>;
  /** Stops the command (its whole process group) at once: the exec client went away. */
  kill(): void;
}

export interface RuntimeCondition {
  type: 'RuntimeReady' | 'NetworkReady';
  status: boolean;
  reason: string;
  message: string;
}

export interface RuntimeStatus {
  ready: boolean;
  /** Empty when ready, else e.g. `RuntimeStopped`. */
  reason: string;
  message: string;
  conditions: RuntimeCondition[];
  /** Whether containers may bind ports below 1024, and why not. */
  privilegedPorts: { allowed: boolean; reason: string };
}

export interface ImageInfo {
  /** The reference asked for, e.g. `nginx:1.25`. */
  image: string;
  /** Normalised reference, e.g. `docker.io/library/nginx:1.25`. */
  ref: string;
  /** Catalogue entry name, e.g. `nginx`. */
  program: string;
}

export type RuntimeKind = 'process' | 'sim';

export interface RuntimeVersion {
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

/**
 * The CRI-like surface the kubelet syncs pods through. Ids are opaque strings. Every method
 * rejects with `RuntimeUnavailableError` while the runtime is stopped.
 */
export interface ContainerRuntime {
  readonly kind: RuntimeKind;
  status(): RuntimeStatus;
  /** For the Node's `containerRuntimeVersion` (`kemu-process://0.1.0`). */
  version(): RuntimeVersion;

  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Kills every container of the sandbox (no grace) and marks it notready. */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes the sandbox, its containers and their logs; releases the pod IP. */
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<PodSandboxStatus>;
  listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandboxStatus[]>;

  pullImage(image: string): Promise<ImageInfo>;
  /** Images pulled so far (for the Node's `status.images`), by normalised reference. */
  listImages(): Promise<ImageInfo[]>;

  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, wait up to the grace period, then SIGKILL; resolves once the container has exited. */
  stopContainer(id: string, gracePeriodSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): Promise<ContainerStatus>;
  listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]>;
  containerLogs(id: string, options?: LogOptions): Promise<Readable>;
  exec(id: string, cmd: string[], options?: ExecOptions): Promise<ExecSession>;

  /** Drill: kill every container and refuse work until `start()`. */
  stop(reason?: string): Promise<void>;
  start(): Promise<void>;
  /** Shutdown: kill everything and release timers; the object is unusable afterwards. */
  close(): Promise<void>;
}
