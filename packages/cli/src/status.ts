import Table from 'cli-table3';
import { listNodes, type NodeView } from './cluster-api.js';
import { etcdStatuses, isEtcdLeader } from './etcd-status.js';
import { isAlive, isSameProcess, readPidFile } from './pid-files.js';
import { readJson, StateDir } from './state-dir.js';
import type { ComponentStatus } from './supervisor.js';
import { type ClusterPlan, planCluster } from './topology.js';
import { loadSpec, type UpFlags } from './up.js';

export interface EtcdMemberView {
  isLeader: boolean;
  leaderName: string;
  term: number;
  raftIndex: number;
}

export interface ComponentView {
  name: string;
  kind: string;
  pid: number | null;
  /**
   * running | paused | backoff (crashed, restart pending) | stopping | stopped (on purpose) |
   * exited (not running, no supervisor) | unsupervised (running, its supervisor is gone) | not available
   */
  state: string;
  restarts: number;
  uptimeSeconds: number | null;
  etcd?: EtcdMemberView;
  reason?: string;
}

export interface ClusterStatus {
  stateDir: string;
  supervisor: { pid: number | null; running: boolean };
  etcd: { leader: string | null; term: number | null; members: number };
  apiserver: { url: string | null; reachable: boolean };
  /** From the API; `expected` are the plan's nodes, each with its Ready status ('' when not registered). */
  nodes: Array<NodeView & { registered: boolean }>;
  components: ComponentView[];
}

export async function collectStatus(flags: UpFlags): Promise<ClusterStatus> {
  return collectPlanStatus(planCluster(loadSpec(flags)));
}

export async function collectPlanStatus(plan: ClusterPlan): Promise<ClusterStatus> {
  const state = new StateDir(plan.spec.stateDir);
  const sup = readPidFile(state.supervisorPidFile);
  const supRunning = sup !== undefined && isSameProcess(sup);
  const file = readJson<{ components: ComponentStatus[] }>(state.statusFile);
  const known = new Map((file?.components ?? []).map((c) => [c.name, c]));

  const [etcd, apiNodes] = await Promise.all([
    etcdStatuses(plan, 'kemu-cli/status'),
    plan.apiserverUrl ? listNodes(plan.apiserverUrl, 1500).catch(() => undefined) : Promise.resolve(undefined),
  ]);

  const now = Date.now();
  const components: ComponentView[] = plan.components.map((c) => {
    if (!c.available) {
      return {
        name: c.name,
        kind: c.kind,
        pid: null,
        state: 'not available',
        restarts: 0,
        uptimeSeconds: null,
        reason: c.reason ?? '',
      };
    }
    const s = known.get(c.name);
    // Without a live supervisor the status file is stale: trust only pids that still run.
    const pidAlive = s?.pid != null && isAlive(s.pid);
    let st: string = s?.state ?? 'exited';
    if (!supRunning) st = pidAlive ? 'unsupervised' : 'exited';
    const view: ComponentView = {
      name: c.name,
      kind: c.kind,
      pid: pidAlive ? (s?.pid ?? null) : null,
      state: st,
      restarts: s?.restarts ?? 0,
      uptimeSeconds: pidAlive && s?.startedAt ? Math.round((now - s.startedAt) / 1000) : null,
    };
    const e = etcd.get(c.name);
    if (e) {
      view.etcd = { isLeader: isEtcdLeader(e), leaderName: e.leaderName, term: e.raftTerm, raftIndex: e.raftIndex };
    }
    return view;
  });
  const leaderView = components.find((c) => c.etcd?.isLeader);
  const byName = new Map((apiNodes ?? []).map((n) => [n.name, n]));
  const nodes = plan.nodes.map((n) => {
    const v = byName.get(n.name);
    return v
      ? { ...v, registered: true }
      : {
          name: n.name,
          ready: '',
          heartbeatAt: 0,
          unschedulable: false,
          roles: n.index === 0 ? ['control-plane'] : [],
          registered: false,
        };
  });
  // Nodes registered by hand or left from another topology are shown too.
  for (const v of apiNodes ?? [])
    if (!plan.nodes.some((n) => n.name === v.name)) nodes.push({ ...v, registered: true });
  return {
    stateDir: plan.spec.stateDir,
    supervisor: { pid: supRunning ? (sup?.pid ?? null) : null, running: supRunning },
    etcd: { leader: leaderView?.name ?? null, term: leaderView?.etcd?.term ?? null, members: plan.spec.etcd },
    apiserver: { url: plan.apiserverUrl ?? null, reachable: apiNodes !== undefined },
    nodes,
    components,
  };
}

function uptime(s: number | null): string {
  if (s === null) return '';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

function nodeState(n: ClusterStatus['nodes'][number]): string {
  if (!n.registered) return 'NotRegistered';
  const r = n.ready === 'True' ? 'Ready' : n.ready === 'Unknown' ? 'NotReady(Unknown)' : 'NotReady';
  return n.unschedulable ? `${r},SchedulingDisabled` : r;
}

/** The status as text: a header line, the components, the nodes. Fits one screen for the default cluster. */
export function renderStatus(st: ClusterStatus): string {
  const lines: string[] = [];
  lines.push(
    `state dir ${st.stateDir}; supervisor ${st.supervisor.running ? `running (pid ${st.supervisor.pid})` : 'not running'}; ` +
      `etcd leader ${st.etcd.leader ?? 'none'}${st.etcd.term !== null ? ` (term ${st.etcd.term})` : ''}; ` +
      `apiserver ${st.apiserver.url ? `${st.apiserver.url} ${st.apiserver.reachable ? 'up' : 'unreachable'}` : 'none'}`,
  );
  const table = new Table({
    head: ['NAME', 'KIND', 'PID', 'STATE', 'RESTARTS', 'UPTIME', 'ETCD'],
    style: { head: [], border: [] },
    // One rule under the header only, so the whole cluster still fits on one screen.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const c of st.components) {
    const etcd = c.etcd ? `${c.etcd.isLeader ? 'leader' : 'follower'} term ${c.etcd.term}` : '';
    table.push([c.name, c.kind, c.pid ?? '', c.state, c.restarts, uptime(c.uptimeSeconds), etcd]);
  }
  lines.push(table.toString());
  if (st.apiserver.url) {
    const ready = st.nodes.filter((n) => nodeState(n) === 'Ready');
    // Many (simulated) nodes: count the Ready ones and name only the others, to stay on one screen.
    const text =
      st.nodes.length <= 8
        ? st.nodes.map((n) => `${n.name} ${nodeState(n)}`).join(', ')
        : `${ready.length}/${st.nodes.length} Ready${
            ready.length < st.nodes.length
              ? `; ${st.nodes
                  .filter((n) => nodeState(n) !== 'Ready')
                  .slice(0, 8)
                  .map((n) => `${n.name} ${nodeState(n)}`)
                  .join(', ')}`
              : ''
          }`;
    lines.push(`nodes: ${text || (st.apiserver.reachable ? 'none' : '(apiserver unreachable)')}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function statusCommand(
  flags: UpFlags & { output?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const st = await collectStatus(flags);
  if (flags.output === 'json') {
    out.write(`${JSON.stringify(st, null, 2)}\n`);
    return 0;
  }
  out.write(renderStatus(st));
  return 0;
}
