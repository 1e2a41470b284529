// One node's kubelet: registers the Node, heartbeats (Lease + status), and runs the pods bound to
// it through a ContainerRuntime. Many Kubelets can live in one process (sim nodes) sharing one
// ApiClient, one pod informer (partitioned by node) and one Service informer.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Container, Event, Lease, Node, Pod, PodStatus, ResourceList, Service } from '@kemu/api';
import {
  type ApiClient,
  EventRecorder,
  type EventType,
  isConflict,
  isNotFound,
  type SharedIndexInformer,
} from '@kemu/client';
import {
  type Logger,
  type Random,
  type Runtime,
  silentLogger,
  systemRandom,
  systemRuntime,
  type TimerHandle,
} from '@kemu/runtime';
import { Backoff } from './backoff.js';
import type { KubeletConfig } from './config.js';
import { NODE_LEASE_NAMESPACE, NodeLease } from './node-lease.js';
import { hostCapacity, type NodeIdentity, SIM_CAPACITY } from './node-status.js';
import { NodeStatusReporter } from './node-status-reporter.js';
import { ApiObjectSources } from './object-sources.js';
import type { PodInformerHub } from './pod-informer.js';
import { newPodRecord, type PodRecord, podKey } from './pod-record.js';
import type { PodSource, SourcedPod } from './pod-source.js';
import { statusFingerprint } from './pod-status.js';
import { LABEL_POD_UID, PodSyncer, type ProbeHooks } from './pod-sync.js';
import { type ProbeKind, type ProbeTarget, ProbeWorker } from './probes.js';
import { RuntimeUnavailableError } from './runtime/errors.js';
import type { ContainerRuntime, RuntimeStatus } from './runtime/types.js';
import type { Semaphore } from './semaphore.js';
import { PodStatusManager } from './status-manager.js';

/** Mirror pods (the API's copy of a static pod) carry this annotation; they are never run. */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export interface KubeletOptions {
  /** This node's config (name, IP, port, root dir, labels, taints, profile). */
  config: KubeletConfig;
  api: ApiClient;
  /** The process's shared pod informer. */
  podHub: PodInformerHub;
  /** The process's shared Service informer (Service link env vars). */
  services: SharedIndexInformer<Service>;
  containerRuntime: ContainerRuntime;
  runtime?: Runtime;
  random?: Random;
  log?: Logger;
  /** Node capacity (default: the host's for the process runtime, SIM_CAPACITY for sim). */
  capacity?: ResourceList;
  /** Post an unchanged node status this often (default: every update, i.e. the profile's frequency). */
  nodeStatusReportFrequencyMs?: number;
  /** PLEG relist period (default 500 ms for the process runtime, 1000 ms for sim). */
  plegPeriodMs?: number;
  /** Periodic resync of every pod (default: the profile's kubeletSyncFrequencyMs; 0 = off). */
  resyncPeriodMs?: number;
  /** Spread first heartbeats and relists over their period (many nodes in one process). */
  jitter?: boolean;
  /** Record only Warning events and Killing (sim nodes: keeps 10,000 pods from flooding Events). */
  quietEvents?: boolean;
  /** Pod status writes in flight (default 8). */
  statusConcurrency?: number;
  /** Process-wide bound on status writes in flight (shared by sim nodes). */
  statusLimiter?: Semaphore;
  /** ApiClient for Lease renewals (a short request timeout, so a stuck renewal is retried soon). */
  leaseApi?: ApiClient;
}

/** What `findContainer` tells the streaming server. */
export interface ContainerLookup {
  pod: Pod;
  podUid: string;
  sandboxId: string | null;
  /** The newest instance (running or exited), null if never created. */
  containerId: string | null;
  /** The instance before it (for `--previous`), null if none is kept. */
  previousContainerId: string | null;
  running: boolean;
}

export interface PodLookup {
  pod: Pod;
  uid: string;
  sandboxId: string | null;
  podIP: string | null;
}

export interface KubeletRuntimeState {
  node: string;
  runtime: string;
  ready: boolean;
  reason: string;
  message: string;
  conditions: RuntimeStatus['conditions'];
  heartbeatsFrozen: boolean;
  registered: boolean;
  pods: number;
}

/** What of a pod the sync depends on: spec, labels/annotations (downward API), deletion. */
function syncRelevant(pod: Pod): string {
  const m = pod.metadata;
  return JSON.stringify([pod.spec, m.labels, m.annotations, m.deletionTimestamp, m.deletionGracePeriodSeconds]);
}

const PROBE_KINDS: readonly ProbeKind[] = ['startup', 'liveness', 'readiness'];

function probeOf(c: Container, kind: ProbeKind) {
  return kind === 'startup' ? c.startupProbe : kind === 'liveness' ? c.livenessProbe : c.readinessProbe;
}

export class Kubelet {
  readonly nodeName: string;
  readonly nodeIP: string;
  private port_: number;
  readonly config: KubeletConfig;
  readonly api: ApiClient;
  /** The container runtime instance this kubelet runs pods with. */
  readonly runtime: ContainerRuntime;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly clock: Runtime;
  private readonly random: Random;
  private readonly opts: KubeletOptions;
  private readonly pods = new Map<string, PodRecord>();
  private readonly byKey = new Map<string, string>();
  private readonly sources = new Map<PodSource, Set<string>>();
  private readonly sourceStatus = new Map<string, string>();
  private readonly syncer: PodSyncer;
  private readonly statusManager: PodStatusManager;
  private readonly nodeReporter: NodeStatusReporter;
  private readonly lease: NodeLease;
  private readonly capacity: ResourceList;
  private readonly machineID: string;
  private readonly bootID: string;
  private unsubscribe: (() => void) | undefined;
  private plegTimer: TimerHandle | undefined;
  private resyncTimer: TimerHandle | undefined;
  private gcTimer: TimerHandle | undefined;
  private plegStates = new Map<string, string>();
  private plegBusy = false;
  private lastRuntimeReady: boolean;
  private started = false;
  private stopped = false;

  constructor(opts: KubeletOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.nodeName = opts.config.nodeName;
    this.nodeIP = opts.config.nodeIP;
    this.port_ = opts.config.port;
    this.api = opts.api;
    this.runtime = opts.containerRuntime;
    this.clock = opts.runtime ?? systemRuntime;
    this.random = opts.random ?? systemRandom();
    // The caller's logger already names the node (main's for one node, a child per sim node).
    this.log = opts.log ?? silentLogger();
    this.capacity =
      opts.capacity ?? (this.runtime.kind === 'sim' ? { ...SIM_CAPACITY } : hostCapacity(opts.config.rootDir));
    this.machineID = createHash('sha256').update(`kemu-node/${this.nodeName}`).digest('hex').slice(0, 32);
    this.bootID = `${this.random.int(0, 2 ** 31).toString(16)}-${this.random.int(0, 2 ** 31).toString(16)}`;
    this.lastRuntimeReady = this.runtime.status().ready;
    const profile = opts.config.profile;
    this.events = new EventRecorder({
      events: opts.api.resource<Event>('events'),
      component: 'kubelet',
      host: this.nodeName,
      instance: this.nodeName,
      runtime: this.clock,
      log: this.log,
      cacheSize: this.runtime.kind === 'sim' ? 256 : 4096,
    });
    const pods = opts.api.resource<Pod>('pods');
    this.statusManager = new PodStatusManager({
      pods,
      runtime: this.clock,
      log: this.log,
      concurrency: opts.statusConcurrency ?? 8,
      ...(opts.statusLimiter ? { limiter: opts.statusLimiter } : {}),
      cached: (ns, name) => opts.podHub.get(ns, name),
    });
    this.nodeReporter = new NodeStatusReporter({
      nodes: opts.api.resource<Node>('nodes'),
      identity: () => this.identity(),
      containerRuntime: this.runtime,
      updateFrequencyMs: profile.nodeStatusUpdateFrequencyMs,
      reportFrequencyMs: opts.nodeStatusReportFrequencyMs ?? profile.nodeStatusUpdateFrequencyMs,
      runtime: this.clock,
      random: this.random,
      log: this.log,
      jitterStart: opts.jitter === true,
    });
    this.lease = new NodeLease({
      leases: (opts.leaseApi ?? opts.api).resource<Lease>('leases.coordination.k8s.io', {
        namespace: NODE_LEASE_NAMESPACE,
      }),
      nodeName: this.nodeName,
      nodeUid: () => this.nodeReporter.uid,
      durationSeconds: profile.nodeLeaseDurationSeconds,
      renewIntervalMs: profile.nodeLeaseRenewIntervalMs,
      runtime: this.clock,
      random: this.random,
      log: this.log,
      jitterStart: opts.jitter === true,
    });
    this.syncer = new PodSyncer({
      nodeName: this.nodeName,
      nodeIP: this.nodeIP,
      podsDir: path.join(opts.config.rootDir, 'pods'),
      containerRuntime: this.runtime,
      runtime: this.clock,
      log: this.log,
      objects: new ApiObjectSources(opts.api, opts.services),
      nodeAllocatable: () => this.capacity,
      crashBackoff: new Backoff(this.clock, profile.crashLoopBackOffMs.initial, profile.crashLoopBackOffMs.max),
      pullBackoff: new Backoff(this.clock, profile.imagePullBackOffMs.initial, profile.imagePullBackOffMs.max),
      probes: this.probeHooks(),
      event: (pod, type, reason, message) => this.event(pod, type, reason, message),
      publishStatus: (rec, status) => this.publishStatus(rec, status),
      deleteFromApi: (rec) => this.deleteFromApi(rec),
      prepareVolumes: this.runtime.kind === 'process',
      configRetryMs: profile.crashLoopBackOffMs.initial,
    });
  }

  /** `status.daemonEndpoints.kubeletEndpoint.Port`: `--port`, or what the kubelet server actually bound. */
  get port(): number {
    return this.port_;
  }

  /** The streaming server bound an ephemeral port (`--port 0`): report that one. Best before start(). */
  setPort(port: number): void {
    if (port === this.port_) return;
    this.port_ = port;
    this.nodeReporter.poke();
  }

  private identity(): NodeIdentity {
    return {
      nodeName: this.nodeName,
      nodeIP: this.nodeIP,
      port: this.port_,
      labels: this.config.nodeLabels,
      taints: this.config.registerWithTaints,
      capacity: this.capacity,
      runtimeVersion: this.runtime.version(),
      machineID: this.machineID,
      bootID: this.bootID,
    };
  }

  // ---- lifecycle ----

  start(): void {
    if (this.started) return;
    this.started = true;
    this.nodeReporter.start();
    this.lease.start();
    this.unsubscribe = this.opts.podHub.subscribe(this.nodeName, {
      upsert: (pod) => {
        if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return;
        this.upsertPod(pod, 'api', false);
      },
      remove: (pod) => this.removePod(pod.metadata.uid ?? ''),
    });
    for (const src of this.sources.keys()) this.startSource(src);
    // Runtimes do not push container exits: the relist finds them (a process node relists more often).
    const pleg = this.opts.plegPeriodMs ?? (this.runtime.kind === 'process' ? 500 : 1000);
    const first = this.opts.jitter ? this.random.int(0, pleg) : pleg;
    this.plegTimer = this.clock.setTimeout(() => this.plegLoop(pleg), first);
    const resync = this.opts.resyncPeriodMs ?? this.config.profile.kubeletSyncFrequencyMs;
    if (resync > 0) {
      this.resyncTimer = this.clock.setInterval(() => {
        for (const rec of this.pods.values()) if (!rec.syncing && !rec.timer) this.trigger(rec);
      }, resync);
    }
    this.gcTimer = this.clock.setInterval(() => this.gcStatusCache(), 60_000);
    this.log.info({ runtime: this.runtime.kind, nodeIP: this.nodeIP, port: this.port }, 'kubelet started');
  }

  /** Stops heartbeats, syncs and probes. Containers keep running (the runtime's close() kills them). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.nodeReporter.stop();
    this.lease.stop();
    this.plegTimer?.cancel();
    this.resyncTimer?.cancel();
    this.gcTimer?.cancel();
    for (const src of this.sources.keys()) src.stop();
    for (const rec of this.pods.values()) {
      rec.timer?.cancel();
      rec.timer = undefined;
      this.stopProbes(rec);
    }
    this.statusManager.close();
  }

  // ---- hooks for the streaming server and static pods (see README) ----

  /** Adds a pod source (static pods). Its pods run like API pods; `external` ones are skipped. */
  addPodSource(source: PodSource): void {
    if (this.sources.has(source)) return;
    this.sources.set(source, new Set());
    if (this.started && !this.stopped) this.startSource(source);
  }

  private startSource(source: PodSource): void {
    source.start((pods) => this.applySource(source, pods));
  }

  private applySource(source: PodSource, pods: SourcedPod[]): void {
    if (this.stopped) return;
    const known = this.sources.get(source);
    if (!known) return;
    const next = new Set<string>();
    for (const sp of pods) {
      const uid = sp.pod.metadata.uid;
      if (!uid) {
        this.log.warn({ source: source.name, pod: sp.pod.metadata.name }, 'source pod without metadata.uid ignored');
        continue;
      }
      next.add(uid);
      this.upsertPod(sp.pod, source.name, sp.external === true);
    }
    for (const uid of known) if (!next.has(uid)) this.removePod(uid);
    this.sources.set(source, next);
  }

  findPod(namespace: string, name: string): PodLookup | null {
    const uid = this.byKey.get(`${namespace}/${name}`);
    const rec = uid === undefined ? undefined : this.pods.get(uid);
    if (!rec) return null;
    return { pod: rec.pod, uid: rec.uid, sandboxId: rec.sandboxId, podIP: rec.podIP };
  }

  findContainer(namespace: string, podName: string, container: string): ContainerLookup | null {
    const uid = this.byKey.get(`${namespace}/${podName}`);
    const rec = uid === undefined ? undefined : this.pods.get(uid);
    if (!rec) return null;
    const specs = [...(rec.pod.spec.initContainers ?? []), ...rec.pod.spec.containers];
    if (!specs.some((c) => c.name === container)) return null;
    const inst = rec.instances.get(container) ?? [];
    const terms = rec.terminations.get(container) ?? [];
    const current = inst[0]?.id ?? null;
    const previous = inst[1]?.id ?? terms.find((t) => t.id !== current)?.id ?? null;
    return {
      pod: rec.pod,
      podUid: rec.uid,
      sandboxId: rec.sandboxId,
      containerId: current,
      previousContainerId: previous,
      running: inst[0]?.state === 'running',
    };
  }

  /** Pods this kubelet manages (any source), for listings. */
  managedPods(): Pod[] {
    return [...this.pods.values()].map((r) => r.pod);
  }

  get node(): Node | undefined {
    return this.nodeReporter.current;
  }

  // ---- admin (drills) ----

  async stopRuntime(reason = 'RuntimeStopped'): Promise<void> {
    this.stopAllProbes();
    await this.runtime.stop(reason);
    this.checkRuntimeReadiness();
  }

  async startRuntime(): Promise<void> {
    await this.runtime.start();
    this.checkRuntimeReadiness();
  }

  freezeHeartbeats(): void {
    this.lease.freeze();
    this.nodeReporter.freeze();
    this.log.warn('heartbeats frozen (lease renewals and node status updates stopped)');
  }

  resumeHeartbeats(): void {
    this.lease.resume();
    this.nodeReporter.resume();
    this.log.info('heartbeats resumed');
  }

  runtimeState(): KubeletRuntimeState {
    const s = this.runtime.status();
    return {
      node: this.nodeName,
      runtime: this.runtime.kind,
      ready: s.ready,
      reason: s.reason,
      message: s.message,
      conditions: s.conditions,
      heartbeatsFrozen: this.lease.isFrozen,
      registered: this.nodeReporter.isRegistered,
      pods: this.pods.size,
    };
  }

  /** Counters for metrics and the sim benchmark. */
  stats(): { pods: number; statusWrites: number; nodeStatusPosts: number; leaseRenewals: number } {
    return {
      pods: this.pods.size,
      statusWrites: this.statusManager.writes,
      nodeStatusPosts: this.nodeReporter.posts,
      leaseRenewals: this.lease.renewals,
    };
  }

  // ---- pods ----

  private upsertPod(pod: Pod, source: string, external: boolean): void {
    if (this.stopped) return;
    const uid = pod.metadata.uid ?? '';
    if (uid === '') return;
    let rec = this.pods.get(uid);
    if (!rec) {
      rec = newPodRecord(pod, source, external);
      const phase = pod.status?.phase;
      // A pod that already finished (seen again after a kubelet restart) is not run again.
      if (phase === 'Succeeded' || phase === 'Failed') rec.terminal = { phase };
      this.pods.set(uid, rec);
      this.byKey.set(podKey(pod), uid);
    } else {
      const changed = rec.external !== external || syncRelevant(rec.pod) !== syncRelevant(pod);
      rec.pod = pod;
      rec.external = external;
      // Like upstream's pod config, a status-only change is no reason to sync when it is our own
      // write; someone else's (the node controller marking pods not ready while this kubelet was
      // frozen) is: the sync writes the kubelet's view back.
      const foreignStatus =
        rec.source === 'api' &&
        rec.status !== undefined &&
        statusFingerprint(pod.status) !== statusFingerprint(rec.status);
      if (!changed && !foreignStatus) return;
    }
    if (!external) this.trigger(rec);
  }

  private removePod(uid: string): void {
    const rec = this.pods.get(uid);
    if (!rec) return;
    rec.removed = true;
    if (rec.external) {
      this.forget(rec);
      return;
    }
    this.trigger(rec);
  }

  private forget(rec: PodRecord): void {
    rec.finished = true;
    rec.timer?.cancel();
    rec.timer = undefined;
    this.stopProbes(rec);
    if (this.pods.get(rec.uid) === rec) this.pods.delete(rec.uid);
    const key = podKey(rec.pod);
    if (this.byKey.get(key) === rec.uid) this.byKey.delete(key);
    this.statusManager.forget(rec.uid);
    this.sourceStatus.delete(rec.uid);
  }

  /** Runs the pod's sync now (or after `delayMs`); at most one sync per pod at a time. */
  private trigger(rec: PodRecord, delayMs = 0): void {
    if (rec.finished || this.stopped || rec.external) return;
    if (delayMs > 0) {
      rec.timer?.cancel();
      rec.timer = this.clock.setTimeout(() => {
        rec.timer = undefined;
        this.trigger(rec);
      }, delayMs);
      return;
    }
    if (rec.syncing) {
      rec.again = true;
      return;
    }
    rec.timer?.cancel();
    rec.timer = undefined;
    void this.work(rec);
  }

  private async work(rec: PodRecord): Promise<void> {
    rec.syncing = true;
    let wake: number | undefined;
    try {
      wake = await this.syncer.sync(rec);
    } catch (err) {
      if (err instanceof RuntimeUnavailableError) {
        this.log.debug({ pod: podKey(rec.pod) }, 'runtime unavailable during pod sync');
        wake = undefined; // runtime start resyncs every pod
      } else {
        this.log.warn({ pod: podKey(rec.pod), err: (err as Error).message }, 'pod sync failed');
        wake = 1000;
      }
    }
    rec.syncing = false;
    if (rec.finished) {
      this.forget(rec);
      return;
    }
    if (rec.again) {
      rec.again = false;
      this.trigger(rec);
      return;
    }
    if (wake !== undefined) this.trigger(rec, Math.max(1, wake));
  }

  private event(pod: Pod, type: EventType, reason: string, message: string): void {
    if (this.opts.quietEvents && type === 'Normal' && reason !== 'Killing') return;
    void this.events.event(pod, type, reason, message);
  }

  private async publishStatus(rec: PodRecord, status: PodStatus): Promise<void> {
    if (rec.source === 'api') {
      await this.statusManager.set(rec.pod, status);
      return;
    }
    const fp = statusFingerprint(status);
    if (this.sourceStatus.get(rec.uid) === fp) return;
    this.sourceStatus.set(rec.uid, fp);
    for (const src of this.sources.keys()) {
      if (src.name === rec.source) {
        try {
          src.onStatus?.(rec.pod, status);
        } catch (err) {
          this.log.warn({ source: src.name, err: (err as Error).message }, 'pod source status hook failed');
        }
      }
    }
  }

  private async deleteFromApi(rec: PodRecord): Promise<void> {
    if (rec.source !== 'api') return;
    await this.statusManager.flush(rec.uid);
    try {
      await this.api.resource<Pod>('pods').delete(rec.pod.metadata.name ?? '', {
        namespace: rec.pod.metadata.namespace ?? 'default',
        gracePeriodSeconds: 0,
        preconditions: { uid: rec.uid },
      });
      this.log.debug({ pod: podKey(rec.pod) }, 'pod terminated and deleted');
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  private gcStatusCache(): void {
    for (const uid of this.sourceStatus.keys()) if (!this.pods.has(uid)) this.sourceStatus.delete(uid);
  }

  // ---- PLEG: notice container state changes the runtime does not push ----

  private plegLoop(periodMs: number): void {
    if (this.stopped) return;
    void this.relist().finally(() => {
      if (!this.stopped) this.plegTimer = this.clock.setTimeout(() => this.plegLoop(periodMs), periodMs);
    });
  }

  private checkRuntimeReadiness(): void {
    const ready = this.runtime.status().ready;
    if (ready === this.lastRuntimeReady) return;
    this.lastRuntimeReady = ready;
    this.log.info({ ready, reason: this.runtime.status().reason }, 'container runtime readiness changed');
    this.nodeReporter.poke();
    if (ready) for (const rec of this.pods.values()) this.trigger(rec);
    else this.stopAllProbes();
  }

  /** One relist: every container whose state changed since the last one gets its pod synced. */
  async relist(): Promise<void> {
    if (this.plegBusy) return;
    this.plegBusy = true;
    try {
      this.checkRuntimeReadiness();
      if (!this.runtime.status().ready) return;
      let list: Awaited<ReturnType<ContainerRuntime['listContainers']>>;
      try {
        list = await this.runtime.listContainers();
      } catch {
        return;
      }
      const seen = new Map<string, string>();
      const changed = new Set<string>();
      for (const c of list) {
        seen.set(c.id, c.state);
        if (this.plegStates.get(c.id) !== c.state) changed.add(c.labels[LABEL_POD_UID] ?? '');
      }
      this.plegStates = seen;
      for (const uid of changed) {
        const rec = this.pods.get(uid);
        if (rec) this.trigger(rec);
      }
    } finally {
      this.plegBusy = false;
    }
  }

  // ---- probes ----

  private stopProbes(rec: PodRecord, container?: string): void {
    for (const [name, workers] of rec.probes) {
      if (container !== undefined && name !== container) continue;
      for (const k of PROBE_KINDS) workers[k]?.stop();
      rec.probes.delete(name);
    }
  }

  private stopAllProbes(): void {
    for (const rec of this.pods.values()) this.stopProbes(rec);
  }

  private probeTarget(rec: PodRecord, instanceId: string): ProbeTarget {
    const rt = this.runtime;
    return {
      podIP: rec.podIP ?? this.nodeIP,
      simulated: rt.kind === 'sim',
      exec: async (cmd, timeoutMs) => {
        const session = await rt.exec(instanceId, cmd);
        const chunks: Buffer[] = [];
        session.stdout.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
        session.stderr.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
        let timer: TimerHandle | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = this.clock.setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const r = await Promise.race([session.exit, timeout]);
        timer?.cancel();
        if (r === 'timeout') {
          session.kill(); // a hung probe command must not pile up one process per period
          return { exitCode: -1, output: Buffer.concat(chunks).toString('utf8'), timedOut: true };
        }
        // Let the pipes drain what the command printed just before it exited.
        await new Promise<void>((resolve) => setImmediate(resolve));
        return { exitCode: r.exitCode, output: Buffer.concat(chunks).toString('utf8'), timedOut: false };
      },
    };
  }

  private probeHooks(): ProbeHooks {
    const currentId = (rec: PodRecord, name: string): string | undefined => {
      const cur = rec.instances.get(name)?.[0];
      return cur?.state === 'running' ? cur.id : undefined;
    };
    const specOf = (rec: PodRecord, name: string): Container | undefined =>
      rec.pod.spec.containers.find((c) => c.name === name) ?? rec.pod.spec.initContainers?.find((c) => c.name === name);
    const resultOf = (rec: PodRecord, name: string, kind: ProbeKind): string | undefined => {
      const w = rec.probes.get(name)?.[kind];
      return w && w.containerId === currentId(rec, name) ? w.result : undefined;
    };
    return {
      view: (rec) => ({
        ready: (name) => {
          const spec = specOf(rec, name);
          return !spec?.readinessProbe || resultOf(rec, name, 'readiness') === 'success';
        },
        started: (name) => {
          const spec = specOf(rec, name);
          return !spec?.startupProbe || resultOf(rec, name, 'startup') === 'success';
        },
      }),
      ensure: (rec, c, inst) => {
        const workers = rec.probes.get(c.name) ?? {};
        for (const kind of PROBE_KINDS) {
          const probe = probeOf(c, kind);
          if (!probe) continue;
          const existing = workers[kind];
          if (existing && existing.containerId === inst.id) continue;
          existing?.stop();
          const w = new ProbeWorker({
            kind,
            probe,
            container: c,
            containerId: inst.id,
            startedAtMs: inst.startedAt ?? this.clock.now(),
            runtime: this.clock,
            target: this.probeTarget(rec, inst.id),
            gate: () => kind === 'startup' || !c.startupProbe || rec.probes.get(c.name)?.startup?.result === 'success',
            onResult: () => this.trigger(rec),
            onFailure: (k, output) => {
              const kindName = `${k[0]?.toUpperCase() ?? ''}${k.slice(1)}`;
              this.event(rec.pod, 'Warning', 'Unhealthy', `${kindName} probe failed: ${output}`);
            },
          });
          workers[kind] = w;
          w.start();
        }
        if (Object.keys(workers).length > 0) rec.probes.set(c.name, workers);
      },
      stop: (rec, name) => this.stopProbes(rec, name),
      failed: (rec, name) => {
        if (resultOf(rec, name, 'liveness') === 'failure') return 'liveness';
        if (resultOf(rec, name, 'startup') === 'failure') return 'startup';
        return null;
      },
      target: (rec, id) => this.probeTarget(rec, id),
    };
  }
}
