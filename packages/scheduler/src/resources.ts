// Pod resource requests as the scheduler counts them (k8s.io/component-helpers resource.PodRequests):
// regular containers and sidecars (init containers with restartPolicy Always) add up; each plain init
// container runs alone (next to the sidecars started before it), so the pod needs the max of the two.

import type { Container, Pod, ResourceList } from '@kemu/api';
import { parseQuantity } from '@kemu/api';

/** Integer amounts: cpu in millicores, everything else in whole units (bytes, counts). */
export type Resources = Map<string, number>;

export const CPU = 'cpu';
export const MEMORY = 'memory';
export const PODS = 'pods';

/** The scheduler's stand-ins for containers without requests, used only for scoring (upstream's non-zero defaults). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export function resourceAmount(name: string, value: string): number {
  const q = parseQuantity(value);
  return name === CPU ? q.milliValue() : q.value();
}

export function resourceListToResources(list: ResourceList | undefined): Resources {
  const out: Resources = new Map();
  for (const [name, value] of Object.entries(list ?? {})) out.set(name, resourceAmount(name, value));
  return out;
}

function addInto(target: Resources, add: Resources): void {
  for (const [k, v] of add) target.set(k, (target.get(k) ?? 0) + v);
}

function maxInto(target: Resources, other: Resources): void {
  for (const [k, v] of other) if (v > (target.get(k) ?? 0)) target.set(k, v);
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  const r = resourceListToResources(c.resources?.requests);
  if (nonZero) {
    if (!r.has(CPU)) r.set(CPU, DEFAULT_MILLI_CPU_REQUEST);
    if (!r.has(MEMORY)) r.set(MEMORY, DEFAULT_MEMORY_REQUEST);
  }
  return r;
}

// Requests are computed several times per scheduling cycle and per cache update for the same pod.
// Objects from the informer are never mutated (client-go's rule, kept here), so the containers array
// identifies the answer; the assumed copy of a pod shares it too.
const cache = new WeakMap<
  readonly Container[],
  { init: readonly Container[] | undefined; plain?: Resources; nonZero?: Resources }
>();

/**
 * Effective requests of a pod. With `nonZero`, containers that request no cpu/memory count as
 * 100m / 200Mi (what upstream's scoring uses so empty pods still spread). The result is shared:
 * callers must not modify it.
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const containers = pod.spec.containers;
  let entry = cache.get(containers);
  if (entry === undefined || entry.init !== pod.spec.initContainers) {
    entry = { init: pod.spec.initContainers };
    cache.set(containers, entry);
  }
  const hit = nonZero ? entry.nonZero : entry.plain;
  if (hit !== undefined) return hit;
  const computed = computePodRequests(pod, nonZero);
  if (nonZero) entry.nonZero = computed;
  else entry.plain = computed;
  return computed;
}

function computePodRequests(pod: Pod, nonZero: boolean): Resources {
  const total: Resources = new Map();
  for (const c of pod.spec.containers) addInto(total, containerRequests(c, nonZero));
  const sidecars: Resources = new Map();
  const initMax: Resources = new Map();
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addInto(sidecars, r);
      addInto(total, r);
      maxInto(initMax, new Map(sidecars));
    } else {
      const running = new Map(sidecars);
      addInto(running, r);
      maxInto(initMax, running);
    }
  }
  maxInto(total, initMax);
  return total;
}
