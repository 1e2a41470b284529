/**
 * Observers narrate what the cluster does while a drill runs, each from what a user could watch:
 * informers over the apiserver's watch API (pods, nodes, events, kube-system leases), etcd's status
 * call on every member (leader and term), the apiserver's /readyz, and the supervisor's event log
 * (component starts, exits, restarts). Only changes are narrated, never the initial state.
 */
import fs from 'node:fs';
import type { Event, KubeObject, Lease, Node, Pod } from '@kemu/api';
import { DeletedFinalStateUnknown, SharedIndexInformer } from '@kemu/client';
import type { StatusResponse } from '@kemu/etcd';
import { type Runtime, systemRandom, systemRuntime } from '@kemu/runtime';
import type { DrillCluster } from './cluster.js';
import type { Timeline } from './timeline.js';

export interface Observer {
  stop(): Promise<void> | void;
}

function podKey(p: Pod): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`;
}

function readyOf(conditions: { type: string; status: string }[] | undefined): string | undefined {
  return conditions?.find((c) => c.type === 'Ready')?.status;
}

function ownerOf(p: Pod): string | undefined {
  const o = p.metadata.ownerReferences?.find((r) => r.controller) ?? p.metadata.ownerReferences?.[0];
  return o ? `${o.kind}/${o.name}` : undefined;
}

/** Pod lifecycle as the components drive it: created, scheduled, running/ready, terminating, deleted. */
export function describePodChange(old: Pod | undefined, now: Pod): { source: string; message: string }[] {
  const out: { source: string; message: string }[] = [];
  const name = podKey(now);
  const node = now.spec.nodeName;
  if (!old) {
    const owner = ownerOf(now);
    if (owner?.startsWith('Node/')) {
      // A mirror pod: the kubelet publishes its static pod (owner: the Node).
      out.push({ source: `kubelet/${node ?? owner.slice(5)}`, message: `mirror pod ${name} created for a static pod` });
    } else {
      out.push({
        source: owner ? 'kube-controller-manager' : 'kube-apiserver',
        message: `pod ${name} created${owner ? ` by ${owner}` : ''}${node ? ` on ${node}` : ''}`,
      });
    }
  } else if (!old.spec.nodeName && node) {
    out.push({ source: 'kube-scheduler', message: `pod ${name} scheduled to ${node}` });
  }
  const phase = now.status?.phase;
  if (old && phase && phase !== old.status?.phase) {
    out.push({ source: `kubelet/${node ?? '?'}`, message: `pod ${name} is ${phase}` });
  }
  const ready = readyOf(now.status?.conditions);
  if (old && ready && ready !== readyOf(old.status?.conditions)) {
    out.push({ source: `kubelet/${node ?? '?'}`, message: `pod ${name} Ready=${ready}` });
  }
  if (now.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp) {
    out.push({
      source: 'kube-apiserver',
      message: `pod ${name} Terminating${node ? ` on ${node}` : ''} (grace ${now.metadata.deletionGracePeriodSeconds ?? '?'} s)`,
    });
  }
  return out;
}

/**
 * Pod moves: a controller's pod leaves a node (Terminating or deleted) and the controller's next pod
 * is scheduled elsewhere. Pods have no identity across nodes, so a move is that pairing, per owner,
 * first gone first replaced.
 */
export class PodMoveTracker {
  private readonly gone = new Map<string, { pod: string; node: string }[]>();
  private readonly seenGone = new Set<string>();

  /** A pod of `owner` stopped counting on `node` (Terminating or deleted). */
  left(p: Pod): void {
    const owner = ownerOf(p);
    const uid = p.metadata.uid ?? podKey(p);
    if (!owner || owner.startsWith('Node/') || !p.spec.nodeName || this.seenGone.has(uid)) return;
    this.seenGone.add(uid);
    const q = this.gone.get(owner) ?? [];
    q.push({ pod: p.metadata.name ?? '', node: p.spec.nodeName });
    this.gone.set(owner, q);
  }

  /** A pod of the same owner was scheduled: the move it completes, if one is pending. */
  scheduled(p: Pod): string | undefined {
    const owner = ownerOf(p);
    const from = owner ? this.gone.get(owner)?.shift() : undefined;
    if (!from || !p.spec.nodeName) return undefined;
    const where =
      from.node === p.spec.nodeName ? `replaced on ${from.node}` : `moved ${from.node} → ${p.spec.nodeName}`;
    return `${owner}: ${where} (${from.pod} → ${p.metadata.name})`;
  }
}

/** Node readiness and taints, as the kubelet and the node-lifecycle controller change them. */
export function describeNodeChange(old: Node | undefined, now: Node): { source: string; message: string }[] {
  const out: { source: string; message: string }[] = [];
  const name = now.metadata.name ?? '';
  if (!old) {
    out.push({ source: `kubelet/${name}`, message: `node ${name} registered` });
    return out;
  }
  const before = old.status?.conditions?.find((c) => c.type === 'Ready');
  const after = now.status?.conditions?.find((c) => c.type === 'Ready');
  if (after && after.status !== before?.status) {
    // Unknown is the controller's verdict on a silent kubelet; True/False the kubelet's own report.
    const source = after.status === 'Unknown' ? 'kube-controller-manager' : `kubelet/${name}`;
    const state = after.status === 'True' ? 'Ready' : after.status === 'False' ? 'NotReady' : 'NotReady (Unknown)';
    out.push({ source, message: `node ${name} ${state}${after.reason ? ` (${after.reason})` : ''}` });
  }
  const taintKey = (t: { key: string; effect: string }): string => `${t.key}:${t.effect}`;
  const oldTaints = new Set((old.spec?.taints ?? []).map(taintKey));
  const newTaints = new Set((now.spec?.taints ?? []).map(taintKey));
  for (const t of newTaints)
    if (!oldTaints.has(t)) out.push({ source: 'kube-controller-manager', message: `node ${name} tainted ${t}` });
  for (const t of oldTaints)
    if (!newTaints.has(t)) out.push({ source: 'kube-controller-manager', message: `node ${name} taint ${t} removed` });
  if (Boolean(now.spec?.unschedulable) !== Boolean(old.spec?.unschedulable)) {
    out.push({
      source: 'kube-apiserver',
      message: `node ${name} ${now.spec?.unschedulable ? 'cordoned' : 'uncordoned'}`,
    });
  }
  return out;
}

function informer<T extends KubeObject>(
  cluster: DrillCluster,
  resource: string,
  runtime: Runtime,
  namespace?: string,
): SharedIndexInformer<T> {
  return new SharedIndexInformer<T>({
    listWatcher: cluster.api().resource<T>(resource, namespace ? { namespace } : {}),
    runtime,
    random: systemRandom(),
    // A drill wants to see the cluster again soon after the apiserver returns, not 30 s later.
    backoff: { initialDelayMs: 200, maxDelayMs: 2000 },
    name: resource,
  });
}

function watchObjects<T extends KubeObject>(
  inf: SharedIndexInformer<T>,
  timeline: Timeline,
  describe: (old: T | undefined, now: T) => { source: string; message: string }[],
  deleted: (obj: T, unseen: boolean) => { source: string; message: string } | undefined,
): void {
  inf.addEventHandler({
    onAdd: (obj, initial) => {
      if (initial) return;
      for (const d of describe(undefined, obj)) timeline.add('observed', d.source, d.message);
    },
    onUpdate: (old, now) => {
      if (old === now) return;
      for (const d of describe(old, now)) timeline.add('observed', d.source, d.message);
    },
    onDelete: (obj) => {
      const unseen = obj instanceof DeletedFinalStateUnknown;
      const d = deleted(unseen ? obj.obj : (obj as T), unseen);
      if (d) timeline.add('observed', d.source, d.message);
    },
  });
}

/** Pods, nodes, events and kube-system leases through informers over the wire API. */
export async function startApiObservers(
  cluster: DrillCluster,
  timeline: Timeline,
  runtime: Runtime = systemRuntime,
): Promise<Observer> {
  const pods = informer<Pod>(cluster, 'pods', runtime);
  watchObjects(pods, timeline, describePodChange, (p, unseen) => ({
    source: 'kube-apiserver',
    message: `pod ${podKey(p)} deleted${p.spec.nodeName ? ` (was on ${p.spec.nodeName})` : ''}${unseen ? ' (noticed on relist)' : ''}`,
  }));
  const moves = new PodMoveTracker();
  pods.addEventHandler({
    onAdd: (p, initial) => {
      if (!initial && p.spec.nodeName) narrateMove(moves.scheduled(p));
    },
    onUpdate: (old, now) => {
      if (now.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) moves.left(now);
      if (now.spec.nodeName && !old.spec.nodeName) narrateMove(moves.scheduled(now));
    },
    onDelete: (p) => moves.left(p instanceof DeletedFinalStateUnknown ? p.obj : p),
  });
  function narrateMove(m: string | undefined): void {
    if (m) timeline.add('observed', 'pod-move', m);
  }
  const nodes = informer<Node>(cluster, 'nodes', runtime);
  watchObjects(nodes, timeline, describeNodeChange, (n) => ({
    source: 'kube-apiserver',
    message: `node ${n.metadata.name ?? ''} deleted`,
  }));
  const events = informer<Event>(cluster, 'events', runtime);
  events.addEventHandler({
    onAdd: (e, initial) => {
      if (!initial && !QUIET_REASONS.has(e.reason ?? '')) timeline.add('observed', eventSource(e), describeEvent(e));
    },
    onUpdate: (old, now) => {
      if (old !== now && (now.count ?? 1) > (old.count ?? 1)) {
        timeline.add('observed', eventSource(now), `${describeEvent(now)} (x${now.count})`);
      }
    },
  });
  const leases = informer<Lease>(cluster, 'leases.coordination.k8s.io', runtime, 'kube-system');
  const holder = (l: Lease | undefined): string => l?.spec?.holderIdentity ?? '';
  watchObjects(
    leases,
    timeline,
    (old, now) =>
      holder(now) !== holder(old)
        ? [
            {
              source: now.metadata.name ?? 'lease',
              message: holder(now)
                ? `leader is now ${holder(now)} (lease ${now.metadata.name}, transitions ${now.spec?.leaseTransitions ?? 0})`
                : `lease ${now.metadata.name} released`,
            },
          ]
        : [],
    () => undefined,
  );
  const all = [pods, nodes, events, leases];
  for (const i of all) i.start();
  await Promise.race([Promise.all(all.map((i) => i.whenSynced())), new Promise((r) => setTimeout(r, 10_000))]);
  return {
    stop: () => {
      for (const i of all) i.stop();
    },
  };
}

/** Events that say nothing in an emulator (images are not really pulled). */
const QUIET_REASONS = new Set(['Pulling', 'Pulled']);

/** `kubelet/worker-2` for a node's events, the controller's or scheduler's name otherwise. */
export function eventSource(e: Event): string {
  const component = e.source?.component ?? e.reportingComponent ?? 'event';
  return e.source?.host ? `${component}/${e.source.host}` : component;
}

function describeEvent(e: Event): string {
  const o = e.involvedObject;
  return `${e.type === 'Warning' ? 'Warning ' : ''}${e.reason ?? ''} ${o.kind ?? ''}/${o.name ?? ''}: ${e.message ?? ''}`;
}

/** Polls every etcd member's status: reachability and who leads in which term. */
export function startEtcdObserver(cluster: DrillCluster, timeline: Timeline, intervalMs = 250): Observer {
  const reachable = new Map<string, boolean>();
  let leader: string | undefined;
  let term = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const statuses = await cluster.etcdStatuses(Math.max(200, intervalMs * 2));
      if (stopped) break;
      for (const [name, st] of statuses) {
        const up = !(st instanceof Error);
        const before = reachable.get(name);
        if (before !== undefined && before !== up) {
          timeline.add('observed', name, up ? `etcd member ${name} answers again` : `etcd member ${name} unreachable`);
        }
        reachable.set(name, up);
      }
      const views = [...statuses.values()].filter((s): s is StatusResponse => !(s instanceof Error));
      const leaderView = views.find((s) => s.leaderName !== '' && s.leaderName === s.name);
      const now = leaderView?.name;
      if (leaderView && (now !== leader || leaderView.raftTerm !== term)) {
        timeline.add('observed', 'etcd', `leader is ${now} (term ${leaderView.raftTerm})`);
        term = leaderView.raftTerm;
      } else if (!leaderView && leader !== undefined) {
        timeline.add('observed', 'etcd', `no leader (${views.length}/${statuses.size} members answer)`);
      }
      leader = now;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Polls the apiserver's /readyz: narrates when it stops answering and when it answers again. */
export function startApiserverObserver(cluster: DrillCluster, timeline: Timeline, intervalMs = 250): Observer {
  let up: boolean | undefined;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      let now: boolean;
      let why = '';
      try {
        const res = await fetch(`${cluster.apiserverUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
        now = res.ok;
        if (!now) why = `HTTP ${res.status}`;
      } catch (err) {
        now = false;
        const cause = (err as { cause?: { code?: string } }).cause;
        why = cause?.code ?? (err instanceof Error ? err.message : String(err));
      }
      if (up !== undefined && now !== up) {
        timeline.add('observed', 'kube-apiserver', now ? 'apiserver ready again' : `apiserver not answering (${why})`);
      }
      up = now;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

interface SupervisorLogLine {
  event: string;
  component: string;
  pid?: number | null;
  code?: number | null;
  signal?: string | null;
  planned?: boolean;
  restarts?: number;
  backoffMs?: number;
}

export function describeSupervisorLine(e: SupervisorLogLine): string | undefined {
  switch (e.event) {
    case 'start':
      return `started ${e.component} (pid ${e.pid ?? '?'}${e.restarts ? `, restart #${e.restarts}` : ''})`;
    case 'exit':
      return `${e.component} exited (${e.signal ? `signal ${e.signal}` : `code ${e.code}`}${e.planned ? ', stopped on purpose' : ''})`;
    case 'restart':
      return `restarting ${e.component} in ${e.backoffMs} ms`;
    case 'stop':
      return `stopped ${e.component}`;
    default:
      return undefined;
  }
}

/** Follows the supervisor's events.jsonl from its current end. */
export function startSupervisorObserver(eventLog: string, timeline: Timeline, intervalMs = 200): Observer {
  let offset = fs.existsSync(eventLog) ? fs.statSync(eventLog).size : 0;
  let partial = '';
  const poll = (): void => {
    let size: number;
    try {
      size = fs.statSync(eventLog).size;
    } catch {
      return;
    }
    if (size <= offset) return;
    const buf = Buffer.alloc(size - offset);
    const fd = fs.openSync(eventLog, 'r');
    try {
      fs.readSync(fd, buf, 0, buf.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    offset = size;
    const lines = (partial + buf.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.trim()) continue;
      try {
        const msg = describeSupervisorLine(JSON.parse(l) as SupervisorLogLine);
        if (msg) timeline.add('observed', 'supervisor', msg);
      } catch {
        // a line being written
      }
    }
  };
  const timer = setInterval(poll, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      poll();
    },
  };
}

/** Every observer a drill gets by default. */
export async function startDefaultObservers(cluster: DrillCluster, timeline: Timeline): Promise<Observer> {
  const started: Observer[] = [
    startSupervisorObserver(cluster.state.eventLog, timeline),
    startEtcdObserver(cluster, timeline),
    startApiserverObserver(cluster, timeline),
  ];
  started.push(await startApiObservers(cluster, timeline));
  return {
    stop: async () => {
      await Promise.all(started.map((o) => o.stop()));
    },
  };
}
