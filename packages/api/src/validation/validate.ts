// Entry points the apiserver calls: validate a new object, validate an update against the stored
// object, and turn the errors into the 422 Status kubectl prints.
import { guardMalformed } from '../decode.js';
import { qualifiedKind, resourceForKind } from '../registry.js';
import { invalidStatus } from '../status.js';
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../types/apps.js';
import type { CronJob, Job } from '../types/batch.js';
import type { ConfigMap, Pod, Secret } from '../types/core.js';
import type { KubeObject, Status } from '../types/meta.js';
import type { Scale } from '../types/misc.js';
import type { FieldError } from './field-error.js';
import { validateNonnegative, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import {
  type NameValidator,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  nameIsPathSegment,
} from './names.js';
import {
  validateBinding,
  validateConfigMap,
  validateConfigMapUpdate,
  validateEndpointSlice,
  validateEndpoints,
  validateEvent,
  validateLease,
  validateNamespace,
  validatePersistentVolume,
  validatePersistentVolumeClaim,
  validateSecret,
  validateSecretUpdate,
  validateService,
  validateServiceUpdate,
} from './other.js';
import { validatePodSpec, validatePodSpecUpdate } from './pod.js';
import {
  validateCronJob,
  validateDaemonSet,
  validateDeployment,
  validateJob,
  validateJobUpdate,
  validateReplicaSet,
  validateSelectorUpdate,
  validateStatefulSet,
  validateStatefulSetUpdate,
} from './workloads.js';

interface KindRules {
  nameFn: NameValidator;
  validate?: (o: never) => FieldError[];
  validateUpdate?: (n: never, o: never) => FieldError[];
}

const rules: Record<string, KindRules> = {
  'v1/Pod': {
    nameFn: nameIsDNSSubdomain,
    validate: (p: Pod) => validatePodSpec(p.spec, 'spec'),
    validateUpdate: validatePodSpecUpdate,
  },
  'v1/Binding': { nameFn: nameIsDNSSubdomain, validate: validateBinding },
  'v1/Namespace': { nameFn: nameIsDNSLabel, validate: validateNamespace },
  'v1/Node': { nameFn: nameIsDNSSubdomain },
  'v1/Service': { nameFn: nameIsDNS1035Label, validate: validateService, validateUpdate: validateServiceUpdate },
  'v1/Endpoints': { nameFn: nameIsDNSSubdomain, validate: validateEndpoints },
  'v1/ConfigMap': {
    nameFn: nameIsDNSSubdomain,
    validate: validateConfigMap,
    validateUpdate: (n: ConfigMap, o: ConfigMap) => validateConfigMapUpdate(n, o),
  },
  'v1/Secret': {
    nameFn: nameIsDNSSubdomain,
    validate: validateSecret,
    validateUpdate: (n: Secret, o: Secret) => validateSecretUpdate(n, o),
  },
  'v1/ServiceAccount': { nameFn: nameIsDNSSubdomain },
  'v1/Event': { nameFn: nameIsDNSSubdomain, validate: validateEvent },
  'v1/PersistentVolume': { nameFn: nameIsPathSegment, validate: validatePersistentVolume },
  'v1/PersistentVolumeClaim': { nameFn: nameIsDNSSubdomain, validate: validatePersistentVolumeClaim },
  'apps/v1/Deployment': {
    nameFn: nameIsDNSSubdomain,
    validate: validateDeployment,
    validateUpdate: (n: Deployment, o: Deployment) => validateSelectorUpdate(n.spec?.selector, o.spec?.selector),
  },
  'apps/v1/ReplicaSet': {
    nameFn: nameIsDNSSubdomain,
    validate: validateReplicaSet,
    validateUpdate: (n: ReplicaSet, o: ReplicaSet) => validateSelectorUpdate(n.spec?.selector, o.spec?.selector),
  },
  'apps/v1/StatefulSet': {
    nameFn: nameIsDNSSubdomain,
    validate: validateStatefulSet,
    validateUpdate: (n: StatefulSet, o: StatefulSet) => validateStatefulSetUpdate(n, o),
  },
  'apps/v1/DaemonSet': {
    nameFn: nameIsDNSSubdomain,
    validate: validateDaemonSet,
    validateUpdate: (n: DaemonSet, o: DaemonSet) => validateSelectorUpdate(n.spec?.selector, o.spec?.selector),
  },
  'apps/v1/ControllerRevision': { nameFn: nameIsDNSSubdomain },
  'batch/v1/Job': {
    nameFn: nameIsDNSSubdomain,
    validate: validateJob,
    validateUpdate: (n: Job, o: Job) => validateJobUpdate(n, o),
  },
  'batch/v1/CronJob': { nameFn: nameIsDNSSubdomain, validate: (c: CronJob) => validateCronJob(c) },
  'coordination.k8s.io/v1/Lease': { nameFn: nameIsDNSSubdomain, validate: validateLease },
  'discovery.k8s.io/v1/EndpointSlice': { nameFn: nameIsDNSSubdomain, validate: validateEndpointSlice },
  'autoscaling/v1/Scale': {
    nameFn: nameIsDNSSubdomain,
    validate: (s: Scale) => validateNonnegative(s.spec?.replicas, 'spec.replicas'),
  },
};

function rulesFor(obj: KubeObject): KindRules {
  return rules[`${obj.apiVersion ?? ''}/${obj.kind ?? ''}`] ?? { nameFn: nameIsDNSSubdomain };
}

function isNamespaced(obj: KubeObject): boolean {
  return resourceForKind(obj.apiVersion ?? '', obj.kind ?? '')?.namespaced ?? true;
}

/**
 * Create-time validation: metadata (name rules per kind, namespace scope) and the kind's spec.
 * Throws MalformedObjectError (→ 400) for bodies with fields of the wrong type.
 */
export function validateObject(obj: KubeObject): FieldError[] {
  const r = rulesFor(obj);
  return guardMalformed(obj, () => [
    ...validateObjectMeta(obj.metadata, { namespaced: isNamespaced(obj), nameFn: r.nameFn }),
    ...(r.validate?.(obj as never) ?? []),
  ]);
}

/** Update validation: everything validateObject checks, plus immutable metadata and spec fields. */
export function validateObjectUpdate(newObj: KubeObject, oldObj: KubeObject): FieldError[] {
  const r = rulesFor(newObj);
  return guardMalformed(newObj, () => [
    ...validateObjectMetaUpdate(newObj.metadata ?? {}, oldObj.metadata ?? {}),
    ...validateObject(newObj),
    ...(r.validateUpdate?.(newObj as never, oldObj as never) ?? []),
  ]);
}

/** The 422 Status for `errs` against `obj`, or null when there are none. */
export function invalidStatusFor(obj: KubeObject, errs: readonly FieldError[]): Status | null {
  if (errs.length === 0) return null;
  const def = resourceForKind(obj.apiVersion ?? '', obj.kind ?? '');
  const group = def?.group ?? (obj.apiVersion?.includes('/') ? (obj.apiVersion.split('/')[0] ?? '') : '');
  const kind = def?.kind ?? obj.kind ?? '';
  const name = obj.metadata?.name ?? obj.metadata?.generateName ?? '';
  return invalidStatus({ group, kind }, name, errs);
}

/** For messages: `Deployment.apps` style name of an object's kind. */
export function qualifiedKindOf(obj: KubeObject): string {
  const def = resourceForKind(obj.apiVersion ?? '', obj.kind ?? '');
  return def === undefined ? (obj.kind ?? '') : qualifiedKind(def);
}
