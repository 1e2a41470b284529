// Small object helpers every component needs: list envelopes, controller references, pod state.
import { apiVersionOf, type ResourceDef } from './registry.js';
import type { ObjectReference, Pod } from './types/core.js';
import type { KubeObject, List, ListMeta, OwnerReference } from './types/meta.js';

/** A `<Kind>List` envelope; `metadata.resourceVersion` is required by watchers (contract §1). */
export function buildList<T>(def: ResourceDef, items: T[], metadata: ListMeta): List<T> {
  return { kind: def.listKind, apiVersion: apiVersionOf(def), metadata, items };
}

/** Sets `kind`/`apiVersion` from the resource when a client omitted them (client-node does). */
export function withTypeMeta<T extends KubeObject>(def: ResourceDef, obj: T): T {
  return { ...obj, apiVersion: apiVersionOf(def), kind: def.kind };
}

/** metav1.GetControllerOf: the owner reference with `controller: true`. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

/** An owner reference marking `owner` as the controller of a dependent (what controllers set). */
export function controllerRef(owner: KubeObject, blockOwnerDeletion = true): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion,
  };
}

export function isBeingDeleted(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null;
}

/** Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Phase Succeeded or Failed. */
export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** controller.IsPodActive: not terminal and not being deleted. */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && !isBeingDeleted(pod);
}

/** The ObjectReference events and bindings point with (kind, namespace, name, uid, apiVersion, rv). */
export function objectReference(obj: KubeObject, fieldPath?: string): ObjectReference {
  const ref: ObjectReference = { kind: obj.kind ?? '', name: obj.metadata.name ?? '' };
  if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '') ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid !== undefined) ref.uid = obj.metadata.uid;
  if (obj.apiVersion !== undefined) ref.apiVersion = obj.apiVersion;
  if (obj.metadata.resourceVersion !== undefined) ref.resourceVersion = obj.metadata.resourceVersion;
  if (fieldPath !== undefined) ref.fieldPath = fieldPath;
  return ref;
}
