// namespace-controller (upstream pkg/controller/namespace/deletion): a namespace being deleted
// (deletionTimestamp, phase Terminating, `kubernetes` in spec.finalizers) has every namespaced
// object of every resource the registry serves deleted; its status conditions report progress as
// upstream's (NamespaceDeletionDiscoveryFailure, …GroupVersionParsingFailure, …ContentFailure,
// NamespaceContentRemaining, NamespaceFinalizersRemaining); once nothing remains the `kubernetes`
// finalizer is removed through the `finalize` subresource and the apiserver removes the namespace.
// Content is listed live (not from caches), like upstream's dynamic client, so the decision to
// finalize never rests on a stale cache.
import {
  formatTime,
  type KubeObject,
  type Namespace,
  type NamespaceCondition,
  qualifiedResource,
  RESOURCES,
  type ResourceDef,
} from '@kemu/api';
import { isConflict, isNotFound, runController } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../context.js';
import { eachObject, newQueue } from './util.js';

export const FINALIZER_KUBERNETES = 'kubernetes';
/** While content remains, look again this often (upstream requeues on its estimate; pods end in seconds). */
const RECHECK_MS = 250;

/** Every namespaced resource that can be listed and deleted (upstream: discovery, verbs list+delete). */
export function namespacedResources(): ResourceDef[] {
  return RESOURCES.filter((r) => r.namespaced && r.verbs.includes('list') && r.verbs.includes('delete'));
}

const CONDITION_ORDER = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
];

export interface ContentReport {
  /** `pods` → instances still present after this pass. */
  remaining: Map<string, number>;
  /** finalizer → instances still carrying it. */
  finalizers: Map<string, number>;
  /** Deletion errors of this pass. */
  errors: string[];
}

/** The five conditions for a pass's outcome (reasons and messages as upstream's). */
export function deletionConditions(report: ContentReport): Omit<NamespaceCondition, 'lastTransitionTime'>[] {
  const remaining = [...report.remaining.entries()]
    .filter(([, n]) => n > 0)
    .map(([gr, n]) => `${gr} has ${n} resource instances`)
    .sort();
  const finalizers = [...report.finalizers.entries()]
    .filter(([, n]) => n > 0)
    .map(([f, n]) => `${f} in ${n} resource instances`)
    .sort();
  return [
    {
      type: 'NamespaceDeletionDiscoveryFailure',
      status: 'False',
      reason: 'ResourcesDiscovered',
      message: 'All resources successfully discovered',
    },
    {
      type: 'NamespaceDeletionGroupVersionParsingFailure',
      status: 'False',
      reason: 'ParsedGroupVersions',
      message: 'All legacy kube types successfully parsed',
    },
    report.errors.length > 0
      ? {
          type: 'NamespaceDeletionContentFailure',
          status: 'True',
          reason: 'ContentDeletionFailed',
          message: `Failed to delete all resource types, ${report.errors.length} remaining: ${report.errors.join(', ')}`,
        }
      : {
          type: 'NamespaceDeletionContentFailure',
          status: 'False',
          reason: 'ContentDeleted',
          message: 'All content successfully deleted, may be waiting on finalization',
        },
    remaining.length > 0
      ? {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${remaining.join(', ')}`,
        }
      : {
          type: 'NamespaceContentRemaining',
          status: 'False',
          reason: 'ContentRemoved',
          message: 'All content successfully removed',
        },
    finalizers.length > 0
      ? {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          reason: 'SomeFinalizersRemain',
          message: `Some content in the namespace has finalizers remaining: ${finalizers.join(', ')}`,
        }
      : {
          type: 'NamespaceFinalizersRemaining',
          status: 'False',
          reason: 'ContentHasNoFinalizers',
          message: 'All content-preserving finalizers finished',
        },
  ];
}

/** Merges new conditions into old ones, keeping lastTransitionTime where the status did not change. */
export function mergeConditions(
  old: readonly NamespaceCondition[],
  next: readonly Omit<NamespaceCondition, 'lastTransitionTime'>[],
  nowTime: string,
): NamespaceCondition[] {
  const out = old.filter((c) => !CONDITION_ORDER.includes(c.type)).map((c) => ({ ...c }));
  for (const c of next) {
    const prev = old.find((o) => o.type === c.type);
    out.push({
      ...c,
      lastTransitionTime:
        prev !== undefined && prev.status === c.status ? (prev.lastTransitionTime ?? nowTime) : nowTime,
    });
  }
  return out;
}

export const namespaceController: ControllerDescriptor = {
  name: 'namespace',
  start(ctx: ControllerContext) {
    const namespaces = ctx.informers.forResource<Namespace>('namespaces');
    const queue = newQueue(ctx, 'namespace');
    namespaces.addEventHandler(
      eachObject((ns, kind) => {
        if (kind !== 'delete' && ns.metadata.deletionTimestamp !== undefined) queue.add(ns.metadata.name ?? '');
      }),
    );
    const nsClient = ctx.api.resource<Namespace>('namespaces');

    /** One pass: delete whatever is left in the namespace, report what still is. */
    const deleteContent = async (ns: string): Promise<ContentReport> => {
      const report: ContentReport = { remaining: new Map(), finalizers: new Map(), errors: [] };
      for (const def of namespacedResources()) {
        const gr = qualifiedResource(def);
        const client = ctx.api.resource<KubeObject>(gr, { namespace: ns });
        let items: KubeObject[];
        try {
          items = (await client.list({ namespace: ns })).items;
        } catch (err) {
          report.errors.push(`${gr}: ${(err as Error).message}`);
          continue;
        }
        let left = 0;
        for (const obj of items) {
          const name = obj.metadata.name ?? '';
          if (obj.metadata.deletionTimestamp === undefined) {
            try {
              const res = await client.delete(name, { propagationPolicy: 'Background' });
              if (res.deleted) continue;
              obj.metadata = res.object.metadata;
            } catch (err) {
              if (isNotFound(err)) continue;
              report.errors.push(`${gr}/${name}: ${(err as Error).message}`);
            }
          }
          left++;
          for (const f of obj.metadata.finalizers ?? []) report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
        }
        if (left > 0) report.remaining.set(gr, left);
      }
      return report;
    };

    const reconcile = async (name: string) => {
      const ns = namespaces.get(undefined, name);
      if (ns === undefined || ns.metadata.deletionTimestamp === undefined) return;
      if (!(ns.spec?.finalizers ?? []).includes(FINALIZER_KUBERNETES)) return;
      const report = await deleteContent(name);
      let current = await nsClient.get(name);
      if (!(current.spec?.finalizers ?? []).includes(FINALIZER_KUBERNETES)) return;
      const nowTime = formatTime(ctx.runtime.now());
      const conditions = mergeConditions(current.status?.conditions ?? [], deletionConditions(report), nowTime);
      const strip = (cs: readonly NamespaceCondition[]) => JSON.stringify(cs.map(({ lastTransitionTime, ...c }) => c));
      if (strip(conditions) !== strip(current.status?.conditions ?? [])) {
        current = await nsClient.updateStatus({
          ...current,
          status: { ...current.status, phase: 'Terminating', conditions },
        });
      }
      if (report.remaining.size > 0 || report.errors.length > 0) return { requeueAfterMs: RECHECK_MS };
      try {
        await nsClient.update(
          {
            ...current,
            spec: { finalizers: (current.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES) },
          },
          { subresource: 'finalize' },
        );
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err)) return { requeueAfterMs: 0 };
        throw err;
      }
    };

    return runController({
      name: 'namespace',
      runtime: ctx.runtime,
      informers: [namespaces],
      queue,
      reconcile,
      workers: 2,
      log: ctx.log,
    });
  },
};
