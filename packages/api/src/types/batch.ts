// batch/v1 kinds.
import type { ObjectReference, PodTemplateSpec } from './core.js';
import type { Condition, LabelSelector, ObjectMeta, Time } from './meta.js';

export interface JobSpec {
  parallelism?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  maxFailedIndexes?: number;
  selector?: LabelSelector;
  manualSelector?: boolean;
  template: PodTemplateSpec;
  ttlSecondsAfterFinished?: number;
  completionMode?: 'NonIndexed' | 'Indexed';
  suspend?: boolean;
  podReplacementPolicy?: 'TerminatingOrFailed' | 'Failed';
  podFailurePolicy?: { rules: unknown[] };
  successPolicy?: { rules: unknown[] };
}

export interface JobCondition extends Condition {
  type: 'Complete' | 'Failed' | 'Suspended' | 'FailureTarget' | 'SuccessCriteriaMet' | string;
  lastProbeTime?: Time;
}

export interface Job {
  apiVersion?: 'batch/v1';
  kind?: 'Job';
  metadata: ObjectMeta;
  spec: JobSpec;
  status?: {
    conditions?: JobCondition[];
    startTime?: Time;
    completionTime?: Time;
    active?: number;
    succeeded?: number;
    failed?: number;
    terminating?: number;
    ready?: number;
    completedIndexes?: string;
    failedIndexes?: string;
    uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
  };
}

export interface CronJob {
  apiVersion?: 'batch/v1';
  kind?: 'CronJob';
  metadata: ObjectMeta;
  spec: {
    schedule: string;
    timeZone?: string;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    suspend?: boolean;
    jobTemplate: { metadata?: ObjectMeta; spec: JobSpec };
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
  };
  status?: {
    active?: ObjectReference[];
    lastScheduleTime?: Time;
    lastSuccessfulTime?: Time;
  };
}
