import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { type Logger, type Random, type Runtime, systemRandom } from '@kemu/runtime';
import { type CatalogueImage, lookupImage } from '../images/catalogue.js';
import {
  ContainerNotFoundError,
  InvalidConfigError,
  InvalidStateError,
  RuntimeUnavailableError,
  SandboxNotFoundError,
} from './errors.js';
import { DEFAULT_POD_CIDR, LoopbackIpPool } from './ip-pool.js';
import type {
  ContainerConfig,
  ContainerFilter,
  ContainerRuntime,
  ContainerState,
  ContainerStatus,
  ExecOptions,
  ExecSession,
  ImageInfo,
  LogOptions,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxState,
  PodSandboxStatus,
  RuntimeCondition,
  RuntimeKind,
  RuntimeStatus,
  RuntimeVersion,
} from './types.js';

export interface RuntimeOptions {
  /** Clock and timers (systemRuntime in production, ManualRuntime in tests). */
  runtime: Runtime;
  logger: Logger;
  /** Where per-container directories and pod logs live. */
  stateDir: string;
  /** Loopback range for pod IPs; one range per node when several kubelets share a host. */
  podCidr?: string;
  /** The address of hostNetwork pods (the node's IP). */
  hostIP?: string;
  /** For container ids; seeded in tests. */
  random?: Random;
}

export interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  ip: string;
  hostname: string;
  state: PodSandboxState;
  createdAt: number;
  /** /var/log/pods/<ns>_<name>_<uid> equivalent. */
  logDir: string;
  containers: Set<string>;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  image: CatalogueImage;
  name: string;
  attempt: number;
  state: ContainerState;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  reason: string;
  message: string;
  pid: number | null;
  logPath: string;
}

function matchesLabels(labels: Record<string, string> | undefined, sel: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  return Object.entries(sel).every(([k, v]) => labels?.[k] === v);
}

/** Why a container stopped, as Kubernetes words it. */
export function exitReason(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return 'OOMKilled';
  return exitCode === 0 ? 'Completed' : 'Error';
}

/**
 * Bookkeeping both runtimes share: sandboxes and their IPs, container records, ids, filters, the
 * stopped/closed gate. Subclasses supply what actually runs a container.
 */
export abstract class BaseContainerRuntime<C extends ContainerRecord> implements ContainerRuntime {
  abstract readonly kind: RuntimeKind;
  protected readonly rt: Runtime;
  protected readonly log: Logger;
  protected readonly stateDir: string;
  protected readonly hostIP: string;
  protected readonly ips: LoopbackIpPool;
  protected readonly sandboxes = new Map<string, SandboxRecord>();
  protected readonly containers = new Map<string, C>();
  private readonly images = new Map<string, ImageInfo>();
  private readonly bootId: string;
  private seq = 0;
  /** null while available; otherwise why not. */
  protected down: { reason: string; message: string } | null = null;
  protected closed = false;

  constructor(opts: RuntimeOptions) {
    this.rt = opts.runtime;
    this.log = opts.logger;
    this.stateDir = opts.stateDir;
    this.hostIP = opts.hostIP ?? '127.0.0.1';
    this.ips = new LoopbackIpPool(opts.podCidr ?? DEFAULT_POD_CIDR);
    const random = opts.random ?? systemRandom();
    this.bootId = `${random.int(0, 2 ** 31)}-${random.int(0, 2 ** 31)}`;
  }

  // ---- hooks for the concrete runtimes ----
  protected abstract newContainer(base: ContainerRecord, sandbox: SandboxRecord): C;
  protected abstract startContainerImpl(c: C, sandbox: SandboxRecord): Promise<void>;
  /** Resolves once the container has exited. */
  protected abstract stopContainerImpl(c: C, gracePeriodSeconds: number): Promise<void>;
  protected abstract removeContainerImpl(c: C): Promise<void>;
  protected abstract logsImpl(c: C, opts: LogOptions): Readable;
  protected abstract execImpl(c: C, sandbox: SandboxRecord, cmd: string[], opts: ExecOptions): Promise<ExecSession>;
  /** Kill every container now (runtime stop/close). */
  protected abstract killAllImpl(): Promise<void>;
  /** Called when a sandbox is removed, after its containers (e.g. to delete its log directory). */
  protected removeSandboxImpl(_s: SandboxRecord): void {}
  protected extraStatus(): Pick<RuntimeStatus, 'privilegedPorts'> {
    return { privilegedPorts: { allowed: true, reason: '' } };
  }

  // ---- runtime ----
  status(): RuntimeStatus {
    const net = this.down ? { reason: 'NetworkPluginNotReady', message: '' } : this.networkProblem();
    const ready = this.down === null && net === null;
    const conditions: RuntimeCondition[] = [
      {
        type: 'RuntimeReady',
        status: this.down === null,
        reason: this.down?.reason ?? '',
        message: this.down?.message ?? '',
      },
      { type: 'NetworkReady', status: net === null, reason: net?.reason ?? '', message: net?.message ?? '' },
    ];
    const why = this.down ?? net;
    return { ready, reason: why?.reason ?? '', message: why?.message ?? '', conditions, ...this.extraStatus() };
  }

  /** Why pods could not get a working network, or null (the process runtime probes its range). */
  protected networkProblem(): { reason: string; message: string } | null {
    return null;
  }

  version(): RuntimeVersion {
    return { runtimeName: `kemu-${this.kind}`, runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' };
  }

  async stop(reason = 'RuntimeStopped'): Promise<void> {
    if (this.closed) throw new RuntimeUnavailableError('RuntimeClosed', 'the runtime was closed');
    if (this.down) return; // already stopped: stopping twice is harmless in a drill
    this.down = { reason, message: 'the container runtime was stopped' };
    this.log.warn({ reason }, 'container runtime stopping: killing every container');
    await this.killAllImpl();
    for (const s of this.sandboxes.values()) s.state = 'notready';
  }

  async start(): Promise<void> {
    if (this.closed) throw new RuntimeUnavailableError('RuntimeClosed', 'the runtime was closed');
    if (this.down) this.log.info('container runtime started');
    this.down = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.down = { reason: 'RuntimeClosed', message: 'the runtime was closed' };
    await this.killAllImpl();
  }

  /** Throws unless the runtime takes work. */
  protected gate(): void {
    if (this.down) throw new RuntimeUnavailableError(this.down.reason, this.down.message);
  }

  protected newId(): string {
    return createHash('sha256')
      .update(`${this.bootId}/${++this.seq}`)
      .digest('hex');
  }

  // ---- sandboxes ----
  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    this.gate();
    const m = config.metadata;
    if (!m?.name || !m.namespace || !m.uid) {
      throw new InvalidConfigError('pod sandbox config needs metadata.name, metadata.namespace and metadata.uid');
    }
    const id = this.newId();
    const ip = config.hostNetwork ? this.hostIP : this.ips.allocate();
    this.sandboxes.set(id, {
      id,
      config,
      ip,
      hostname: config.hostname || m.name,
      state: 'ready',
      createdAt: this.rt.now(),
      logDir: path.join(this.stateDir, 'pods', `${m.namespace}_${m.name}_${m.uid}`),
      containers: new Set(),
    });
    this.log.debug({ sandbox: id.slice(0, 12), pod: `${m.namespace}/${m.name}`, ip }, 'pod sandbox created');
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    this.gate();
    const s = this.sandbox(id);
    await Promise.all([...s.containers].map((cid) => this.stopContainerImpl(this.container(cid), 0)));
    s.state = 'notready';
  }

  async removePodSandbox(id: string): Promise<void> {
    this.gate();
    const s = this.sandboxes.get(id);
    if (!s) return; // idempotent, like CRI
    await Promise.all([...s.containers].map((cid) => this.stopContainerImpl(this.container(cid), 0)));
    for (const cid of s.containers) await this.removeContainer(cid);
    this.sandboxes.delete(id);
    this.removeSandboxImpl(s);
    if (!s.config.hostNetwork) this.ips.release(s.ip);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    this.gate();
    return this.sandboxStatusOf(this.sandbox(id));
  }

  async listPodSandboxes(filter: PodSandboxFilter = {}): Promise<PodSandboxStatus[]> {
    this.gate();
    const out: PodSandboxStatus[] = [];
    for (const s of this.sandboxes.values()) {
      if (filter.state && s.state !== filter.state) continue;
      if (!matchesLabels(s.config.labels, filter.labelSelector)) continue;
      out.push(this.sandboxStatusOf(s));
    }
    return out;
  }

  private sandboxStatusOf(s: SandboxRecord): PodSandboxStatus {
    return {
      id: s.id,
      metadata: { ...s.config.metadata },
      state: s.state,
      ip: s.ip,
      hostname: s.hostname,
      createdAt: s.createdAt,
      labels: { ...s.config.labels },
      annotations: { ...s.config.annotations },
    };
  }

  protected sandbox(id: string): SandboxRecord {
    const s = this.sandboxes.get(id);
    if (!s) throw new SandboxNotFoundError(id);
    return s;
  }

  // ---- images ----
  async pullImage(image: string): Promise<ImageInfo> {
    this.gate();
    const img = lookupImage(image);
    const info = { image, ref: img.ref, program: img.program };
    this.images.set(img.ref, info);
    return info;
  }

  async listImages(): Promise<ImageInfo[]> {
    this.gate();
    return [...this.images.values()];
  }

  // ---- containers ----
  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    this.gate();
    const s = this.sandbox(sandboxId);
    if (s.state !== 'ready') throw new InvalidStateError(`pod sandbox "${sandboxId}" is not ready`);
    if (!config.metadata?.name) throw new InvalidConfigError('container config needs metadata.name');
    const limit = config.resources?.memoryLimitBytes;
    if (limit !== undefined && !(Number.isFinite(limit) && limit > 0)) {
      throw new InvalidConfigError(`memory limit must be a positive number of bytes, got ${limit}`);
    }
    const image = lookupImage(config.image);
    const attempt = config.metadata.attempt ?? 0;
    const id = this.newId();
    const base: ContainerRecord = {
      id,
      sandboxId,
      config,
      image,
      name: config.metadata.name,
      attempt,
      state: 'created',
      createdAt: this.rt.now(),
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      reason: '',
      message: '',
      pid: null,
      logPath: path.join(s.logDir, config.metadata.name, `${attempt}.log`),
    };
    const c = this.newContainer(base, s);
    this.containers.set(id, c);
    s.containers.add(id);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.gate();
    const c = this.container(id);
    if (c.state !== 'created') throw new InvalidStateError(`container "${id}" is ${c.state}, not created`);
    await this.startContainerImpl(c, this.sandbox(c.sandboxId));
  }

  async stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    this.gate();
    await this.stopContainerImpl(this.container(id), Math.max(0, gracePeriodSeconds));
  }

  async removeContainer(id: string): Promise<void> {
    this.gate();
    const c = this.containers.get(id);
    if (!c) return;
    if (c.state === 'running') await this.stopContainerImpl(c, 0);
    await this.removeContainerImpl(c);
    this.containers.delete(id);
    this.sandboxes.get(c.sandboxId)?.containers.delete(id);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    this.gate();
    return this.statusOf(this.container(id));
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerStatus[]> {
    this.gate();
    const out: ContainerStatus[] = [];
    const source = filter.sandboxId
      ? [...(this.sandboxes.get(filter.sandboxId)?.containers ?? [])].map((id) => this.container(id))
      : this.containers.values();
    for (const c of source) {
      if (filter.state && c.state !== filter.state) continue;
      if (!matchesLabels(c.config.labels, filter.labelSelector)) continue;
      out.push(this.statusOf(c));
    }
    return out;
  }

  async containerLogs(id: string, options: LogOptions = {}): Promise<Readable> {
    this.gate();
    return this.logsImpl(this.container(id), options);
  }

  async exec(id: string, cmd: string[], options: ExecOptions = {}): Promise<ExecSession> {
    this.gate();
    const c = this.container(id);
    if (!Array.isArray(cmd) || cmd.length === 0) throw new InvalidConfigError('exec needs a command');
    if (c.state !== 'running') {
      throw new InvalidStateError(`cannot exec in a container that is not running: container "${id}" is ${c.state}`);
    }
    return this.execImpl(c, this.sandbox(c.sandboxId), cmd, options);
  }

  protected container(id: string): C {
    const c = this.containers.get(id);
    if (!c) throw new ContainerNotFoundError(id);
    return c;
  }

  protected statusOf(c: C): ContainerStatus {
    return {
      id: c.id,
      sandboxId: c.sandboxId,
      metadata: { name: c.name, attempt: c.attempt },
      image: c.config.image,
      imageRef: c.image.ref,
      state: c.state,
      createdAt: c.createdAt,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      exitCode: c.exitCode,
      reason: c.reason,
      message: c.message,
      pid: c.pid,
      logPath: c.logPath,
      labels: { ...c.config.labels },
      annotations: { ...c.config.annotations },
    };
  }
}
