// The pod row as upstream printPod builds it (kubectl 1.32): READY counts (sidecars included),
// STATUS from phase/reason, init progress, container waiting/terminated reasons, Terminating,
// RESTARTS with the `(5s ago)` suffix, and the wide IP / NODE / NOMINATED NODE / READINESS GATES.
import type { Container, ContainerStatus, Pod, PodCondition } from '../types/core.js';
import { ageCol, col, int, nameCol, type Printer } from './common.js';
import { timestampSince } from './duration.js';

function isRestartableInit(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function conditionTrue(conds: PodCondition[] | undefined, type: string): boolean {
  return (conds ?? []).some((c) => c.type === type && c.status === 'True');
}

function laterOf(current: string | null, candidate: string | undefined): string | null {
  if (candidate === undefined || candidate === '') return current;
  if (current === null) return candidate;
  return Date.parse(candidate) > Date.parse(current) ? candidate : current;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);
const NODE_UNREACHABLE_REASON = 'NodeLost';

/** The STATUS, READY, RESTARTS cells' inputs for one pod. */
export function podSummary(pod: Pod): { ready: string; status: string; restarts: number; lastRestart: string | null } {
  const spec = pod.spec ?? { containers: [] };
  const st = pod.status ?? {};
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = (spec.containers ?? []).length;
  let readyContainers = 0;
  let lastRestart: string | null = null;
  let lastRestartableInitRestart: string | null = null;

  let reason: string = st.phase ?? '';
  if (st.reason !== undefined && st.reason !== '') reason = st.reason;
  for (const c of st.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initByName = new Map<string, Container>();
  for (const c of spec.initContainers ?? []) {
    initByName.set(c.name, c);
    if (isRestartableInit(c)) totalContainers++;
  }

  let initializing = false;
  const initStatuses: ContainerStatus[] = st.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i] as ContainerStatus;
    restarts += int(cs.restartCount);
    lastRestart = laterOf(lastRestart, cs.lastState?.terminated?.finishedAt);
    const sidecar = isRestartableInit(initByName.get(cs.name));
    if (sidecar) {
      restartableInitRestarts += int(cs.restartCount);
      lastRestartableInitRestart = laterOf(lastRestartableInitRestart, cs.lastState?.terminated?.finishedAt);
    }
    const term = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (term !== undefined && term.exitCode === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) readyContainers++;
      continue;
    }
    if (term !== undefined) {
      if (term.reason === undefined || term.reason === '') {
        reason =
          term.signal !== undefined && term.signal !== 0
            ? `Init:Signal:${term.signal}`
            : `Init:ExitCode:${term.exitCode}`;
      } else {
        reason = `Init:${term.reason}`;
      }
    } else if (
      waiting !== undefined &&
      waiting.reason !== undefined &&
      waiting.reason !== '' &&
      waiting.reason !== 'PodInitializing'
    ) {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(st.conditions, 'Initialized')) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = st.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] as ContainerStatus;
      restarts += int(cs.restartCount);
      lastRestart = laterOf(lastRestart, cs.lastState?.terminated?.finishedAt);
      const waiting = cs.state?.waiting;
      const term = cs.state?.terminated;
      if (waiting !== undefined && waiting.reason !== undefined && waiting.reason !== '') {
        reason = waiting.reason;
      } else if (term !== undefined && term.reason !== undefined && term.reason !== '') {
        reason = term.reason;
      } else if (term !== undefined) {
        reason = term.signal !== undefined && term.signal !== 0 ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      } else if (cs.ready && cs.state?.running !== undefined) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed but another still runs is shown by readiness.
    if (reason === 'Completed' && hasRunning) {
      reason = conditionTrue(st.conditions, 'Ready') ? 'Running' : 'NotReady';
    }
  }

  const deleting = pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  if (deleting && st.reason === NODE_UNREACHABLE_REASON) reason = 'Unknown';
  else if (deleting && !TERMINAL.has(st.phase ?? '')) reason = 'Terminating';

  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts, lastRestart };
}

export const podPrinter: Printer<Pod> = {
  columns: [
    nameCol,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageCol,
    col(
      'IP',
      'string',
      'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      true,
    ),
    col('Node', 'string', 'NodeName indicates in which node this pod is scheduled.', true),
    col(
      'Nominated Node',
      'string',
      'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
      true,
    ),
    col(
      'Readiness Gates',
      'string',
      'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
      true,
    ),
  ],
  cells(pod, ctx) {
    const s = podSummary(pod);
    const restarts =
      s.restarts !== 0 && s.lastRestart !== null
        ? `${s.restarts} (${timestampSince(s.lastRestart, ctx.now)} ago)`
        : String(s.restarts);
    const st = pod.status ?? {};
    // Upstream reads podIPs[0] only; podIP is a fallback for writers that set just the singular field.
    let ip = st.podIPs?.[0]?.ip ?? st.podIP ?? '';
    if (ip === '') ip = '<none>';
    const node = pod.spec?.nodeName || '<none>';
    const nominated = st.nominatedNodeName || '<none>';
    let gates = '<none>';
    const rg = pod.spec?.readinessGates ?? [];
    if (rg.length > 0) {
      let trueCount = 0;
      for (const g of rg) {
        const c = (st.conditions ?? []).find((x) => x.type === g.conditionType);
        if (c?.status === 'True') trueCount++;
      }
      gates = `${trueCount}/${rg.length}`;
    }
    return [
      pod.metadata.name ?? '',
      s.ready,
      s.status,
      restarts,
      timestampSince(pod.metadata.creationTimestamp, ctx.now),
      ip,
      node,
      nominated,
      gates,
    ];
  },
  conditions(pod) {
    if (pod.status?.phase === 'Succeeded') {
      return [
        { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
      ];
    }
    if (pod.status?.phase === 'Failed') {
      return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
    }
    return undefined;
  },
};
