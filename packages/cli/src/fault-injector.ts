/**
 * The faults a drill injects, as one small interface over the chaos surface the `kemu` commands use
 * (`chaos.ts`: the supervisor's control channel for kill/stop/start/pause/resume, the kubelet admin
 * for the container runtime, etcd's status call for `etcd-leader`). A drill therefore breaks a
 * component exactly the way `kemu stop kube-apiserver` does, and remembers what it stopped, so its
 * heal can undo precisely that.
 */
import { componentAction, planOf, resolveComponent, runtimeAction } from './chaos.js';
import type { ChaosAction } from './supervisor.js';
import type { ClusterPlan } from './topology.js';

export interface ChaosOutcome {
  /** The resolved component name (`etcd-leader` → `etcd-1`). */
  component: string;
  action: string;
  /** The pid acted on (kill, stop, pause, resume) or started (start, restart). */
  pid?: number;
  detail: string;
}

export interface FaultInjector {
  /** `etcd-leader` → the current leader member; other names as the chaos commands take them. */
  resolve(name: string): Promise<string>;
  /** kill = SIGKILL (the supervisor restarts it, like a crash); stop = down until start; pause/resume = SIGSTOP/SIGCONT. */
  component(action: ChaosAction, name: string): Promise<ChaosOutcome>;
  /** The node's container runtime through its kubelet's admin endpoint. */
  runtime(action: 'stop' | 'start', node: string): Promise<ChaosOutcome>;
  /** Components this injector stopped or paused and has not started or resumed since. */
  outstanding(): { stopped: string[]; paused: string[]; runtimesStopped: string[] };
  /** Undoes everything outstanding (start, resume, runtime start); returns what it did. */
  undoAll(): Promise<ChaosOutcome[]>;
}

const DETAIL: Record<ChaosAction, string> = {
  kill: 'killed (SIGKILL); the supervisor restarts it',
  stop: 'stopped; it stays down until started',
  start: 'started',
  restart: 'restarted',
  pause: 'paused (SIGSTOP)',
  resume: 'resumed (SIGCONT)',
};

export class StateDirFaultInjector implements FaultInjector {
  readonly plan: ClusterPlan;
  private readonly stopped = new Set<string>();
  private readonly paused = new Set<string>();
  private readonly runtimesStopped = new Set<string>();

  constructor(readonly stateDir: string) {
    this.plan = planOf(stateDir);
  }

  async resolve(name: string): Promise<string> {
    return (await resolveComponent(this.plan, name)).name;
  }

  async component(action: ChaosAction, name: string): Promise<ChaosOutcome> {
    const target = await this.resolve(name);
    const r = await componentAction(this.stateDir, action, target);
    if (action === 'stop') this.stopped.add(target);
    if (action === 'start' || action === 'restart') this.stopped.delete(target);
    if (action === 'pause') this.paused.add(target);
    if (action === 'resume') this.paused.delete(target);
    return { component: r.component, action, ...(r.pid !== null ? { pid: r.pid } : {}), detail: DETAIL[action] };
  }

  async runtime(action: 'stop' | 'start', node: string): Promise<ChaosOutcome> {
    const r = await runtimeAction(this.stateDir, action, node);
    if (action === 'stop') this.runtimesStopped.add(node);
    else this.runtimesStopped.delete(node);
    return {
      component: r.kubelet,
      action: `runtime ${action}`,
      detail: `container runtime of ${r.node} ${action === 'stop' ? 'stopped' : 'started'}`,
    };
  }

  outstanding(): { stopped: string[]; paused: string[]; runtimesStopped: string[] } {
    return { stopped: [...this.stopped], paused: [...this.paused], runtimesStopped: [...this.runtimesStopped] };
  }

  async undoAll(): Promise<ChaosOutcome[]> {
    const done: ChaosOutcome[] = [];
    for (const n of [...this.paused]) done.push(await this.component('resume', n));
    for (const n of [...this.stopped]) done.push(await this.component('start', n));
    for (const n of [...this.runtimesStopped]) done.push(await this.runtime('start', n));
    return done;
  }
}
