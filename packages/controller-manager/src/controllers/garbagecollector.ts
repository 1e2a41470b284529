// garbage-collector-controller (upstream pkg/controller/garbagecollector): the ownerReferences graph
// over every resource the registry serves (events excepted, as upstream), built from the shared
// informers, and the three deletion propagation modes the apiserver expresses as finalizers:
// - background: a dependent all of whose owners are gone (confirmed by a live GET, never from a
//   possibly stale cache alone) is deleted;
// - foreground: an owner being deleted with `foregroundDeletion` has its dependents deleted (those
//   with dependents of their own in foreground too) and keeps the finalizer until no dependent
//   with blockOwnerDeletion is left, then the finalizer is removed and the apiserver deletes it;
// - orphan: an owner being deleted with `orphan` has its ownerReference removed from every
//   dependent, then the finalizer is removed.
// A dependent with an owner that still exists ("solid") is kept; references to owners that are gone
// or being deleted in foreground are then removed from it (upstream attemptToDeleteItem).
import {
  type KubeObject,
  type OwnerReference,
  qualifiedResource,
  RESOURCES,
  type ResourceDef,
  resourceForKind,
} from '@kemu/api';
import { isConflict, isNotFound, objectKey, runController, type SharedIndexInformer, splitKey } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../context.js';
import { newQueue, unwrap } from './util.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';
/** Resources the collector does not track (upstream's ignoredResources). */
const IGNORED = new Set(['events', 'bindings']);

/** Every resource whose objects can own or be owned. */
export function collectedResources(): ResourceDef[] {
  const seen = new Set<string>();
  return RESOURCES.filter((r) => {
    const gr = qualifiedResource(r);
    if (IGNORED.has(r.resource) || seen.has(gr)) return false;
    seen.add(gr);
    return r.verbs.includes('list') && r.verbs.includes('watch') && r.verbs.includes('delete');
  });
}

const itemKey = (gr: string, obj: KubeObject) => `${gr}|${objectKey(obj)}`;
const hasFinalizer = (obj: KubeObject, f: string) => (obj.metadata.finalizers ?? []).includes(f);
const deleting = (obj: KubeObject) => obj.metadata.deletionTimestamp !== undefined;
const deletingDependents = (obj: KubeObject) => deleting(obj) && hasFinalizer(obj, FINALIZER_FOREGROUND);

type OwnerState = 'solid' | 'dangling' | 'waiting' | 'unknown';

export const garbageCollectorController: ControllerDescriptor = {
  name: 'garbagecollector',
  start(ctx: ControllerContext) {
    const queue = newQueue(ctx, 'garbagecollector');
    const informers = new Map<string, { def: ResourceDef; informer: SharedIndexInformer<KubeObject> }>();
    /** owner uid → item keys of its dependents. */
    const dependents = new Map<string, Set<string>>();
    /** uid → item key (to reach an owner from a dependent's reference). */
    const byUid = new Map<string, string>();
    /** item key → owner uids it was indexed under (to unindex on change). */
    const indexedOwners = new Map<string, string[]>();

    const index = (key: string, obj: KubeObject | undefined) => {
      for (const uid of indexedOwners.get(key) ?? []) {
        const set = dependents.get(uid);
        set?.delete(key);
        if (set?.size === 0) dependents.delete(uid);
      }
      indexedOwners.delete(key);
      if (obj === undefined) return;
      const uids = (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
      for (const uid of uids) {
        let set = dependents.get(uid);
        if (set === undefined) {
          set = new Set();
          dependents.set(uid, set);
        }
        set.add(key);
      }
      if (uids.length > 0) indexedOwners.set(key, uids);
    };

    /** Owners of `obj` that are being deleted in foreground or orphaning wait on it: look at them again. */
    const enqueueOwners = (obj: KubeObject) => {
      for (const ref of obj.metadata.ownerReferences ?? []) {
        const k = byUid.get(ref.uid);
        if (k !== undefined) queue.add(k);
      }
    };

    for (const def of collectedResources()) {
      const gr = qualifiedResource(def);
      const informer = ctx.informers.forResource<KubeObject>(gr);
      informers.set(gr, { def, informer });
      const observe = (obj: KubeObject) => {
        const key = itemKey(gr, obj);
        if (obj.metadata.uid !== undefined) byUid.set(obj.metadata.uid, key);
        index(key, obj);
        if ((obj.metadata.ownerReferences ?? []).length > 0 || deleting(obj)) queue.add(key);
      };
      informer.addEventHandler({
        onAdd: observe,
        onUpdate: (old, obj) => {
          const changed =
            JSON.stringify(old.metadata.ownerReferences) !== JSON.stringify(obj.metadata.ownerReferences) ||
            old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp ||
            JSON.stringify(old.metadata.finalizers) !== JSON.stringify(obj.metadata.finalizers) ||
            old === obj;
          if (!changed) return;
          observe(obj);
          enqueueOwners(obj);
        },
        onDelete: (tomb) => {
          const obj = unwrap(tomb);
          const key = itemKey(gr, obj);
          index(key, undefined);
          const uid = obj.metadata.uid;
          if (uid !== undefined) {
            if (byUid.get(uid) === key) byUid.delete(uid);
            for (const dep of dependents.get(uid) ?? []) queue.add(dep);
          }
          enqueueOwners(obj);
        },
      });
    }

    const clientFor = (def: ResourceDef, ns: string | undefined) =>
      ctx.api.resource<KubeObject>(qualifiedResource(def), def.namespaced && ns !== undefined ? { namespace: ns } : {});

    const parse = (key: string) => {
      const bar = key.indexOf('|');
      const gr = key.slice(0, bar);
      const { namespace, name } = splitKey(key.slice(bar + 1));
      const entry = informers.get(gr);
      return entry === undefined ? undefined : { ...entry, gr, namespace, name };
    };

    /** Classifies one owner reference of a dependent living in `ns`. */
    const ownerState = async (ref: OwnerReference, ns: string | undefined): Promise<OwnerState> => {
      const def = resourceForKind(ref.apiVersion, ref.kind);
      if (def === undefined) return 'unknown';
      const ownerNs = def.namespaced ? ns : undefined;
      const cached = informers.get(qualifiedResource(def))?.informer.get(ownerNs, ref.name);
      let owner: KubeObject | undefined = cached?.metadata.uid === ref.uid ? cached : undefined;
      if (owner === undefined) {
        // Absence is only believed from the apiserver itself (the cache may lag a new owner).
        try {
          owner = await clientFor(def, ownerNs).get(ref.name);
        } catch (err) {
          if (isNotFound(err)) return 'dangling';
          throw err;
        }
        if (owner.metadata.uid !== ref.uid) return 'dangling';
      }
      return deletingDependents(owner) ? 'waiting' : 'solid';
    };

    const removeFinalizer = async (def: ResourceDef, ns: string | undefined, name: string, finalizer: string) => {
      const client = clientFor(def, ns);
      try {
        const live = await client.get(name);
        if (!hasFinalizer(live, finalizer)) return;
        await client.update({
          ...live,
          metadata: { ...live.metadata, finalizers: (live.metadata.finalizers ?? []).filter((f) => f !== finalizer) },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };

    /** Removes the references with these uids from a dependent (live read, CAS write). */
    const removeReferences = async (def: ResourceDef, ns: string | undefined, name: string, uids: Set<string>) => {
      const client = clientFor(def, ns);
      try {
        const live = await client.get(name);
        const refs = live.metadata.ownerReferences ?? [];
        const kept = refs.filter((r) => !uids.has(r.uid));
        if (kept.length === refs.length) return;
        const metadata = { ...live.metadata };
        if (kept.length > 0) metadata.ownerReferences = kept;
        else delete metadata.ownerReferences;
        await client.update({ ...live, metadata });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };

    const deleteItem = async (def: ResourceDef, obj: KubeObject, policy: 'Background' | 'Foreground' | 'Orphan') => {
      try {
        await clientFor(def, obj.metadata.namespace).delete(obj.metadata.name ?? '', {
          propagationPolicy: policy,
          preconditions: { uid: obj.metadata.uid ?? '' },
        });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    };

    const dependentItems = (uid: string) => {
      const out: { key: string; def: ResourceDef; obj: KubeObject }[] = [];
      for (const key of dependents.get(uid) ?? []) {
        const p = parse(key);
        const obj = p?.informer.get(p.namespace, p.name);
        if (p !== undefined && obj !== undefined) out.push({ key, def: p.def, obj });
      }
      return out;
    };

    const reconcile = async (key: string) => {
      const p = parse(key);
      if (p === undefined) return;
      const obj = p.informer.get(p.namespace, p.name);
      if (obj === undefined) return;
      const uid = obj.metadata.uid ?? '';

      if (deleting(obj) && hasFinalizer(obj, FINALIZER_ORPHAN)) {
        for (const dep of dependentItems(uid)) {
          await removeReferences(dep.def, dep.obj.metadata.namespace, dep.obj.metadata.name ?? '', new Set([uid]));
        }
        await removeFinalizer(p.def, p.namespace, p.name, FINALIZER_ORPHAN);
        return;
      }

      if (deletingDependents(obj)) {
        const deps = dependentItems(uid);
        const blocking = deps.filter(({ obj: d }) =>
          (d.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion === true),
        );
        if (blocking.length === 0) {
          await removeFinalizer(p.def, p.namespace, p.name, FINALIZER_FOREGROUND);
          return;
        }
        // Each dependent decides in its own pass (it sees this owner waiting and deletes itself).
        for (const d of deps) queue.add(d.key);
        return;
      }

      const refs = obj.metadata.ownerReferences ?? [];
      if (refs.length === 0 || deleting(obj)) return;
      const solid: OwnerReference[] = [];
      const dangling: OwnerReference[] = [];
      const waiting: OwnerReference[] = [];
      for (const ref of refs) {
        const state = await ownerState(ref, p.namespace);
        if (state === 'dangling') dangling.push(ref);
        else if (state === 'waiting') waiting.push(ref);
        else solid.push(ref);
      }
      if (solid.length > 0) {
        if (dangling.length > 0 || waiting.length > 0) {
          const uids = new Set([...dangling, ...waiting].map((r) => r.uid));
          await removeReferences(p.def, p.namespace, p.name, uids);
        }
        return;
      }
      if (waiting.length > 0 && (dependents.get(uid)?.size ?? 0) > 0) {
        await deleteItem(p.def, obj, 'Foreground');
        return;
      }
      const policy = hasFinalizer(obj, FINALIZER_ORPHAN)
        ? 'Orphan'
        : hasFinalizer(obj, FINALIZER_FOREGROUND)
          ? 'Foreground'
          : 'Background';
      await deleteItem(p.def, obj, policy);
    };

    return runController({
      name: 'garbagecollector',
      runtime: ctx.runtime,
      informers: [...informers.values()].map((e) => e.informer),
      queue,
      reconcile,
      workers: 4,
      log: ctx.log,
    });
  },
};
