// ControllerRevisions as StatefulSets and DaemonSets keep them (upstream pkg/controller/history):
// one immutable snapshot of the pod template per distinct template, named `<owner>-<hash>`, numbered
// by `revision`; the newest number is the update revision.
import {
  type ControllerRevision,
  computeTemplateHash,
  controllerOf,
  controllerRef,
  isBeingDeleted,
  type KubeObject,
  type PodTemplateSpec,
} from '@kemu/api';
import { isAlreadyExists, isNotFound, type ResourceClient } from '@kemu/client';
import { sameJson } from './util.js';

export const CONTROLLER_REVISION_HASH = 'controller-revision-hash';

/** The patch upstream stores: `{spec: {template: {..., $patch: replace}}}`. */
export function revisionData(template: PodTemplateSpec): { spec: { template: Record<string, unknown> } } {
  return {
    spec: { template: { ...(structuredClone(template) as unknown as Record<string, unknown>), $patch: 'replace' } },
  };
}

/** The pod template a revision snapshot holds. */
export function templateOf(rev: ControllerRevision): PodTemplateSpec | undefined {
  const data = rev.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const t = data?.spec?.template;
  if (!t) return undefined;
  const { $patch: _ignored, ...rest } = t;
  return rest as unknown as PodTemplateSpec;
}

export interface RevisionSync {
  update: ControllerRevision;
  /** Every revision of the owner, sorted by revision number (oldest first). */
  all: ControllerRevision[];
}

/**
 * getStatefulSetRevisions / constructHistory: find or create the revision for `template`. An equal
 * older revision is renumbered to the newest (a rollback reuses it); a hash collision with a
 * different template bumps the collision count and retries with the next name.
 */
export async function syncRevisions(opts: {
  client: ResourceClient<ControllerRevision>;
  owner: KubeObject;
  owned: ControllerRevision[];
  template: PodTemplateSpec;
  collisionCount: number;
}): Promise<RevisionSync & { collisionCount: number }> {
  const all = [...opts.owned].sort((a, b) => a.revision - b.revision);
  const data = revisionData(opts.template);
  const next = (all.at(-1)?.revision ?? 0) + 1;
  const equal = all.filter((r) => sameJson(normalizeData(r.data), normalizeData(data)));
  const last = all.at(-1);
  if (equal.length > 0) {
    const found = equal.at(-1) as ControllerRevision;
    if (found === last) return { update: found, all, collisionCount: opts.collisionCount };
    const copy = structuredClone(found);
    copy.revision = next;
    const updated = await opts.client.update(copy);
    return { update: updated, all: [...all.filter((r) => r !== found), updated], collisionCount: opts.collisionCount };
  }
  let collisionCount = opts.collisionCount;
  for (let attempt = 0; attempt < 5; attempt++) {
    const hash = computeTemplateHash(data, collisionCount === 0 ? undefined : collisionCount);
    const rev: ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${opts.owner.metadata.name}-${hash}`,
        namespace: opts.owner.metadata.namespace ?? 'default',
        labels: { ...(opts.template.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH]: hash },
        ownerReferences: [controllerRef(opts.owner)],
      },
      data,
      revision: next,
    };
    try {
      const created = await opts.client.create(rev);
      return { update: created, all: [...all, created], collisionCount };
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await opts.client.get(rev.metadata.name ?? '');
      if (
        controllerOf(existing)?.uid === opts.owner.metadata.uid &&
        sameJson(normalizeData(existing.data), normalizeData(data))
      ) {
        // Ours, not yet in the cache.
        return { update: existing, all: [...all, existing], collisionCount };
      }
      collisionCount++;
    }
  }
  throw new Error(`could not name a ControllerRevision for ${opts.owner.metadata.name}: hash collisions`);
}

/** Deletes the oldest revisions not in `live` beyond `limit`. */
export async function truncateHistory(
  client: ResourceClient<ControllerRevision>,
  all: ControllerRevision[],
  live: ReadonlySet<string>,
  limit: number,
): Promise<void> {
  const old = all
    .filter((r) => !live.has(r.metadata.name ?? '') && !isBeingDeleted(r))
    .sort((a, b) => a.revision - b.revision);
  for (const r of old.slice(0, Math.max(0, old.length - limit))) {
    try {
      await client.delete(r.metadata.name ?? '');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function normalizeData(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
