// One pod's sync (upstream kuberuntime SyncPod + the pod worker's terminate path): sandbox, init
// containers in order, app containers with restart policy and back-off, image pulls, config
// (env, volumes), probe-driven kills, graceful termination, and the status it all adds up to.
// A PodSyncer holds no per-pod state itself: everything lives in the PodRecord, and the kubelet
// runs at most one sync per pod at a time.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Container, Pod, PodStatus, ResourceList } from '@kemu/api';
import { parseQuantity } from '@kemu/api';
import type { EventType } from '@kemu/client';
import type { Logger, Runtime } from '@kemu/runtime';
import { type Backoff, goDuration } from './backoff.js';
import { type EnvSources, expandCommand, type PodNetworkInfo, resolveEnv } from './env.js';
import { ContainerConfigError } from './errors.js';
import { parseImageReference } from './images/reference.js';
import { type PodRecord, podDesc, type TerminatedInfo } from './pod-record.js';
import { computePodStatus, type ProbeView, terminatedInfo } from './pod-status.js';
import { type ProbeTarget, runHandler } from './probes.js';
import { ImagePullError } from './runtime/errors.js';
import type { ContainerConfig, ContainerRuntime, ContainerStatus as RuntimeContainerStatus } from './runtime/types.js';
import { containerMounts, preparePodVolumes, type VolumeSources } from './volumes.js';

export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
/** Hash of the container's spec when the instance was created (upstream's `io.kubernetes.container.hash`). */
export const ANNOTATION_CONTAINER_HASH = 'io.kubernetes.container.hash';

/** What of a container's spec requires a new instance when it changes (in practice: the image). */
export function containerHash(c: Container): string {
  const { name, image, command, args, workingDir, ports, env, envFrom, volumeMounts, resources } = c;
  return createHash('sha1')
    .update(JSON.stringify([name, image, command, args, workingDir, ports, env, envFrom, volumeMounts, resources]))
    .digest('hex')
    .slice(0, 16);
}

/** How long a postStart exec/httpGet hook may take. */
const POST_START_TIMEOUT_MS = 30_000;

/** Container instances kept per container: the current one and the previous (for `logs --previous`). */
const KEEP_INSTANCES = 2;

export interface ProbeHooks {
  view(rec: PodRecord): ProbeView;
  /** Starts (or keeps) the probe workers of a running instance. */
  ensure(rec: PodRecord, container: Container, instance: RuntimeContainerStatus): void;
  /** Stops the workers of one container (or all of the pod). */
  stop(rec: PodRecord, container?: string): void;
  /** 'liveness' / 'startup' when that probe failed for the running instance. */
  failed(rec: PodRecord, container: string): 'liveness' | 'startup' | null;
  /** Exec target for hooks. */
  target(rec: PodRecord, instanceId: string): ProbeTarget;
}

export interface PodSyncDeps {
  nodeName: string;
  nodeIP: string;
  /** `<rootDir>/pods`: per-pod volume directories. */
  podsDir: string;
  containerRuntime: ContainerRuntime;
  runtime: Runtime;
  log: Logger;
  objects: EnvSources & VolumeSources;
  nodeAllocatable: () => ResourceList;
  crashBackoff: Backoff;
  pullBackoff: Backoff;
  probes: ProbeHooks;
  /** Record an event about the pod (the kubelet filters by type in sim mode). */
  event(pod: Pod, type: EventType, reason: string, message: string): void;
  /** Hand the computed status on (status manager, or the pod source); resolves once written. */
  publishStatus(rec: PodRecord, status: PodStatus): Promise<void>;
  /** Final delete of an API pod after termination (grace 0, uid precondition). */
  deleteFromApi(rec: PodRecord): Promise<void>;
  /** Write volume directories (process runtime); the sim runtime mounts nothing. */
  prepareVolumes: boolean;
  /** Retry delay after a config error (CreateContainerConfigError). */
  configRetryMs: number;
}

function shouldRestart(policy: string, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** Upstream's default pull policy: Always for `:latest` (or no tag), else IfNotPresent. */
export function pullPolicyOf(c: Container): 'Always' | 'IfNotPresent' | 'Never' {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const ref = parseImageReference(c.image ?? '');
  return ref && ref.tag === 'latest' && ref.digest === null ? 'Always' : 'IfNotPresent';
}

function minWake(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

export function containerConfigResources(c: Container): ContainerConfig['resources'] {
  const out: NonNullable<ContainerConfig['resources']> = {};
  const mem = c.resources?.limits?.memory;
  const cpu = c.resources?.limits?.cpu;
  try {
    if (mem) out.memoryLimitBytes = parseQuantity(mem).value();
    if (cpu) out.cpuLimitMillis = parseQuantity(cpu).milliValue();
  } catch {
    // validated by the apiserver; an unparsable quantity just means no limit here
  }
  return out;
}

export class PodSyncer {
  /** When each image last failed to pull, per pod/container/image (for ImagePullBackOff). */
  private readonly pullFailedAt = new Map<string, number>();

  constructor(private readonly d: PodSyncDeps) {}

  private now(): number {
    return this.d.runtime.now();
  }

  /** One sync of the pod; returns ms until it wants to run again (back-off expiry), if ever. */
  async sync(rec: PodRecord): Promise<number | undefined> {
    if (rec.external || rec.finished) return undefined;
    const pod = rec.pod;
    if (rec.removed || pod.metadata.deletionTimestamp !== undefined) return this.terminate(rec);
    if (!this.d.containerRuntime.status().ready) return undefined; // the runtime's return resyncs everything
    rec.startTime ??= this.now();
    let wake: number | undefined;
    const deadline = pod.spec.activeDeadlineSeconds;
    if (!rec.terminal && deadline !== undefined) {
      const left = rec.startTime + deadline * 1000 - this.now();
      if (left <= 0) {
        const message = 'Pod was active on the node longer than the specified deadline';
        rec.terminal = { phase: 'Failed', reason: 'DeadlineExceeded', message };
        this.d.event(pod, 'Normal', 'DeadlineExceeded', message);
        await this.killContainers(rec, pod.spec.terminationGracePeriodSeconds ?? 30);
      } else wake = left;
    }
    if (rec.terminal) {
      await this.observe(rec);
      await this.publish(rec);
      return undefined;
    }
    await this.ensureSandbox(rec);
    await this.observe(rec);
    wake = minWake(wake, await this.syncContainers(rec));
    await this.observe(rec);
    const status = await this.publish(rec);
    if (status.phase === 'Succeeded' || status.phase === 'Failed') {
      rec.terminal = { phase: status.phase };
      // Whatever still runs (sidecars) is stopped; the containers stay for their logs.
      await this.killContainers(rec, pod.spec.terminationGracePeriodSeconds ?? 30);
      await this.observe(rec);
      await this.publish(rec);
      return undefined;
    }
    return wake;
  }

  private async publish(rec: PodRecord): Promise<PodStatus> {
    const status = computePodStatus({
      rec,
      probes: this.d.probes.view(rec),
      nodeIP: this.d.nodeIP,
      now: this.now(),
      current: rec.pod.status,
    });
    rec.status = status;
    await this.d.publishStatus(rec, status);
    return status;
  }

  // ---- sandbox ----

  private async ensureSandbox(rec: PodRecord): Promise<void> {
    const rt = this.d.containerRuntime;
    const pod = rec.pod;
    if (rec.sandboxId !== null) {
      let ready = false;
      try {
        ready = (await rt.podSandboxStatus(rec.sandboxId)).state === 'ready';
      } catch {
        ready = false;
      }
      if (ready) return;
      // The sandbox died (the runtime was stopped): keep what its containers' ends were, then replace it.
      await this.observe(rec).catch(() => undefined);
      this.d.probes.stop(rec);
      await rt.removePodSandbox(rec.sandboxId).catch(() => undefined);
      rec.sandboxId = null;
      rec.instances.clear();
      rec.sandboxAttempt++;
      this.d.event(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    }
    const id = await rt.runPodSandbox({
      metadata: {
        name: pod.metadata.name ?? '',
        namespace: pod.metadata.namespace ?? 'default',
        uid: rec.uid,
        attempt: rec.sandboxAttempt,
      },
      hostname: pod.spec.hostname ?? pod.metadata.name ?? '',
      hostNetwork: pod.spec.hostNetwork === true,
      labels: {
        [LABEL_POD_UID]: rec.uid,
        [LABEL_POD_NAME]: pod.metadata.name ?? '',
        [LABEL_POD_NAMESPACE]: pod.metadata.namespace ?? 'default',
      },
    });
    rec.sandboxId = id;
    rec.podIP = (await rt.podSandboxStatus(id)).ip;
  }

  /** Reads the sandbox's containers into the record; keeps exits for lastState; prunes old instances. */
  async observe(rec: PodRecord): Promise<void> {
    if (rec.sandboxId === null) return;
    const list = await this.d.containerRuntime.listContainers({ sandboxId: rec.sandboxId });
    const byName = new Map<string, RuntimeContainerStatus[]>();
    for (const c of list) {
      const arr = byName.get(c.metadata.name) ?? [];
      arr.push(c);
      byName.set(c.metadata.name, arr);
    }
    for (const [name, arr] of byName) {
      arr.sort((a, b) => b.metadata.attempt - a.metadata.attempt);
      for (const c of arr) if (c.state === 'exited') this.addTermination(rec, name, terminatedInfo(c));
      while (arr.length > KEEP_INSTANCES) {
        const old = arr.pop() as RuntimeContainerStatus;
        await this.d.containerRuntime.removeContainer(old.id).catch(() => undefined);
      }
      if (arr[0]?.state !== 'running') this.d.probes.stop(rec, name);
    }
    rec.instances = byName;
  }

  private addTermination(rec: PodRecord, name: string, t: TerminatedInfo): void {
    const list = rec.terminations.get(name) ?? [];
    if (list.some((x) => x.id === t.id)) return;
    list.push(t);
    list.sort((a, b) => b.attempt - a.attempt || (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
    rec.terminations.set(name, list.slice(0, KEEP_INSTANCES));
  }

  // ---- containers ----

  private async syncContainers(rec: PodRecord): Promise<number | undefined> {
    const pod = rec.pod;
    const policy = pod.spec.restartPolicy ?? 'Always';
    let wake: number | undefined;
    for (const c of pod.spec.initContainers ?? []) {
      const cur = rec.instances.get(c.name)?.[0];
      if (c.restartPolicy === 'Always') {
        // A sidecar (native sidecar init container): started in order, then kept running beside the
        // app containers, restarted with back-off whatever the pod's restart policy.
        if (cur?.state === 'running') {
          rec.waiting.delete(c.name);
          this.d.probes.ensure(rec, c, cur);
          continue;
        }
        if (cur?.state === 'created') return undefined;
        const last = cur ? terminatedInfo(cur) : rec.terminations.get(c.name)?.[0];
        if (!last) return this.startContainer(rec, c);
        wake = minWake(wake, await this.restartWithBackoff(rec, c, last));
        continue;
      }
      if (cur && cur.state !== 'exited') return undefined; // still initialising
      const last = cur ? terminatedInfo(cur) : rec.terminations.get(c.name)?.[0];
      if (last?.exitCode === 0) continue;
      if (!last) return this.startContainer(rec, c);
      if (policy === 'Never') {
        rec.terminal = { phase: 'Failed' };
        return undefined;
      }
      return this.restartWithBackoff(rec, c, last);
    }
    for (const c of pod.spec.containers) {
      let cur = rec.instances.get(c.name)?.[0];
      if (cur?.state === 'running') {
        const hash = cur.annotations[ANNOTATION_CONTAINER_HASH];
        if (hash !== undefined && hash !== containerHash(c)) {
          // The spec changed (kubectl set image): replace the instance at once, no back-off.
          this.d.event(pod, 'Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
          this.d.probes.stop(rec, c.name);
          await this.d.containerRuntime.stopContainer(cur.id, pod.spec.terminationGracePeriodSeconds ?? 30);
          await this.observe(rec);
          wake = minWake(wake, await this.startContainer(rec, c));
          continue;
        }
        const failed = this.d.probes.failed(rec, c.name);
        if (!failed) {
          rec.waiting.delete(c.name);
          this.d.probes.ensure(rec, c, cur);
          continue;
        }
        this.d.event(pod, 'Normal', 'Killing', `Container ${c.name} failed ${failed} probe, will be restarted`);
        this.d.probes.stop(rec, c.name);
        const grace =
          (failed === 'liveness' ? c.livenessProbe : c.startupProbe)?.terminationGracePeriodSeconds ??
          pod.spec.terminationGracePeriodSeconds ??
          30;
        await this.d.containerRuntime.stopContainer(cur.id, grace);
        await this.observe(rec);
        cur = rec.instances.get(c.name)?.[0];
      }
      if (cur?.state === 'created') continue;
      const last = cur ? terminatedInfo(cur) : rec.terminations.get(c.name)?.[0];
      if (!last) {
        wake = minWake(wake, await this.startContainer(rec, c));
        continue;
      }
      if (!shouldRestart(policy, last.exitCode)) {
        rec.waiting.delete(c.name);
        continue;
      }
      wake = minWake(wake, await this.restartWithBackoff(rec, c, last));
    }
    return wake;
  }

  private async restartWithBackoff(rec: PodRecord, c: Container, last: TerminatedInfo): Promise<number | undefined> {
    const key = `${rec.uid}/${c.name}`;
    const since = last.finishedAt ?? this.now();
    const left = this.d.crashBackoff.remaining(key, since);
    if (left > 0) {
      const desc = podDesc(rec.pod);
      rec.waiting.set(c.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${goDuration(this.d.crashBackoff.get(key))} restarting failed container=${c.name} pod=${desc}`,
      });
      this.d.event(rec.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${desc}`);
      return left;
    }
    this.d.crashBackoff.next(key, since);
    return this.startContainer(rec, c);
  }

  private setWaiting(rec: PodRecord, name: string, reason: string, message: string): void {
    rec.waiting.set(name, { reason, message });
  }

  /** Pull, configure, create and start one container instance. Returns a retry delay on failure. */
  private async startContainer(rec: PodRecord, c: Container): Promise<number | undefined> {
    const pod = rec.pod;
    const rt = this.d.containerRuntime;
    const image = c.image ?? '';
    const pullKey = `${rec.uid}/${c.name}/${image}`;
    const failedAt = this.pullFailedAt.get(pullKey);
    if (failedAt !== undefined) {
      const left = this.d.pullBackoff.remaining(pullKey, failedAt);
      if (left > 0) {
        this.setWaiting(rec, c.name, 'ImagePullBackOff', `Back-off pulling image "${image}"`);
        this.d.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
        this.d.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff');
        return left;
      }
    }
    const policy = pullPolicyOf(c);
    const ref = parseImageReference(image)?.normalized;
    const present = (await rt.listImages()).some((i) => i.image === image || i.ref === ref);
    if (policy !== 'Always' && present) {
      this.d.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
    } else if (policy === 'Never') {
      const msg = `Container image "${image}" is not present with pull policy of Never`;
      this.setWaiting(rec, c.name, 'ErrImageNeverPull', msg);
      this.d.event(pod, 'Warning', 'ErrImageNeverPull', msg);
      return this.d.configRetryMs;
    } else {
      this.d.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
      const t0 = this.d.runtime.monotonic();
      try {
        await rt.pullImage(image);
      } catch (err) {
        if (!(err instanceof ImagePullError)) throw err;
        this.setWaiting(rec, c.name, 'ErrImagePull', err.message);
        this.d.event(pod, 'Warning', 'Failed', err.message);
        this.d.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
        const at = this.now();
        this.d.pullBackoff.next(pullKey, at);
        this.pullFailedAt.set(pullKey, at);
        // Look again halfway (the status then says ImagePullBackOff), pull again at the end.
        return Math.max(1, Math.floor(this.d.pullBackoff.get(pullKey) / 2));
      }
      const took = goDuration(Math.max(0, this.d.runtime.monotonic() - t0));
      this.pullFailedAt.delete(pullKey);
      this.d.pullBackoff.reset(pullKey);
      this.d.event(
        pod,
        'Normal',
        'Pulled',
        `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: 0 bytes.`,
      );
    }

    let config: ContainerConfig;
    try {
      config = await this.containerConfig(rec, c);
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      this.setWaiting(rec, c.name, 'CreateContainerConfigError', err.message);
      this.d.event(pod, 'Warning', 'Failed', `Error: ${err.message}`);
      return this.d.configRetryMs;
    }
    const sandboxId = rec.sandboxId;
    if (sandboxId === null) return undefined;
    let id: string;
    try {
      id = await rt.createContainer(sandboxId, config);
    } catch (err) {
      if (err instanceof ImagePullError) {
        this.setWaiting(rec, c.name, 'ErrImagePull', err.message);
        return this.d.configRetryMs;
      }
      const msg = (err as Error).message;
      this.setWaiting(rec, c.name, 'CreateContainerError', msg);
      this.d.event(pod, 'Warning', 'Failed', `Error: ${msg}`);
      return this.d.configRetryMs;
    }
    rec.attempts.set(c.name, config.metadata.attempt ?? 0);
    rec.waiting.delete(c.name);
    this.d.event(pod, 'Normal', 'Created', `Created container: ${c.name}`);
    try {
      await rt.startContainer(id);
    } catch (err) {
      // The runtime recorded the instance as exited (StartError); the restart policy takes it from here.
      this.d.event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`);
      return undefined;
    }
    this.d.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      // Like upstream the hook runs before the pod worker moves on; a failure kills the container
      // and the restart policy takes over.
      const r = postStart.sleep
        ? await new Promise<{ ok: boolean; output: string }>((res) =>
            this.d.runtime.setTimeout(() => res({ ok: true, output: '' }), (postStart.sleep?.seconds ?? 0) * 1000),
          )
        : await runHandler(postStart, c, this.d.probes.target(rec, id), POST_START_TIMEOUT_MS);
      if (!r.ok) {
        this.d.event(pod, 'Warning', 'FailedPostStartHook', `PostStartHook failed: ${r.output}`);
        await rt.stopContainer(id, pod.spec.terminationGracePeriodSeconds ?? 30).catch(() => undefined);
      }
    }
    return undefined;
  }

  private netInfo(rec: PodRecord): PodNetworkInfo {
    return {
      nodeName: this.d.nodeName,
      hostIP: this.d.nodeIP,
      podIP: rec.podIP ?? '',
      nodeAllocatable: this.d.nodeAllocatable(),
    };
  }

  private async containerConfig(rec: PodRecord, c: Container): Promise<ContainerConfig> {
    const pod = rec.pod;
    const net = this.netInfo(rec);
    const envs = await resolveEnv(pod, c, this.d.objects, net);
    let mounts: ContainerConfig['mounts'] = [];
    if (this.d.prepareVolumes) {
      const vols = await preparePodVolumes(pod, this.d.podsDir, this.d.objects, net);
      mounts = containerMounts(c, vols);
    }
    const attempt = rec.attempts.has(c.name) ? (rec.attempts.get(c.name) as number) + 1 : 0;
    const config: ContainerConfig = {
      metadata: { name: c.name, attempt },
      image: c.image ?? '',
      envs,
      mounts,
      ports: (c.ports ?? []).map((p) => ({
        containerPort: p.containerPort,
        protocol: p.protocol ?? 'TCP',
        ...(p.name ? { name: p.name } : {}),
      })),
      resources: containerConfigResources(c),
      labels: {
        [LABEL_POD_UID]: rec.uid,
        [LABEL_POD_NAME]: pod.metadata.name ?? '',
        [LABEL_POD_NAMESPACE]: pod.metadata.namespace ?? 'default',
        [LABEL_CONTAINER_NAME]: c.name,
      },
      annotations: { [ANNOTATION_CONTAINER_HASH]: containerHash(c) },
    };
    const command = expandCommand(c.command, envs);
    const args = expandCommand(c.args, envs);
    if (command) config.command = command;
    if (args) config.args = args;
    if (c.workingDir) config.workingDir = c.workingDir;
    if (c.stdin) config.stdin = true;
    if (c.tty) config.tty = true;
    return config;
  }

  // ---- termination ----

  /**
   * Stops every running container: preStop hook, then SIGTERM with what is left of the grace
   * period, SIGKILL at its end (the runtime's stopContainer). Resolves once all have exited.
   */
  async killContainers(rec: PodRecord, graceSeconds: number): Promise<void> {
    const rt = this.d.containerRuntime;
    if (rec.sandboxId === null || !rt.status().ready) return;
    await this.observe(rec);
    this.d.probes.stop(rec);
    const specs = [...(rec.pod.spec.initContainers ?? []), ...rec.pod.spec.containers];
    const running = [...rec.instances.values()]
      .map((arr) => arr[0])
      .filter((c): c is RuntimeContainerStatus => c !== undefined && c.state === 'running');
    const deadline = this.now() + graceSeconds * 1000;
    await Promise.all(
      running.map(async (inst) => {
        const spec = specs.find((s) => s.name === inst.metadata.name);
        this.d.event(rec.pod, 'Normal', 'Killing', `Stopping container ${inst.metadata.name}`);
        const preStop = spec?.lifecycle?.preStop;
        if (spec && preStop && graceSeconds > 0) {
          const target = this.d.probes.target(rec, inst.id);
          const r = preStop.sleep
            ? await new Promise<{ ok: boolean; output: string }>((res) =>
                this.d.runtime.setTimeout(
                  () => res({ ok: true, output: '' }),
                  Math.min(preStop.sleep?.seconds ?? 0, graceSeconds) * 1000,
                ),
              )
            : await runHandler(preStop, spec, target, graceSeconds * 1000);
          if (!r.ok) {
            this.d.event(rec.pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${r.output}`);
          }
        }
        const left = Math.max(0, Math.ceil((deadline - this.now()) / 1000));
        // Upstream gives the container at least 2 s after a hook that used up the grace period.
        const grace = preStop && graceSeconds > 0 ? Math.max(2, left) : left;
        await rt.stopContainer(inst.id, grace).catch(() => undefined);
      }),
    );
    await this.observe(rec);
  }

  /**
   * The pod is being deleted (deletionTimestamp) or is gone from its source: stop its containers
   * within the grace period, post the final status, delete it from the API (grace 0) and, once it
   * is gone, remove its sandbox and volume directories.
   */
  private async terminate(rec: PodRecord): Promise<number | undefined> {
    const pod = rec.pod;
    const rt = this.d.containerRuntime;
    if (!rec.killed) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      if (rt.status().ready) {
        await this.killContainers(rec, grace);
        if (rec.sandboxId !== null) await rt.stopPodSandbox(rec.sandboxId).catch(() => undefined);
      }
      // With the runtime down its containers are already dead (stop() kills them all).
      rec.killed = true;
    }
    if (!rec.removed) {
      if (rt.status().ready) await this.observe(rec).catch(() => undefined);
      await this.publish(rec);
      await this.d.deleteFromApi(rec);
      return undefined;
    }
    // Gone from the source: clean up.
    if (rec.sandboxId !== null) {
      if (!rt.status().ready) return 2000;
      try {
        await rt.removePodSandbox(rec.sandboxId);
      } catch (err) {
        this.d.log.warn({ pod: pod.metadata.name, err: (err as Error).message }, 'failed to remove pod sandbox');
        return 2000;
      }
      rec.sandboxId = null;
    }
    if (this.d.prepareVolumes) {
      await fs.promises.rm(path.join(this.d.podsDir, rec.uid), { recursive: true, force: true }).catch(() => undefined);
    }
    this.d.crashBackoff.forgetPrefix(`${rec.uid}/`);
    this.d.pullBackoff.forgetPrefix(`${rec.uid}/`);
    for (const k of this.pullFailedAt.keys()) if (k.startsWith(`${rec.uid}/`)) this.pullFailedAt.delete(k);
    rec.finished = true;
    return undefined;
  }
}
