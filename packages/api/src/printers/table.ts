// Server-side printing (kubectl-contract.md §3): a meta.k8s.io/v1 Table for any served resource,
// with upstream's columns and cells, wide columns at priority 1, and `row.object` as
// PartialObjectMetadata (default), the full object (`includeObject=Object`) or absent (`None`).
import type {
  KubeObject,
  PartialObjectMetadata,
  Table,
  TableCell,
  TableColumnDefinition,
  TableRow,
  WatchEvent,
  WatchEventType,
} from '../types/meta.js';
import { ageCol, nameCol, type PrintContext, type Printer } from './common.js';
import {
  configMapPrinter,
  endpointSlicePrinter,
  endpointsPrinter,
  eventPrinter,
  leasePrinter,
  namespacePrinter,
  nodePrinter,
  persistentVolumeClaimPrinter,
  persistentVolumePrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from './core.js';
import { nowMs, timestampSince } from './duration.js';
import {
  clusterRoleBindingPrinter,
  horizontalPodAutoscalerPrinter,
  ingressClassPrinter,
  ingressPrinter,
  networkPolicyPrinter,
  podDisruptionBudgetPrinter,
  priorityClassPrinter,
  roleBindingPrinter,
  rolePrinter,
  storageClassPrinter,
} from './extra.js';
import { podPrinter } from './pod.js';
import {
  controllerRevisionPrinter,
  cronJobPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  jobPrinter,
  replicaSetPrinter,
  statefulSetPrinter,
} from './workloads.js';

/** `Name Age` for resources without a dedicated printer. */
export const defaultPrinter: Printer<KubeObject> = {
  columns: [nameCol, ageCol],
  cells: (o, ctx) => [o.metadata?.name ?? '', timestampSince(o.metadata?.creationTimestamp, ctx.now)],
};

const printers: Record<string, Printer<never>> = {
  pods: podPrinter,
  deployments: deploymentPrinter,
  replicasets: replicaSetPrinter,
  statefulsets: statefulSetPrinter,
  daemonsets: daemonSetPrinter,
  jobs: jobPrinter,
  cronjobs: cronJobPrinter,
  controllerrevisions: controllerRevisionPrinter,
  services: servicePrinter,
  endpoints: endpointsPrinter,
  endpointslices: endpointSlicePrinter,
  nodes: nodePrinter,
  namespaces: namespacePrinter,
  events: eventPrinter,
  configmaps: configMapPrinter,
  secrets: secretPrinter,
  serviceaccounts: serviceAccountPrinter,
  leases: leasePrinter,
  persistentvolumes: persistentVolumePrinter,
  persistentvolumeclaims: persistentVolumeClaimPrinter,
  poddisruptionbudgets: podDisruptionBudgetPrinter,
  horizontalpodautoscalers: horizontalPodAutoscalerPrinter,
  roles: rolePrinter,
  clusterroles: rolePrinter,
  rolebindings: roleBindingPrinter,
  clusterrolebindings: clusterRoleBindingPrinter,
  ingresses: ingressPrinter,
  ingressclasses: ingressClassPrinter,
  networkpolicies: networkPolicyPrinter,
  storageclasses: storageClassPrinter,
  priorityclasses: priorityClassPrinter,
};

function printerFor(resource: string): Printer<never> {
  return printers[resource] ?? (defaultPrinter as Printer<never>);
}

/** The column definitions of a resource's table (plural name, e.g. `pods`). */
export function columnDefinitions(resource: string): TableColumnDefinition[] {
  return printerFor(resource).columns.map((c) => ({ ...c }));
}

/** The cells of one row, wide columns included. `now` is a Date or epoch milliseconds. */
export function rowCells(resource: string, obj: KubeObject, now: Date | number): TableCell[] {
  return printerFor(resource).cells(obj as never, { now: nowMs(now) } satisfies PrintContext);
}

/** The PartialObjectMetadata kubectl needs for `-A` (NAMESPACE) and `--show-labels`. */
export function partialObjectMetadata(obj: KubeObject): PartialObjectMetadata {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: structuredClone(obj.metadata) };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  now: Date | number;
  /** `includeObject` query parameter; default Metadata. */
  includeObject?: IncludeObject;
  /** List metadata to carry (resourceVersion is required by `get -w`). */
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  /** Omit column definitions (`null`), as allowed for watch events after the first. */
  omitColumns?: boolean;
}

export function tableRow(resource: string, obj: KubeObject, opts: TableOptions): TableRow {
  const printer = printerFor(resource);
  const row: TableRow = { cells: printer.cells(obj as never, { now: nowMs(opts.now) }) };
  const conditions = printer.conditions?.(obj as never);
  if (conditions !== undefined) row.conditions = conditions;
  const include = opts.includeObject ?? 'Metadata';
  if (include === 'Metadata') row.object = partialObjectMetadata(obj);
  else if (include === 'Object') row.object = structuredClone(obj);
  return row;
}

/** A Table for a list (or a single GET: pass one object) of `resource` objects. */
export function buildTable(resource: string, objects: readonly KubeObject[], opts: TableOptions): Table {
  const metadata: Table['metadata'] = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue !== undefined && opts.continue !== '') metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: opts.omitColumns === true ? null : columnDefinitions(resource),
    rows: objects.map((o) => tableRow(resource, o, opts)),
  };
}

/**
 * A watch event for `kubectl get -w` (contract §4): the object wrapped as a one-row Table. Column
 * definitions may be sent only with the first event (`omitColumns` for the rest).
 */
export function tableWatchEvent(
  type: Exclude<WatchEventType, 'ERROR' | 'BOOKMARK'>,
  resource: string,
  obj: KubeObject,
  opts: TableOptions,
): WatchEvent<Table> {
  const rv = opts.resourceVersion ?? obj.metadata?.resourceVersion;
  return { type, object: buildTable(resource, [obj], rv === undefined ? opts : { ...opts, resourceVersion: rv }) };
}
