/**
 * Component chaos by name, for the chaos commands and the drills alike: one interface, so a drill
 * breaks a component exactly the way `kemu kill|stop|start|pause|resume|runtime` does.
 *
 * This implementation works on a cluster in a state dir (`kemu up --detach`) with what every cluster
 * has: pid files (`run/<name>.pid`, matched on /proc/<pid>/cmdline), signals to process groups, the
 * etcd status call (to find the leader) and the kubelet admin endpoint (`/runtime/stop|start`).
 *
 * `stop` means "down until `start`": the supervisor must not restart it. Until the supervisor has a
 * control channel, that is done by freezing the supervisor process itself (SIGSTOP, only its pid:
 * the components lead their own groups and keep running) while anything is stopped, and thawing it
 * on `start`: it then reaps the exit and restarts the component after its usual backoff. While frozen
 * it restarts nothing else and does not update `run/status.json`; that is the price of the stopgap.
 */
import { EtcdClient, wireConnectionFactory } from '@kemu/etcd';
import { KemuError } from '@kemu/runtime';
import { isAlive, isSameProcess, type PidRecord, readPidFile, removeFile, signalGroup } from './pid-files.js';
import { readJson, StateDir, writeFileAtomic } from './state-dir.js';
import { type ClusterPlan, type ComponentPlan, planCluster } from './topology.js';
import { loadSpec } from './up.js';

export type ChaosAction = 'kill' | 'stop' | 'start' | 'restart' | 'pause' | 'resume';

export interface ChaosOutcome {
  /** The resolved component name (`etcd-leader` → `etcd-1`). */
  component: string;
  action: string;
  /** The pid acted on (for start: the new pid, when known). */
  pid?: number;
  detail: string;
}

export interface FaultInjector {
  /** `etcd-leader` → the current leader member; `kube-apiserver` → the first apiserver; else as is. */
  resolve(name: string): Promise<string>;
  /** kill = SIGKILL (restarted like a crash); stop = down until start; pause/resume = SIGSTOP/SIGCONT. */
  component(action: ChaosAction, name: string): Promise<ChaosOutcome>;
  /** The node's container runtime through its kubelet admin endpoint. */
  runtime(action: 'stop' | 'start', node: string): Promise<ChaosOutcome>;
  /** Components currently stopped on purpose (for healing whatever a failed drill left). */
  stopped(): string[];
}

/** A chaos request that cannot be carried out: unknown component, not running, no endpoint. */
export class ChaosError extends KemuError {
  constructor(message: string) {
    super('KEMU_CHAOS_FAILED', message);
  }
}

/** Names the CLI accepts for a kind, besides the topology's own component names. */
const KIND_ALIASES: Record<string, string> = {
  'kube-apiserver': 'kube-apiserver',
  apiserver: 'kube-apiserver',
  'kube-scheduler': 'kube-scheduler',
  scheduler: 'kube-scheduler',
  'kube-controller-manager': 'kube-controller-manager',
  'controller-manager': 'kube-controller-manager',
  'cluster-dns': 'cluster-dns',
};

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** What the stopgap remembers across processes (a `kemu stop` and a later `kemu start` are two runs). */
interface FrozenState {
  supervisorPid: number;
  stopped: string[];
}

export class StateDirFaultInjector implements FaultInjector {
  readonly state: StateDir;
  readonly plan: ClusterPlan;

  constructor(stateDir: string) {
    const spec = loadSpec({ stateDir });
    this.state = new StateDir(spec.stateDir);
    this.plan = planCluster(spec);
  }

  private get frozenFile(): string {
    return `${this.state.runDir}/chaos-stopped.json`;
  }

  stopped(): string[] {
    return readJson<FrozenState>(this.frozenFile)?.stopped ?? [];
  }

  componentPlan(name: string): ComponentPlan {
    const c = this.plan.components.find((x) => x.name === name);
    if (!c) {
      throw new ChaosError(
        `no component '${name}' in this cluster (known: ${this.plan.components.map((x) => x.name).join(', ')}, etcd-leader)`,
      );
    }
    return c;
  }

  async resolve(name: string): Promise<string> {
    if (name === 'etcd-leader') return this.etcdLeader();
    const kind = KIND_ALIASES[name];
    if (kind && !this.plan.components.some((c) => c.name === name)) {
      const c = this.plan.components.find((x) => x.kind === kind);
      if (!c) throw new ChaosError(`no ${kind} in this cluster`);
      return c.name;
    }
    const direct = this.plan.components.find((c) => c.name === name);
    if (direct) return direct.name;
    // `kubelet-worker-1` style names are the topology's; accept a bare node name for kubelets too.
    return this.componentPlan(name).name;
  }

  /** The member every reachable member agrees leads (asks each for its status). */
  async etcdLeader(timeoutMs = 3000): Promise<string> {
    const client = new EtcdClient({
      endpoints: this.plan.etcdEndpoints,
      connect: wireConnectionFactory({ identity: 'kemu-cli/chaos' }),
      callTimeoutMs: timeoutMs,
    });
    const keepAlive = setInterval(() => {}, 1000);
    try {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const endpoint of this.plan.etcdEndpoints) {
          try {
            const st = await client.status(endpoint, { timeoutMs: 500 });
            if (st.leaderName) return st.leaderName;
          } catch {
            // down: ask the next one
          }
        }
        await sleep(100);
      }
    } finally {
      clearInterval(keepAlive);
      await client.close();
    }
    throw new ChaosError(`etcd has no leader right now (asked ${this.plan.etcdEndpoints.join(', ')})`);
  }

  private livePid(name: string): PidRecord | undefined {
    const rec = readPidFile(this.state.pidFile(name));
    return rec && isSameProcess(rec) ? rec : undefined;
  }

  async component(action: ChaosAction, requested: string): Promise<ChaosOutcome> {
    const name = await this.resolve(requested);
    const plan = this.componentPlan(name);
    if (!plan.available) throw new ChaosError(`${name} is not running in this cluster: ${plan.reason ?? ''}`);
    switch (action) {
      case 'kill':
        return this.signal(name, 'SIGKILL', 'killed (SIGKILL); the supervisor restarts it');
      case 'pause':
        return this.signal(name, 'SIGSTOP', 'paused (SIGSTOP)');
      case 'resume':
        return this.signal(name, 'SIGCONT', 'resumed (SIGCONT)');
      case 'stop':
        return this.stop(name);
      case 'start':
        return this.start(name);
      case 'restart': {
        await this.stop(name);
        return this.start(name);
      }
    }
  }

  private signal(name: string, sig: NodeJS.Signals, detail: string): ChaosOutcome {
    const rec = this.livePid(name);
    if (!rec) throw new ChaosError(`${name} is not running (no live process in ${this.state.pidFile(name)})`);
    signalGroup(rec.pid, sig);
    return { component: name, action: sig, pid: rec.pid, detail };
  }

  private supervisorPid(): number {
    const sup = readPidFile(this.state.supervisorPidFile);
    if (!sup || !isSameProcess(sup)) {
      throw new ChaosError(
        `no kemu supervisor runs the cluster in ${this.state.root} (start it with 'kemu up --detach')`,
      );
    }
    return sup.pid;
  }

  private async stop(name: string): Promise<ChaosOutcome> {
    const frozen = readJson<FrozenState>(this.frozenFile);
    // Already frozen for another stopped component: keep that pid (it is SIGSTOPped, still ours).
    const supervisorPid =
      frozen && frozen.stopped.length > 0 && frozen.supervisorPid > 0 ? frozen.supervisorPid : this.supervisorPid();
    const rec = this.livePid(name);
    if (supervisorPid <= 0) throw new ChaosError(`no supervisor pid to freeze (got ${supervisorPid})`);
    if (frozen?.stopped.includes(name) && !rec) return { component: name, action: 'stop', detail: 'already stopped' };
    if (!rec) throw new ChaosError(`${name} is not running (no live process in ${this.state.pidFile(name)})`);
    // Freeze first, so the supervisor never sees the exit while it could still act on it.
    process.kill(supervisorPid, 'SIGSTOP');
    const stopped = [...new Set([...(frozen?.stopped ?? []), name])];
    writeFileAtomic(this.frozenFile, `${JSON.stringify({ supervisorPid, stopped } satisfies FrozenState)}\n`);
    signalGroup(rec.pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && isAlive(rec.pid)) await sleep(25);
    if (isAlive(rec.pid)) signalGroup(rec.pid, 'SIGKILL');
    while (isAlive(rec.pid)) await sleep(25);
    return { component: name, action: 'stop', pid: rec.pid, detail: 'stopped (SIGTERM); not restarted until start' };
  }

  private async start(name: string): Promise<ChaosOutcome> {
    const frozen = readJson<FrozenState>(this.frozenFile);
    if (!frozen?.stopped.includes(name)) {
      const rec = this.livePid(name);
      if (rec) return { component: name, action: 'start', pid: rec.pid, detail: 'already running' };
      throw new ChaosError(`${name} was not stopped by kemu and is not running; the supervisor restarts crashes`);
    }
    const stopped = frozen.stopped.filter((n) => n !== name);
    if (stopped.length === 0) {
      writeFileAtomic(this.frozenFile, `${JSON.stringify({ supervisorPid: frozen.supervisorPid, stopped })}\n`);
      // Thawed, the supervisor reaps every exit it missed and restarts each after its backoff.
      try {
        if (frozen.supervisorPid > 0) process.kill(frozen.supervisorPid, 'SIGCONT');
      } catch {
        // The supervisor died meanwhile: `kemu up` again restarts the cluster.
      }
      this.clearFrozen();
    } else {
      // Others are still stopped and the supervisor must stay frozen for them: this one comes back
      // together with the last of them (a limit of the stopgap, gone with the control channel).
      writeFileAtomic(this.frozenFile, `${JSON.stringify({ supervisorPid: frozen.supervisorPid, stopped })}\n`);
      return { component: name, action: 'start', detail: `starts together with ${stopped.join(', ')} (stopgap)` };
    }
    const deadline = Date.now() + 15_000;
    for (;;) {
      const rec = this.livePid(name);
      if (rec) return { component: name, action: 'start', pid: rec.pid, detail: 'started' };
      if (Date.now() > deadline) throw new ChaosError(`${name} did not come back within 15 s`);
      await sleep(50);
    }
  }

  private clearFrozen(): void {
    removeFile(this.frozenFile);
  }

  async runtime(action: 'stop' | 'start', node: string): Promise<ChaosOutcome> {
    const name = node.startsWith('kubelet-') ? node : `kubelet-${node}`;
    const kubelet = this.componentPlan(name);
    const admin = kubelet.ports.admin;
    if (!kubelet.available || !admin) throw new ChaosError(`${name} has no admin endpoint in this cluster`);
    const nodeName = name.slice('kubelet-'.length);
    const res = await fetch(`http://127.0.0.1:${admin}/runtime/${action}`, {
      method: 'POST',
      signal: AbortSignal.timeout(5000),
    }).catch((err: unknown) => {
      throw new ChaosError(`cannot reach ${name}'s admin endpoint :${admin}: ${String(err)}`);
    });
    const body = await res.text();
    if (!res.ok) throw new ChaosError(`${name} refused runtime ${action}: ${res.status} ${body}`);
    return { component: name, action: `runtime ${action}`, detail: `container runtime of ${nodeName} ${action}ped` };
  }
}

export function stateDirFaultInjector(stateDir: string): StateDirFaultInjector {
  return new StateDirFaultInjector(stateDir);
}
