import { KemuError } from '@kemu/runtime';
import { MAX_FAULT_TTL_MS } from '@kemu/wire';
import { SupervisorControl } from './control.js';
import { etcdLeaderOf, etcdStatuses } from './etcd-status.js';
import type { ActionResult, ChaosAction } from './supervisor.js';
import { type ClusterPlan, type ComponentPlan, type NodePlan, planCluster } from './topology.js';
import { loadSpec } from './up.js';

/**
 * The chaos surface shared by the `kemu` commands and the drills: component names → supervisor
 * actions (control channel), node names → the kubelet's runtime switch, and partitions through every
 * process's admin `/faults` (the wire fault table), which is all chaos tooling may touch.
 */
export class ChaosError extends KemuError {}

export class UnknownComponentError extends ChaosError {
  constructor(name: string, known: string[]) {
    super('KEMU_UNKNOWN_COMPONENT', `unknown component "${name}"; known: ${known.join(', ')}`);
  }
}

export class UnknownNodeError extends ChaosError {
  constructor(name: string, known: string[]) {
    super('KEMU_UNKNOWN_NODE', `unknown node "${name}"; known: ${known.join(', ')}`);
  }
}

/** The plan of the cluster in a state dir (its saved spec), as `kemu up` made it. */
export function planOf(stateDir: string): ClusterPlan {
  return planCluster(loadSpec({ stateDir }));
}

/** Names the chaos commands accept besides the components' own. */
export const ALIASES = ['etcd-leader'] as const;

export function knownNames(plan: ClusterPlan): string[] {
  return [...plan.components.filter((c) => c.available).map((c) => c.name), ...ALIASES];
}

/**
 * One component by its name, or `etcd-leader` (asked of the members right now). A simulated worker's
 * kubelet is the shared `kubelet-sim` process: naming `kubelet-worker-2` then says so.
 */
export async function resolveComponent(plan: ClusterPlan, name: string): Promise<ComponentPlan> {
  let target = name;
  if (name === 'etcd-leader') {
    const leader = etcdLeaderOf(await etcdStatuses(plan, 'kemu-cli/chaos'));
    if (!leader)
      throw new ChaosError('KEMU_NO_ETCD_LEADER', 'etcd has no leader right now (no member answers as leader)');
    target = leader.name;
  }
  if (target === 'kube-apiserver' && plan.spec.apiservers > 1) target = 'kube-apiserver-0';
  const c = plan.components.find((x) => x.name === target);
  if (!c) {
    const simNode = plan.nodes.find(
      (n) => n.simulated && (`kubelet-${n.name}` === name || `kube-proxy-${n.name}` === name),
    );
    if (simNode) {
      throw new ChaosError(
        'KEMU_SIMULATED_NODE',
        `${simNode.name} is simulated by ${simNode.kubelet} (--runtime sim): act on "${simNode.kubelet}", or use 'kemu runtime stop ${simNode.name}'`,
      );
    }
    throw new UnknownComponentError(name, knownNames(plan));
  }
  if (!c.available)
    throw new ChaosError('KEMU_NOT_AVAILABLE', `component "${c.name}" is ${c.reason ?? 'not available'}`);
  return c;
}

export async function componentAction(stateDir: string, action: ChaosAction, name: string): Promise<ActionResult> {
  const plan = planOf(stateDir);
  const control = SupervisorControl.connect(plan.spec.stateDir);
  const c = await resolveComponent(plan, name);
  return control.act(action, c.name);
}

export function resolveNode(plan: ClusterPlan, name: string): NodePlan {
  const n = plan.nodes.find((x) => x.name === name);
  if (!n)
    throw new UnknownNodeError(
      name,
      plan.nodes.map((x) => x.name),
    );
  return n;
}

async function admin(
  port: number,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(3000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text answer
  }
  return { status: res.status, body: parsed };
}

export interface RuntimeResult {
  node: string;
  kubelet: string;
  action: 'stop' | 'start';
  status: unknown;
}

/** `kemu runtime stop|start NODE`: the kubelet admin's container-runtime switch (`?node=` for sim nodes). */
export async function runtimeAction(
  stateDir: string,
  action: 'stop' | 'start',
  nodeName: string,
): Promise<RuntimeResult> {
  const plan = planOf(stateDir);
  const node = resolveNode(plan, nodeName);
  const kubelet = plan.components.find((c) => c.name === node.kubelet);
  if (!kubelet?.available)
    throw new ChaosError('KEMU_NOT_AVAILABLE', `the kubelet of ${node.name} is not available in this build`);
  const q = node.simulated ? `?node=${encodeURIComponent(node.name)}` : '';
  let r: { status: number; body: unknown };
  try {
    r = await admin(node.kubeletAdminPort, 'POST', `/runtime/${action}${q}`);
  } catch (err) {
    throw new ChaosError(
      'KEMU_ADMIN_UNREACHABLE',
      `cannot reach ${kubelet.name}'s admin endpoint 127.0.0.1:${node.kubeletAdminPort}: ${(err as Error).message}`,
    );
  }
  if (r.status >= 300) {
    throw new ChaosError(
      'KEMU_ADMIN_FAILED',
      `${kubelet.name} refused runtime ${action}: HTTP ${r.status} ${JSON.stringify(r.body)}`,
    );
  }
  return { node: node.name, kubelet: kubelet.name, action, status: r.body };
}

export interface FaultResult {
  component: string;
  ok: boolean;
  /** The rule id (partition) or how many rules were removed (heal), or why it failed. */
  detail: string;
}

/** `--for 30s`: ms, s, m, h; a bare number is seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new ChaosError('KEMU_BAD_DURATION', `invalid duration "${text}" (examples: 500ms, 30s, 2m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
  if (ms < 1 || ms > MAX_FAULT_TTL_MS)
    throw new ChaosError('KEMU_BAD_DURATION', `duration "${text}" must be from 1ms to 24h`);
  return ms;
}

/**
 * `kemu partition A,B --from C,D`: one partition rule (identities of A,B against those of C,D) installed
 * in every named process's fault table, so both sides drop the other's frames. Without `forMs` it lasts
 * until `kemu heal` (the fault table's maximum, 24 h, so it still heals if nobody does).
 */
export async function partition(stateDir: string, a: string[], b: string[], forMs?: number): Promise<FaultResult[]> {
  const plan = planOf(stateDir);
  const sideA = await Promise.all(a.map((n) => resolveComponent(plan, n)));
  const sideB = await Promise.all(b.map((n) => resolveComponent(plan, n)));
  const both = new Set([...sideA, ...sideB].map((c) => c.name));
  if (both.size < sideA.length + sideB.length) {
    throw new ChaosError('KEMU_BAD_PARTITION', 'a component cannot be on both sides of a partition');
  }
  const rule = {
    action: 'partition',
    a: sideA.map((c) => c.identity),
    b: sideB.map((c) => c.identity),
    ttlMs: forMs ?? MAX_FAULT_TTL_MS,
  };
  return Promise.all(
    [...sideA, ...sideB].map(async (c): Promise<FaultResult> => {
      try {
        const r = await admin(c.ports.admin!, 'POST', '/faults', rule);
        if (r.status !== 201)
          return { component: c.name, ok: false, detail: `HTTP ${r.status} ${JSON.stringify(r.body)}` };
        return { component: c.name, ok: true, detail: `rule ${(r.body as { id: string }).id}` };
      } catch (err) {
        return {
          component: c.name,
          ok: false,
          detail: `admin 127.0.0.1:${c.ports.admin} unreachable: ${(err as Error).message}`,
        };
      }
    }),
  );
}

/** `kemu heal`: removes every fault rule from every process of the cluster that answers. */
export async function heal(stateDir: string): Promise<FaultResult[]> {
  const plan = planOf(stateDir);
  return Promise.all(
    plan.components
      .filter((c) => c.available && c.ports.admin !== undefined)
      .map(async (c): Promise<FaultResult> => {
        try {
          const r = await admin(c.ports.admin!, 'DELETE', '/faults');
          if (r.status !== 200) return { component: c.name, ok: false, detail: `HTTP ${r.status}` };
          return { component: c.name, ok: true, detail: `removed ${(r.body as { removed: number }).removed}` };
        } catch (err) {
          return { component: c.name, ok: false, detail: `unreachable: ${(err as Error).message}` };
        }
      }),
  );
}
