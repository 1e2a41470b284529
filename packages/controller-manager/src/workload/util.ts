// Helpers every workload controller shares: pod state, int-or-percent scaling, controller refs,
// adoption/orphaning (upstream's ControllerRefManager), conditions and queues.
import {
  controllerOf,
  formatTime,
  type IntOrString,
  isBeingDeleted,
  isPodReady,
  type KubeObject,
  type LabelSelector,
  labelSelectorAsSelector,
  type OwnerReference,
  type Pod,
  parseTime,
  type Selector,
} from '@kemu/api';
import { isConflict, isNotFound, RateLimitingQueue, type ResourceClient } from '@kemu/client';
import { KemuError } from '@kemu/runtime';
import type { ControllerContext } from '../context.js';

export class WorkloadSpecError extends KemuError {
  constructor(message: string) {
    super('WORKLOAD_BAD_SPEC', message);
  }
}

/** A fresh queue for one controller (with the process's workqueue metrics when it has them). */
export function newQueue(ctx: ControllerContext, name: string): RateLimitingQueue<string> {
  return new RateLimitingQueue<string>({
    runtime: ctx.runtime,
    name,
    ...(ctx.queueMetrics ? { metrics: ctx.queueMetrics } : {}),
  });
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an int as is, `N%` of `total` rounded up (maxSurge) or
 * down (maxUnavailable).
 */
export function scaledValue(
  value: IntOrString | undefined,
  total: number,
  roundUp: boolean,
  dflt: IntOrString,
): number {
  const v = value ?? dflt;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new WorkloadSpecError(
      `invalid value for IntOrString: invalid type: string is not a percentage: ${JSON.stringify(v)}`,
    );
  }
  const pct = Number(m[1]);
  const exact = (pct * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** When the pod's Ready condition last became True (ms), or undefined. */
export function readySince(pod: Pod): number | undefined {
  const c = (pod.status?.conditions ?? []).find((x) => x.type === 'Ready' && x.status === 'True');
  return c ? parseTime(c.lastTransitionTime) : undefined;
}

/** podutil.IsPodAvailable: Ready for at least minReadySeconds. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(pod);
  return since !== undefined && since + minReadySeconds * 1000 <= nowMs;
}

/** Milliseconds until a ready pod becomes available (0 if it is, undefined if it is not ready). */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, nowMs: number): number | undefined {
  if (!isPodReady(pod)) return undefined;
  const since = readySince(pod) ?? nowMs;
  return Math.max(0, since + minReadySeconds * 1000 - nowMs);
}

function phaseRank(p: Pod): number {
  switch (p.status?.phase) {
    case 'Pending':
      return 0;
    case 'Unknown':
      return 1;
    case 'Running':
      return 2;
    default:
      return 3;
  }
}

function restarts(p: Pod): number {
  return (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
}

function created(o: KubeObject): number {
  return parseTime(o.metadata.creationTimestamp ?? undefined) ?? 0;
}

/**
 * controller.ActivePodsWithRanks: negative when `a` should be deleted before `b`. Unassigned before
 * assigned, Pending < Unknown < Running, not ready before ready, more pods of the same owner on its
 * node first, ready for less time first, more restarts first, newer first.
 */
export function deletionOrder(a: Pod, b: Pod, rank: (p: Pod) => number = () => 0): number {
  const an = a.spec.nodeName ? 1 : 0;
  const bn = b.spec.nodeName ? 1 : 0;
  if (an !== bn) return an - bn;
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
  const ar = isPodReady(a) ? 1 : 0;
  const br = isPodReady(b) ? 1 : 0;
  if (ar !== br) return ar - br;
  if (rank(a) !== rank(b)) return rank(b) - rank(a);
  if (ar === 1 && br === 1) {
    const as = readySince(a) ?? 0;
    const bs = readySince(b) ?? 0;
    if (as !== bs) return bs - as;
  }
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  return created(b) - created(a);
}

/** The owner's key when `obj`'s controllerRef is a `kind` and the cached owner has the same uid. */
export function ownerKey<T extends KubeObject>(
  obj: KubeObject,
  kind: string,
  lookup: (ns: string, name: string) => T | undefined,
): string | undefined {
  const ref = controllerOf(obj);
  if (!ref || ref.kind !== kind) return undefined;
  const ns = obj.metadata.namespace ?? '';
  const owner = lookup(ns, ref.name);
  if (!owner || owner.metadata.uid !== ref.uid) return undefined;
  return `${ns}/${ref.name}`;
}

export function selectorOf(sel: LabelSelector | undefined): Selector {
  return labelSelectorAsSelector(sel ?? {});
}

export function sameController(ref: OwnerReference | undefined, owner: KubeObject): boolean {
  return ref !== undefined && ref.uid === owner.metadata.uid;
}

/**
 * ControllerRefManager.Claim: of `candidates` (same namespace), keep those controlled by `owner` and
 * still selected, adopt selected orphans (unless owner or orphan is being deleted), release owned
 * ones the selector no longer matches. Adoption and release are compare-and-swap updates; a
 * conflict or a vanished object just leaves it out this round (the next sync sees the new state).
 */
export async function claimObjects<T extends KubeObject>(opts: {
  owner: KubeObject;
  ownerRef: OwnerReference;
  selector: Selector;
  candidates: readonly T[];
  client: ResourceClient<T>;
  /** Extra filter for adoption (e.g. only active pods). */
  canAdopt?: (obj: T) => boolean;
}): Promise<T[]> {
  const { owner, selector } = opts;
  const out: T[] = [];
  for (const obj of opts.candidates) {
    const ref = controllerOf(obj);
    const matches = selector.matches(obj.metadata.labels);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (matches) {
        out.push(obj);
        continue;
      }
      if (isBeingDeleted(owner)) continue;
      await writeOwnerRefs(
        opts.client,
        obj,
        (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid),
      );
      continue;
    }
    if (!matches || isBeingDeleted(owner) || isBeingDeleted(obj)) continue;
    if (opts.canAdopt && !opts.canAdopt(obj)) continue;
    const adopted = await writeOwnerRefs(opts.client, obj, [...(obj.metadata.ownerReferences ?? []), opts.ownerRef]);
    if (adopted) out.push(adopted);
  }
  return out;
}

async function writeOwnerRefs<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: T,
  refs: OwnerReference[],
): Promise<T | undefined> {
  try {
    const copy = structuredClone(obj);
    copy.metadata.ownerReferences = refs;
    return await client.update(copy);
  } catch (err) {
    if (isNotFound(err) || isConflict(err)) return undefined;
    throw err;
  }
}

/** A condition as workload statuses carry it (Deployment conditions also have lastUpdateTime). */
export interface WorkloadCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/**
 * deploymentutil.SetDeploymentCondition semantics: the same status and reason is no change; the same
 * status keeps its lastTransitionTime.
 */
export function setCondition<C extends WorkloadCondition>(conditions: C[], cond: C): C[] {
  const existing = conditions.find((c) => c.type === cond.type);
  if (existing && existing.status === cond.status && existing.reason === cond.reason) return conditions;
  const next = { ...cond };
  if (existing && existing.status === cond.status && existing.lastTransitionTime !== undefined) {
    next.lastTransitionTime = existing.lastTransitionTime;
  }
  return [...conditions.filter((c) => c.type !== cond.type), next];
}

export function getCondition<C extends WorkloadCondition>(
  conditions: readonly C[] | undefined,
  type: string,
): C | undefined {
  return (conditions ?? []).find((c) => c.type === type);
}

export function nowTime(ctx: { runtime: { now(): number } }): string {
  return formatTime(ctx.runtime.now());
}

/** JSON-stable deep equality for status comparison. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** An error's message, for events and logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sortedNonEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedNonEmpty);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const y = sortedNonEmpty((v as Record<string, unknown>)[k]);
      if (y === 0 || y === false || y === '' || y === undefined || y === null) continue;
      if (Array.isArray(y) && y.length === 0) continue;
      if (typeof y === 'object' && !Array.isArray(y) && Object.keys(y as object).length === 0) continue;
      out[k] = y;
    }
    return out;
  }
  return v;
}

/**
 * Status equality that ignores key order and treats 0, false, "", [] and {} as absent: the
 * apiserver may drop such values (Go's omitempty), and a controller that compared them strictly
 * would rewrite the same status forever.
 */
export function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortedNonEmpty(a ?? {})) === JSON.stringify(sortedNonEmpty(b ?? {}));
}

/**
 * A reconcile that treats a write Conflict as "the cache is behind": a newer version exists and its
 * watch event will enqueue the key again, so the key is just looked at again shortly instead of
 * being logged as a failure and backed off (upstream logs these at a low level too).
 */
export function quietConflicts<R>(
  log: { debug(obj: object, msg: string): void },
  fn: (key: string) => Promise<R>,
): (key: string) => Promise<R | { requeueAfterMs: number }> {
  return async (key) => {
    try {
      return await fn(key);
    } catch (err) {
      if (!isConflict(err)) throw err;
      log.debug({ key, err: errorMessage(err) }, 'conflict; cache is behind, syncing again shortly');
      return { requeueAfterMs: 250 };
    }
  };
}
