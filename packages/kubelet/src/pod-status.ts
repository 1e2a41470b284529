// A pod's status from what the kubelet observed (upstream kubelet_pods.go generateAPIPodStatus,
// getPhase and the status manager's condition rules). Pure: the record, the probe results and the
// clock in, a PodStatus out, so the conversion is unit-tested without a runtime.
import { createHash } from 'node:crypto';
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from '@kemu/api';
import { formatTime, podQOSClass } from '@kemu/api';
import type { PodRecord, TerminatedInfo } from './pod-record.js';
import type { ContainerStatus as RuntimeContainerStatus } from './runtime/types.js';

export interface ProbeView {
  /** Readiness: true when the container has no readiness probe or it succeeded. */
  ready(container: string): boolean;
  /** Startup: true when the container has no startup probe or it succeeded. */
  started(container: string): boolean;
}

export const KUBELET_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'] as const;

export function containerIdOf(id: string): string {
  return `kemu://${id}`;
}

function time(ms: number | null | undefined): string | undefined {
  return ms === null || ms === undefined ? undefined : formatTime(ms);
}

function terminatedState(t: TerminatedInfo): ContainerState {
  const term: NonNullable<ContainerState['terminated']> = {
    exitCode: t.exitCode,
    reason: t.reason || (t.exitCode === 0 ? 'Completed' : 'Error'),
    containerID: containerIdOf(t.id),
  };
  if (t.message) term.message = t.message;
  const s = time(t.startedAt);
  const f = time(t.finishedAt);
  if (s) term.startedAt = s;
  if (f) term.finishedAt = f;
  return { terminated: term };
}

export function terminatedInfo(c: RuntimeContainerStatus): TerminatedInfo {
  return {
    id: c.id,
    attempt: c.metadata.attempt,
    exitCode: c.exitCode ?? 0,
    reason: c.reason,
    message: c.message,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
  };
}

function containerStatus(rec: PodRecord, c: Container, probes: ProbeView, defaultWaiting: string): ContainerStatus {
  const cur = rec.instances.get(c.name)?.[0];
  const terms = rec.terminations.get(c.name) ?? [];
  const waiting = rec.waiting.get(c.name);
  let state: ContainerState;
  let last: TerminatedInfo | undefined;
  if (cur && cur.state === 'running') {
    const s = time(cur.startedAt);
    state = { running: s ? { startedAt: s } : {} };
    last = terms.find((t) => t.attempt < cur.metadata.attempt);
  } else if (cur && cur.state === 'created') {
    state = { waiting: { reason: 'ContainerCreating' } };
    last = terms.find((t) => t.attempt < cur.metadata.attempt);
  } else if (cur && cur.state === 'exited') {
    const mine = terms.find((t) => t.id === cur.id) ?? terminatedInfo(cur);
    if (waiting) {
      state = { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
      last = mine;
    } else {
      state = terminatedState(mine);
      last = terms.find((t) => t.attempt < mine.attempt);
    }
  } else {
    state = {
      waiting: waiting
        ? { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) }
        : { reason: defaultWaiting },
    };
    last = terms[0];
  }
  const running = state.running !== undefined;
  const out: ContainerStatus = {
    name: c.name,
    state,
    lastState: last ? terminatedState(last) : {},
    ready: running && probes.started(c.name) && probes.ready(c.name),
    restartCount: rec.attempts.get(c.name) ?? 0,
    image: c.image ?? '',
    imageID: cur?.imageRef ?? '',
    started: running && probes.started(c.name),
  };
  if (cur) out.containerID = containerIdOf(cur.id);
  else if (last && !state.waiting) out.containerID = containerIdOf(last.id);
  return out;
}

/** Whether every init container has exited 0 (or there are none). */
export function initDone(rec: PodRecord): boolean {
  for (const c of rec.pod.spec.initContainers ?? []) {
    const cur = rec.instances.get(c.name)?.[0];
    // A sidecar counts once it has been started.
    if (c.restartPolicy === 'Always') {
      if (cur?.state === 'running' || (cur === undefined ? rec.attempts.has(c.name) : cur.state === 'exited')) continue;
      return false;
    }
    const done =
      (cur?.state === 'exited' && cur.exitCode === 0) ||
      (cur === undefined &&
        (rec.terminations.get(c.name) ?? []).some((t) => t.exitCode === 0) &&
        rec.sandboxId !== null);
    if (!done) return false;
  }
  return true;
}

/** Upstream getPhase over the container statuses. */
export function podPhase(pod: Pod, init: ContainerStatus[], app: ContainerStatus[], initialized: boolean): PodPhase {
  const policy = pod.spec.restartPolicy ?? 'Always';
  if (!initialized) {
    const failedInit = init.some((s) => s.state?.terminated && s.state.terminated.exitCode !== 0);
    const waitingAfterFail = init.some(
      (s) => s.state?.waiting && s.lastState?.terminated && s.lastState.terminated.exitCode !== 0,
    );
    if (policy === 'Never' && failedInit) return 'Failed';
    if (policy === 'Never' && waitingAfterFail) return 'Failed';
    return 'Pending';
  }
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        stopped++;
        if (s.lastState.terminated.exitCode === 0) succeeded++;
      } else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function cond(
  prev: PodCondition[] | undefined,
  type: string,
  ok: boolean,
  now: number,
  reason?: string,
  message?: string,
): PodCondition {
  const status = ok ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  const c: PodCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime:
      old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : formatTime(now),
  };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

export interface StatusInput {
  rec: PodRecord;
  probes: ProbeView;
  nodeIP: string;
  now: number;
  /** Conditions from the API's current status (owned by others, and transition times to keep). */
  current: PodStatus | undefined;
}

/** The complete status the kubelet wants the pod to have. */
export function computePodStatus({ rec, probes, nodeIP, now, current }: StatusInput): PodStatus {
  const pod = rec.pod;
  const initialized = initDone(rec);
  const initStatuses = (pod.spec.initContainers ?? []).map((c) => containerStatus(rec, c, probes, 'PodInitializing'));
  const appStatuses = pod.spec.containers.map((c) =>
    containerStatus(rec, c, probes, initialized ? 'ContainerCreating' : 'PodInitializing'),
  );
  const regularInit = initStatuses.filter(
    (s) => !(pod.spec.initContainers ?? []).some((c) => c.name === s.name && c.restartPolicy === 'Always'),
  );
  let phase: PodPhase = rec.terminal?.phase ?? podPhase(pod, regularInit, appStatuses, initialized);
  // A pod being deleted whose containers are all gone ends in a terminal phase (since v1.27).
  if (!rec.terminal && rec.killed) {
    phase = appStatuses.every((s) => s.state?.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  const prev = current?.conditions ?? rec.status?.conditions;
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const sidecars = new Set(
    (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
  );
  const unreadyInit = initStatuses
    .filter((s) => !(s.state?.terminated?.exitCode === 0) && !(sidecars.has(s.name) && s.started))
    .map((s) => s.name);
  const unready = appStatuses.filter((s) => !s.ready).map((s) => s.name);
  const containersReady = unready.length === 0 && !terminal;
  const gatesOk = (pod.spec.readinessGates ?? []).every(
    (g) => current?.conditions?.find((c) => c.type === g.conditionType)?.status === 'True',
  );
  const sandboxReady = rec.sandboxId !== null && !terminal && !rec.killed;
  const notReadyReason = terminal && phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady';
  const notReadyMsg = unready.length > 0 ? `containers with unready status: [${unready.join(' ')}]` : undefined;
  const kubeletConds: PodCondition[] = [
    cond(prev, 'PodReadyToStartContainers', sandboxReady, now),
    cond(
      prev,
      'Initialized',
      initialized || (terminal && phase === 'Succeeded'),
      now,
      'ContainersNotInitialized',
      `containers with incomplete status: [${unreadyInit.join(' ')}]`,
    ),
    cond(
      prev,
      'Ready',
      containersReady && gatesOk,
      now,
      notReadyReason,
      containersReady ? 'the status of pod readiness gate is not "True"' : notReadyMsg,
    ),
    cond(prev, 'ContainersReady', containersReady, now, notReadyReason, notReadyMsg),
  ];
  if (terminal && phase === 'Succeeded') {
    for (const c of kubeletConds) if (c.type === 'Ready' || c.type === 'ContainersReady') delete c.message;
  }
  const others = (current?.conditions ?? []).filter((c) => !(KUBELET_CONDITIONS as readonly string[]).includes(c.type));
  if (!others.some((c) => c.type === 'PodScheduled')) {
    others.unshift({
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: formatTime(rec.startTime ?? now),
    });
  }
  const conditions = [...kubeletConds.slice(0, 2), ...kubeletConds.slice(2), ...others];
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: nodeIP,
    hostIPs: [{ ip: nodeIP }],
    qosClass: podQOSClass(pod.spec),
  };
  const podIP = rec.podIP ?? current?.podIP;
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  if (rec.startTime !== undefined) status.startTime = formatTime(rec.startTime);
  if (initStatuses.length > 0) status.initContainerStatuses = initStatuses;
  status.containerStatuses = appStatuses;
  if (rec.terminal?.reason) status.reason = rec.terminal.reason;
  if (rec.terminal?.message) status.message = rec.terminal.message;
  if (current?.nominatedNodeName) status.nominatedNodeName = current.nominatedNodeName;
  return status;
}

/**
 * A digest of a status's canonical JSON, to tell whether a write would change anything (a digest,
 * not the JSON itself: one is kept per pod, and 10,000 sim pods' JSON would cost megabytes).
 */
export function statusFingerprint(s: PodStatus | undefined): string {
  return digest(canonicalJson(s ?? {}));
}

export function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

function canonicalJson(s: unknown): string {
  return JSON.stringify(s, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}
