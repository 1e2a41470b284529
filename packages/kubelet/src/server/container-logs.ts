// Which container instance `GET /containerLogs/{ns}/{pod}/{container}` reads, and with which options:
// the kubelet decides from the pod status it computed (upstream's validateContainerLogStatus), so the
// error texts are the ones `kubectl logs` users know.
import type { ContainerStatus, Pod } from '@kemu/api';
import type { ContainerRuntime, LogOptions } from '../runtime/types.js';
import { KubeletServerError } from './errors.js';

/** The query of a containerLogs request (upstream PodLogOptions), validated. */
export interface ContainerLogQuery {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  /** ms since the epoch. */
  sinceTime?: number;
  limitBytes?: number;
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === 'false' || v === '0') return false;
  if (v === '' || v === 'true' || v === '1') return true;
  throw new KubeletServerError('KUBELET_BAD_REQUEST', `${name}: Invalid value: "${v}": must be a boolean`, 400);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) {
    throw new KubeletServerError('KUBELET_BAD_REQUEST', `${name}: Invalid value: "${v}": must be an integer`, 400);
  }
  return Number(v);
}

/** Parses and validates the query like upstream's ValidatePodLogOptions (messages worded alike). */
export function parseContainerLogQuery(q: URLSearchParams): ContainerLogQuery {
  const out: ContainerLogQuery = {
    follow: boolParam(q, 'follow'),
    previous: boolParam(q, 'previous'),
    timestamps: boolParam(q, 'timestamps'),
  };
  const tailLines = intParam(q, 'tailLines');
  const sinceSeconds = intParam(q, 'sinceSeconds');
  const limitBytes = intParam(q, 'limitBytes');
  const sinceTimeText = q.get('sinceTime');
  const problems: string[] = [];
  if (tailLines !== undefined) {
    if (tailLines < 0) problems.push(`tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`);
    else out.tailLines = tailLines;
  }
  if (limitBytes !== undefined) {
    if (limitBytes < 1) problems.push(`limitBytes: Invalid value: ${limitBytes}: must be greater than 0`);
    else out.limitBytes = limitBytes;
  }
  if (sinceSeconds !== undefined) {
    if (sinceSeconds < 1) problems.push(`sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
    else out.sinceSeconds = sinceSeconds;
  }
  if (sinceTimeText !== null && sinceTimeText !== '') {
    const ms = Date.parse(sinceTimeText);
    if (Number.isNaN(ms)) problems.push(`sinceTime: Invalid value: "${sinceTimeText}": must be an RFC3339 time`);
    else out.sinceTime = ms;
  }
  if (out.sinceSeconds !== undefined && out.sinceTime !== undefined) {
    problems.push('at most one of `sinceTime` or `sinceSeconds` may be specified');
  }
  if (problems.length > 0) throw new KubeletServerError('KUBELET_BAD_REQUEST', problems.join(', '), 400);
  return out;
}

/** The runtime's options for a validated query; `now` turns sinceSeconds into an instant. */
export function runtimeLogOptions(query: ContainerLogQuery, now: number): LogOptions {
  const opts: LogOptions = { timestamps: query.timestamps };
  // A previous instance has exited: there is nothing to follow (upstream ignores follow too).
  if (query.follow && !query.previous) opts.follow = true;
  if (query.tailLines !== undefined) opts.tailLines = query.tailLines;
  if (query.limitBytes !== undefined) opts.limitBytes = query.limitBytes;
  if (query.sinceTime !== undefined) opts.sinceTime = query.sinceTime;
  else if (query.sinceSeconds !== undefined) opts.sinceTime = now - query.sinceSeconds * 1000;
  return opts;
}

/** `containerd://abc` → `abc`: the runtime's own id behind a status's containerID. */
export function runtimeContainerId(containerID: string | undefined): string | undefined {
  if (containerID === undefined || containerID === '') return undefined;
  const sep = containerID.indexOf('://');
  return sep < 0 ? containerID : containerID.slice(sep + 3);
}

function findStatus(pod: Pod, container: string): ContainerStatus | undefined {
  const s = pod.status;
  return (
    s?.containerStatuses?.find((c) => c.name === container) ??
    s?.initContainerStatuses?.find((c) => c.name === container)
  );
}

/** Every container name of the pod (init containers first, as upstream lists them). */
export function containerNames(pod: Pod): string[] {
  return [...(pod.spec.initContainers ?? []).map((c) => c.name), ...pod.spec.containers.map((c) => c.name)];
}

/** What the kubelet knows about one container of one of its pods (the core's `findContainer`). */
export interface ContainerRef {
  pod: Pod;
  /** The newest instance (running or exited), null if never created. */
  containerId: string | null;
  /** The instance before it (for `--previous`), null if none is kept. */
  previousContainerId: string | null;
  running: boolean;
  /** Logs come from this file instead (an external static pod: a process the supervisor runs). */
  logFile?: string;
  /** Why this container has no logs here at all (an external pod without a log file). */
  noLogs?: string;
  /** The runtime holding the container, when the server serves several nodes (sim); else the server's. */
  runtime?: ContainerRuntime;
}

/** A ContainerRef read from a pod status's container IDs (for hosts that only keep statuses). */
export function containerRefFromStatus(pod: Pod, container: string): ContainerRef {
  const status = findStatus(pod, container);
  const { running, terminated } = status?.state ?? {};
  const current =
    runtimeContainerId(status?.containerID) ??
    (terminated !== undefined ? runtimeContainerId(terminated.containerID) : undefined);
  return {
    pod,
    containerId: current ?? null,
    previousContainerId: runtimeContainerId(status?.lastState?.terminated?.containerID) ?? null,
    running: running !== undefined && current !== undefined,
  };
}

/**
 * The runtime id of the instance whose logs were asked for, or a 400 worded like upstream's
 * `validateContainerLogStatus` (`container "x" in pod "y" is waiting to start: ContainerCreating`,
 * `previous terminated container "x" in pod "y" not found`, …).
 */
export function containerIdForLogs(ref: ContainerRef, container: string, previous: boolean): string {
  const podName = ref.pod.metadata.name ?? '';
  const bad = (message: string) => new KubeletServerError('KUBELET_BAD_REQUEST', message, 400);
  if (previous) {
    if (ref.previousContainerId === null) {
      throw bad(`previous terminated container "${container}" in pod "${podName}" not found`);
    }
    return ref.previousContainerId;
  }
  if (ref.containerId !== null) return ref.containerId;
  if (ref.noLogs !== undefined) throw bad(ref.noLogs);
  // Never created: say why from the waiting reason (the kubelet is still creating it by default).
  const reason = findStatus(ref.pod, container)?.state?.waiting?.reason || 'ContainerCreating';
  if (reason === 'ErrImagePull') {
    throw bad(`container "${container}" in pod "${podName}" is waiting to start: image can't be pulled`);
  }
  if (reason === 'ImagePullBackOff') {
    throw bad(`container "${container}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
  }
  throw bad(`container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
}
