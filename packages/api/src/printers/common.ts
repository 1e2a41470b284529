// Building blocks shared by the per-kind printers.
import type { Container } from '../types/core.js';
import type { TableCell, TableColumnDefinition } from '../types/meta.js';

export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
export const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

type ColumnType = TableColumnDefinition['type'];

/** A column; `wide` marks priority-1 columns kubectl shows only with `-o wide`. */
export function col(name: string, type: ColumnType, description: string, wide = false): TableColumnDefinition {
  return { name, type, format: '', description, priority: wide ? 1 : 0 };
}

export const nameCol: TableColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: NAME_DESCRIPTION,
  priority: 0,
};
export const ageCol = col('Age', 'string', AGE_DESCRIPTION);
export const containersCol = col('Containers', 'string', 'Names of each container in the template.', true);
export const imagesCol = col('Images', 'string', 'Images referenced by each container in the template.', true);

/** layoutContainerCells: comma-joined container names and images. */
export function containerCells(containers: readonly Container[] | undefined): [string, string] {
  const cs = containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}

export interface PrintContext {
  /** Milliseconds since the epoch. */
  now: number;
}

export interface Printer<T = never> {
  columns: TableColumnDefinition[];
  /** Every cell, wide ones included (the server always prints wide; kubectl hides priority > 0). */
  cells(obj: T, ctx: PrintContext): TableCell[];
  /** Optional row conditions (pods: Completed). */
  conditions?(obj: T): { type: 'Completed'; status: 'True'; reason: string; message: string }[] | undefined;
}

export function int(n: number | undefined | null): number {
  return typeof n === 'number' && Number.isFinite(n) ? Math.trunc(n) : 0;
}
