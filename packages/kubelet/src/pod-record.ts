// What the kubelet knows about one pod it manages: the desired Pod, where it came from, and the
// runtime state seen at the last sync. One record per pod uid; only the pod's worker mutates it.
import type { Pod, PodStatus } from '@kemu/api';
import type { TimerHandle } from '@kemu/runtime';
import type { ProbeKind, ProbeWorker } from './probes.js';
import type { ContainerStatus as RuntimeContainerStatus } from './runtime/types.js';

export interface TerminatedInfo {
  id: string;
  attempt: number;
  exitCode: number;
  reason: string;
  message: string;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface WaitingInfo {
  reason: string;
  message: string;
}

export interface TerminalState {
  phase: 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
}

export interface PodRecord {
  uid: string;
  pod: Pod;
  /** `api` or the name of an added PodSource. */
  source: string;
  /** Observed by someone else (pid-file static pods): never run, never reported. */
  external: boolean;
  /** Gone from its source (deleted from the API, manifest removed). */
  removed: boolean;

  sandboxId: string | null;
  sandboxAttempt: number;
  podIP: string | null;
  /** Instances in the current sandbox by container name, newest attempt first. */
  instances: Map<string, RuntimeContainerStatus[]>;
  /** Highest attempt created per container (its restartCount), kept across sandboxes. */
  attempts: Map<string, number>;
  /** Exited instances per container, newest first (at most two: for state and lastState). */
  terminations: Map<string, TerminatedInfo[]>;
  /** Why a container is not running now (ErrImagePull, CrashLoopBackOff, …). */
  waiting: Map<string, WaitingInfo>;
  /** Probe workers per container. */
  probes: Map<string, Partial<Record<ProbeKind, ProbeWorker>>>;
  startTime: number | undefined;
  /** Set once the pod reached Succeeded/Failed: nothing is started again. */
  terminal: TerminalState | null;
  /** The pod's containers have been stopped for deletion/removal. */
  killed: boolean;
  /** Final delete sent / record forgotten. */
  finished: boolean;

  syncing: boolean;
  again: boolean;
  timer: TimerHandle | undefined;
  /** The last status computed for this pod. */
  status: PodStatus | undefined;
}

export function newPodRecord(pod: Pod, source: string, external: boolean): PodRecord {
  const rec: PodRecord = {
    uid: pod.metadata.uid ?? '',
    pod,
    source,
    external,
    removed: false,
    sandboxId: null,
    sandboxAttempt: 0,
    podIP: null,
    instances: new Map(),
    attempts: new Map(),
    terminations: new Map(),
    waiting: new Map(),
    probes: new Map(),
    startTime: undefined,
    terminal: null,
    killed: false,
    finished: false,
    syncing: false,
    again: false,
    timer: undefined,
    status: undefined,
  };
  // A restarted kubelet continues the restart counts the API already shows.
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    if (cs.containerID) rec.attempts.set(cs.name, cs.restartCount);
  }
  return rec;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}

/** `name_namespace(uid)`, how upstream names a pod in messages. */
export function podDesc(pod: Pod): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid ?? ''})`;
}
