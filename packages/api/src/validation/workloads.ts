// apps/v1 and batch/v1 validation: selectors that must match template labels, replica counts,
// strategies, job/cronjob specifics, and the immutable fields on update.
import { labelSelectorAsSelector, type Selector } from '../labels.js';
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../types/apps.js';
import type { CronJob, Job, JobSpec } from '../types/batch.js';
import type { PodTemplateSpec } from '../types/core.js';
import type { IntOrString, LabelSelector } from '../types/meta.js';
import { type FieldError, fieldErr } from './field-error.js';
import { goStringMap } from './go-format.js';
import { goSelectorValue, immutable, validateLabelSelector, validateNonnegative } from './meta.js';
import { validatePodTemplateSpec } from './pod.js';

function selectorAndTemplate(
  selector: LabelSelector | undefined,
  template: PodTemplateSpec | undefined,
  kindWord: string,
  restartPolicies: readonly string[] | null,
): FieldError[] {
  const errs: FieldError[] = [];
  if (selector === undefined || selector === null) {
    errs.push(fieldErr.required('spec.selector'));
  } else {
    errs.push(...validateLabelSelector(selector, 'spec.selector'));
    if (Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length === 0) {
      errs.push(
        fieldErr.invalid('spec.selector', goSelectorValue(selector), `empty selector is invalid for ${kindWord}`),
      );
    }
  }
  let compiled: Selector | null = null;
  try {
    compiled = labelSelectorAsSelector(selector);
  } catch {
    errs.push(fieldErr.invalid('spec.selector', goSelectorValue(selector), 'invalid label selector'));
  }
  if (compiled === null) return errs;
  if (template === undefined) {
    errs.push(fieldErr.required('spec.template'));
    return errs;
  }
  if (!compiled.empty && !compiled.matches(template.metadata?.labels ?? {})) {
    errs.push(
      fieldErr.invalid(
        'spec.template.metadata.labels',
        { go: goStringMap(template.metadata?.labels) },
        '`selector` does not match template `labels`',
      ),
    );
  }
  errs.push(...validatePodTemplateSpec(template, 'spec.template'));
  const rp = template.spec?.restartPolicy;
  if (restartPolicies !== null && rp !== undefined && !restartPolicies.includes(rp)) {
    errs.push(fieldErr.notSupported('spec.template.spec.restartPolicy', rp, restartPolicies));
  }
  if (restartPolicies !== null && template.spec?.activeDeadlineSeconds !== undefined) {
    // Upstream words (and types) this per controller: ReplicaSet (also for Deployments) and
    // DaemonSet say Invalid, StatefulSet says Forbidden.
    const f = 'spec.template.spec.activeDeadlineSeconds';
    if (kindWord === 'statefulset') {
      errs.push(fieldErr.forbidden(f, 'activeDeadlineSeconds in StatefulSet is not Supported'));
    } else {
      const owner = kindWord === 'daemonset' ? 'DaemonSet' : 'ReplicaSet';
      errs.push(
        fieldErr.invalid(f, template.spec.activeDeadlineSeconds, `activeDeadlineSeconds in ${owner} is not Supported`),
      );
    }
  }
  return errs;
}

function percentOrInt(v: IntOrString | undefined): { value: number; percent: boolean } | null {
  if (v === undefined) return null;
  if (typeof v === 'number') return { value: v, percent: false };
  const m = /^(-?[0-9]+)%$/.exec(v);
  return m === null ? { value: Number.NaN, percent: true } : { value: Number(m[1]), percent: true };
}

function validateRollingValue(v: IntOrString | undefined, field: string): FieldError[] {
  const p = percentOrInt(v);
  if (p === null || v === undefined) return [];
  if (Number.isNaN(p.value))
    return [
      fieldErr.invalid(
        field,
        v,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    ];
  if (p.value < 0) return [fieldErr.invalid(field, v, 'must be greater than or equal to 0')];
  if (p.percent && p.value > 100) return [fieldErr.invalid(field, v, 'must not be greater than 100%')];
  return [];
}

export function validateDeployment(d: Deployment): FieldError[] {
  const spec = d.spec ?? ({} as Deployment['spec']);
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...selectorAndTemplate(spec.selector, spec.template, 'deployment', ['Always']));
  const st = spec.strategy;
  if (st !== undefined) {
    if (st.type === 'Recreate' && st.rollingUpdate !== undefined) {
      errs.push(
        fieldErr.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"),
      );
    } else if (st.type !== undefined && st.type !== 'Recreate' && st.type !== 'RollingUpdate') {
      errs.push(fieldErr.notSupported('spec.strategy.type', st.type, ['Recreate', 'RollingUpdate']));
    }
    const ru = st.rollingUpdate;
    if (ru !== undefined && st.type === 'RollingUpdate') {
      errs.push(...validateRollingValue(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      errs.push(...validateRollingValue(ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge'));
      const zero = (v: IntOrString | undefined) => v === 0 || v === '0%';
      if (zero(ru.maxUnavailable) && zero(ru.maxSurge)) {
        errs.push(
          fieldErr.invalid(
            'spec.strategy.rollingUpdate.maxUnavailable',
            ru.maxUnavailable ?? 0,
            'may not be 0 when `maxSurge` is 0',
          ),
        );
      }
    }
  }
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (spec.progressDeadlineSeconds !== undefined) {
    errs.push(...validateNonnegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(
        fieldErr.invalid(
          'spec.progressDeadlineSeconds',
          spec.progressDeadlineSeconds,
          'must be greater than minReadySeconds',
        ),
      );
    }
  }
  return errs;
}

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const spec = rs.spec ?? ({} as ReplicaSet['spec']);
  return [
    ...validateNonnegative(spec.replicas, 'spec.replicas'),
    ...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'),
    // Upstream's ReplicaSet message really says "deployment".
    ...selectorAndTemplate(spec.selector, spec.template, 'deployment', ['Always']),
  ];
}

export function validateStatefulSet(s: StatefulSet): FieldError[] {
  const spec = s.spec ?? ({} as StatefulSet['spec']);
  const errs: FieldError[] = [];
  const pmp = spec.podManagementPolicy;
  if (pmp !== undefined && pmp !== 'OrderedReady' && pmp !== 'Parallel') {
    errs.push(fieldErr.invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = spec.updateStrategy;
  if (us?.type !== undefined && us.type !== 'RollingUpdate' && us.type !== 'OnDelete') {
    errs.push(fieldErr.invalid('spec.updateStrategy', us.type, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  if (us?.type === 'OnDelete' && us.rollingUpdate !== undefined) {
    errs.push(
      fieldErr.invalid(
        'spec.updateStrategy.rollingUpdate',
        { go: 'apps.RollingUpdateStatefulSetStrategy{…}' },
        "only allowed for updateStrategy 'RollingUpdate'",
      ),
    );
  }
  errs.push(...validateNonnegative(us?.rollingUpdate?.partition, 'spec.updateStrategy.rollingUpdate.partition'));
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...selectorAndTemplate(spec.selector, spec.template, 'statefulset', ['Always']));
  return errs;
}

export function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const spec = ds.spec ?? ({} as DaemonSet['spec']);
  const errs = selectorAndTemplate(spec.selector, spec.template, 'daemonset', ['Always']);
  const us = spec.updateStrategy;
  if (us?.type !== undefined && us.type !== 'RollingUpdate' && us.type !== 'OnDelete') {
    errs.push(fieldErr.notSupported('spec.updateStrategy.type', us.type, ['OnDelete', 'RollingUpdate']));
  }
  if (us?.type === 'RollingUpdate' && us.rollingUpdate !== undefined) {
    errs.push(
      ...validateRollingValue(us.rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable'),
    );
    errs.push(...validateRollingValue(us.rollingUpdate.maxSurge, 'spec.updateStrategy.rollingUpdate.maxSurge'));
  }
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  return errs;
}

function validateJobSpec(spec: JobSpec, prefix: string, requireSelector: boolean): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.parallelism, `${prefix}.parallelism`));
  errs.push(...validateNonnegative(spec.completions, `${prefix}.completions`));
  errs.push(...validateNonnegative(spec.backoffLimit, `${prefix}.backoffLimit`));
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds <= 0) {
    errs.push(
      fieldErr.invalid(`${prefix}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be greater than 0'),
    );
  }
  if (spec.completionMode !== undefined && spec.completionMode !== 'NonIndexed' && spec.completionMode !== 'Indexed') {
    errs.push(fieldErr.notSupported(`${prefix}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
  }
  if (spec.completionMode === 'Indexed' && spec.completions === undefined) {
    errs.push(fieldErr.required(`${prefix}.completions`, 'when completion mode is Indexed'));
  }
  if (requireSelector) {
    if (spec.selector === undefined) errs.push(fieldErr.required(`${prefix}.selector`));
    else {
      errs.push(...validateLabelSelector(spec.selector, `${prefix}.selector`));
      try {
        const sel = labelSelectorAsSelector(spec.selector);
        if (!sel.empty && !sel.matches(spec.template?.metadata?.labels ?? {})) {
          errs.push(
            fieldErr.invalid(
              `${prefix}.template.metadata.labels`,
              { go: goStringMap(spec.template?.metadata?.labels) },
              '`selector` does not match template `labels`',
            ),
          );
        }
      } catch {
        errs.push(fieldErr.invalid(`${prefix}.selector`, goSelectorValue(spec.selector), 'invalid label selector'));
      }
    }
  }
  errs.push(...validatePodTemplateSpec(spec.template, `${prefix}.template`));
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'OnFailure' && rp !== 'Never') {
    errs.push(fieldErr.notSupported(`${prefix}.template.spec.restartPolicy`, rp ?? '', ['OnFailure', 'Never']));
  }
  return errs;
}

export function validateJob(job: Job): FieldError[] {
  // The selector is generated at create time unless manualSelector is set, so only then require it.
  const generated = job.spec?.manualSelector !== true && job.spec?.selector === undefined;
  return validateJobSpec(job.spec ?? ({} as JobSpec), 'spec', !generated);
}

const CRON_DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

export function validateCronJob(cj: CronJob): FieldError[] {
  const errs: FieldError[] = [];
  const spec = cj.spec ?? ({} as CronJob['spec']);
  if ((cj.metadata.name ?? '').length > 52) {
    errs.push(fieldErr.invalid('metadata.name', cj.metadata.name ?? '', 'must be no more than 52 characters'));
  }
  if (spec.schedule === undefined || spec.schedule === '') {
    errs.push(fieldErr.required('spec.schedule'));
  } else {
    const s = spec.schedule.trim().replace(/^(CRON_)?TZ=\S+\s+/, '');
    const fields = s.split(/\s+/).filter((f) => f !== '');
    if (!(s.startsWith('@') ? CRON_DESCRIPTORS.includes(s) || s.startsWith('@every ') : fields.length === 5)) {
      const detail = s.startsWith('@')
        ? `unrecognized descriptor: ${s}`
        : `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`;
      errs.push(fieldErr.invalid('spec.schedule', spec.schedule, detail));
    }
  }
  const cp = spec.concurrencyPolicy;
  if (cp !== undefined && cp !== 'Allow' && cp !== 'Forbid' && cp !== 'Replace') {
    errs.push(fieldErr.notSupported('spec.concurrencyPolicy', cp, ['Allow', 'Forbid', 'Replace']));
  }
  errs.push(...validateNonnegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
  errs.push(...validateNonnegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
  errs.push(...validateNonnegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  if (spec.jobTemplate === undefined) errs.push(fieldErr.required('spec.jobTemplate'));
  else errs.push(...validateJobSpec(spec.jobTemplate.spec ?? ({} as JobSpec), 'spec.jobTemplate.spec', false));
  return errs;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Selector immutability shared by Deployment, ReplicaSet and DaemonSet (apps/v1). */
export function validateSelectorUpdate(
  newSel: LabelSelector | undefined,
  oldSel: LabelSelector | undefined,
  field = 'spec.selector',
): FieldError[] {
  return immutable(field, goSelectorValue(newSel), !sameJson(normalizeSelector(newSel), normalizeSelector(oldSel)));
}

function normalizeSelector(s: LabelSelector | undefined): unknown {
  if (s === undefined) return null;
  const ml = s.matchLabels ?? {};
  return {
    matchLabels: Object.fromEntries(
      Object.keys(ml)
        .sort()
        .map((k) => [k, ml[k]]),
    ),
    matchExpressions: s.matchExpressions ?? [],
  };
}

export const STATEFULSET_SPEC_FORBIDDEN =
  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

export function validateStatefulSetUpdate(n: StatefulSet, o: StatefulSet): FieldError[] {
  const strip = (s: StatefulSet) => {
    const {
      replicas,
      ordinals,
      template,
      updateStrategy,
      persistentVolumeClaimRetentionPolicy,
      minReadySeconds,
      ...rest
    } = s.spec;
    void replicas;
    void ordinals;
    void template;
    void updateStrategy;
    void persistentVolumeClaimRetentionPolicy;
    void minReadySeconds;
    return { ...rest, selector: normalizeSelector(rest.selector) };
  };
  return sameJson(strip(n), strip(o)) ? [] : [fieldErr.forbidden('spec', STATEFULSET_SPEC_FORBIDDEN)];
}

export function validateJobUpdate(n: Job, o: Job): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateSelectorUpdate(n.spec.selector, o.spec.selector));
  if (n.spec.completions !== o.spec.completions) {
    errs.push(...immutable('spec.completions', n.spec.completions ?? null, true));
  }
  if (n.spec.completionMode !== o.spec.completionMode) {
    errs.push(...immutable('spec.completionMode', n.spec.completionMode ?? null, true));
  }
  return errs;
}
