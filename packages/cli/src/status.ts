import { EtcdClient, type StatusResponse, wireConnectionFactory } from '@kemu/etcd';
import Table from 'cli-table3';
import { isAlive, isSameProcess, readPidFile } from './pid-files.js';
import { readJson, StateDir } from './state-dir.js';
import type { ComponentStatus } from './supervisor.js';
import { planCluster } from './topology.js';
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
  components: ComponentView[];
}

export async function collectStatus(flags: UpFlags): Promise<ClusterStatus> {
  const spec = loadSpec(flags);
  const state = new StateDir(spec.stateDir);
  const plan = planCluster(spec);
  const sup = readPidFile(state.supervisorPidFile);
  const supRunning = sup !== undefined && isSameProcess(sup);
  const file = readJson<{ components: ComponentStatus[] }>(state.statusFile);
  const known = new Map((file?.components ?? []).map((c) => [c.name, c]));

  const client = new EtcdClient({
    endpoints: plan.etcdEndpoints,
    connect: wireConnectionFactory({ identity: 'kemu-cli/status' }),
    callTimeoutMs: 1500,
  });
  const etcdStatus = new Map<string, StatusResponse>();
  // The wire's timers are unref'd: with every member down nothing else would keep this process
  // alive until the status calls time out, and it would exit silently.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await Promise.all(
      plan.components
        .filter((c) => c.kind === 'etcd' && c.endpoint)
        .map(async (c) => {
          try {
            etcdStatus.set(c.name, await client.status(c.endpoint!, { timeoutMs: 1000 }));
          } catch {
            // down or unreachable: shown as such
          }
        }),
    );
  } finally {
    clearInterval(keepAlive);
    await client.close();
  }

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
    let st: string = s?.state ?? 'stopped';
    if (!supRunning) st = pidAlive ? 'unsupervised' : 'stopped';
    const view: ComponentView = {
      name: c.name,
      kind: c.kind,
      pid: pidAlive ? (s?.pid ?? null) : null,
      state: st,
      restarts: s?.restarts ?? 0,
      uptimeSeconds: pidAlive && s?.startedAt ? Math.round((now - s.startedAt) / 1000) : null,
    };
    const e = etcdStatus.get(c.name);
    if (e) {
      view.etcd = {
        isLeader: e.leader !== '' && e.leader === e.header.memberId,
        leaderName: e.leaderName,
        term: e.raftTerm,
        raftIndex: e.raftIndex,
      };
    }
    return view;
  });
  const leaderView = components.find((c) => c.etcd?.isLeader);
  return {
    stateDir: spec.stateDir,
    supervisor: { pid: supRunning ? (sup?.pid ?? null) : null, running: supRunning },
    etcd: { leader: leaderView?.name ?? null, term: leaderView?.etcd?.term ?? null, members: spec.etcd },
    components,
  };
}

function uptime(s: number | null): string {
  if (s === null) return '';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
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
  out.write(
    `state dir ${st.stateDir}; supervisor ${st.supervisor.running ? `running (pid ${st.supervisor.pid})` : 'not running'}; ` +
      `etcd leader ${st.etcd.leader ?? 'none'}${st.etcd.term !== null ? ` (term ${st.etcd.term})` : ''}\n`,
  );
  const table = new Table({
    head: ['NAME', 'KIND', 'PID', 'STATE', 'RESTARTS', 'UPTIME', 'ETCD'],
    style: { head: [], border: [] },
    // One rule under the header only, so a dozen components still fit on one screen.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const c of st.components) {
    const etcd = c.etcd ? `${c.etcd.isLeader ? 'leader' : 'follower'} term ${c.etcd.term}` : '';
    table.push([c.name, c.kind, c.pid ?? '', c.state, c.restarts, uptime(c.uptimeSeconds), etcd]);
  }
  out.write(`${table.toString()}\n`);
  return 0;
}
