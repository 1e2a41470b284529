// ObjectMeta validation (apimachinery ValidateObjectMeta / ValidateObjectMetaUpdate) and the shared
// label, annotation and selector checks.
import type { LabelSelector, ObjectMeta } from '../types/meta.js';
import { type FieldError, fieldErr } from './field-error.js';
import { goLabelSelector, goStringSlice } from './go-format.js';
import { isQualifiedName, isValidLabelValue, type NameValidator } from './names.js';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
export const NEGATIVE_MSG = 'must be greater than or equal to 0';

export function validateNonnegative(value: number | undefined, field: string): FieldError[] {
  return value !== undefined && value < 0 ? [fieldErr.invalid(field, value, NEGATIVE_MSG)] : [];
}

export function validateLabels(labels: Record<string, string> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(fieldErr.invalid(field, k, m));
    for (const m of isValidLabelValue(v)) errs.push(fieldErr.invalid(field, v, m));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Annotation keys are qualified names, case-insensitively.
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(fieldErr.invalid(field, k, m));
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldErr.tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

export interface MetaOptions {
  namespaced: boolean;
  nameFn: NameValidator;
}

export function validateObjectMeta(meta: ObjectMeta | undefined, opts: MetaOptions, path = 'metadata'): FieldError[] {
  const m = meta ?? {};
  const errs: FieldError[] = [];
  if (m.generateName !== undefined && m.generateName !== '') {
    for (const msg of opts.nameFn(m.generateName, true))
      errs.push(fieldErr.invalid(`${path}.generateName`, m.generateName, msg));
  }
  if (m.name === undefined || m.name === '') {
    errs.push(fieldErr.required(`${path}.name`, 'name or generateName is required'));
  } else {
    for (const msg of opts.nameFn(m.name, false)) errs.push(fieldErr.invalid(`${path}.name`, m.name, msg));
  }
  if (opts.namespaced) {
    if (m.namespace === undefined || m.namespace === '') errs.push(fieldErr.required(`${path}.namespace`));
  } else if (m.namespace !== undefined && m.namespace !== '') {
    errs.push(fieldErr.forbidden(`${path}.namespace`, 'not allowed on this type'));
  }
  errs.push(...validateNonnegative(m.generation, `${path}.generation`));
  errs.push(...validateLabels(m.labels, `${path}.labels`));
  errs.push(...validateAnnotations(m.annotations, `${path}.annotations`));
  for (const ref of m.ownerReferences ?? []) {
    const f = `${path}.ownerReferences`;
    const version = (ref.apiVersion ?? '').split('/').pop() ?? '';
    if (version === '')
      errs.push(fieldErr.invalid(`${f}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if ((ref.kind ?? '') === '') errs.push(fieldErr.invalid(`${f}.kind`, ref.kind ?? '', 'must not be empty'));
    if ((ref.name ?? '') === '') errs.push(fieldErr.invalid(`${f}.name`, ref.name ?? '', 'must not be empty'));
    if ((ref.uid ?? '') === '') errs.push(fieldErr.invalid(`${f}.uid`, ref.uid ?? '', 'must not be empty'));
  }
  let firstController = '';
  for (const ref of m.ownerReferences ?? []) {
    if (ref.controller !== true) continue;
    const name = `${ref.kind}/${ref.name}`;
    if (firstController === '') firstController = name;
    else {
      // Upstream prints the whole slice with %#v, pointer addresses included; kemu elides it.
      errs.push(
        fieldErr.invalid(
          `${path}.ownerReferences`,
          { go: '[]v1.OwnerReference{…}' },
          `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${name}`,
        ),
      );
    }
  }
  const finalizers = m.finalizers ?? [];
  for (const f of finalizers) {
    for (const msg of isQualifiedName(f)) errs.push(fieldErr.invalid(`${path}.finalizers`, f, msg));
  }
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errs.push(
      fieldErr.invalid(
        `${path}.finalizers`,
        { go: goStringSlice(finalizers) },
        'finalizer orphan and foregroundDeletion cannot be both set',
      ),
    );
  }
  return errs;
}

/** ValidateImmutableField: `<field>: Invalid value: <new>: field is immutable`. */
export function immutable(field: string, newValue: FieldErrorValue, changed: boolean): FieldError[] {
  return changed ? [fieldErr.invalid(field, newValue, 'field is immutable')] : [];
}

type FieldErrorValue = Parameters<typeof fieldErr.invalid>[1];

export function validateObjectMetaUpdate(newMeta: ObjectMeta, oldMeta: ObjectMeta, path = 'metadata'): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...immutable(`${path}.name`, newMeta.name ?? '', (newMeta.name ?? '') !== (oldMeta.name ?? '')));
  errs.push(
    ...immutable(`${path}.namespace`, newMeta.namespace ?? '', (newMeta.namespace ?? '') !== (oldMeta.namespace ?? '')),
  );
  // An omitted uid means "the stored one" (the apiserver fills it in before validating).
  const uidChanged = (newMeta.uid ?? '') !== '' && newMeta.uid !== (oldMeta.uid ?? '');
  errs.push(...immutable(`${path}.uid`, newMeta.uid ?? '', uidChanged));
  return errs;
}

export function goSelectorValue(sel: LabelSelector | undefined | null): FieldErrorValue {
  return sel === undefined || sel === null ? null : { go: goLabelSelector(sel) };
}

/** ValidateLabelSelector (strict label values): operators, keys, values. */
export function validateLabelSelector(sel: LabelSelector, field: string): FieldError[] {
  const errs: FieldError[] = [];
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const p = `${field}.matchExpressions[${i}]`;
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          errs.push(fieldErr.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errs.push(
            fieldErr.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
          );
        }
        break;
      default:
        errs.push(fieldErr.invalid(`${p}.operator`, e.operator, 'not a valid selector operator'));
    }
    for (const m of isQualifiedName(e.key)) errs.push(fieldErr.invalid(`${p}.key`, e.key, m));
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) errs.push(fieldErr.invalid(`${p}.values[${j}]`, v, m));
    });
  });
  errs.push(...validateLabels(sel.matchLabels, `${field}.matchLabels`));
  return errs;
}
