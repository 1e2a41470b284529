// apps/v1 and batch/v1 rows (upstream printDeployment, printReplicaSet, printStatefulSet,
// printDaemonSet, printJob, printCronJob, printControllerRevision).
import { formatLabelSelector, formatLabels, labelSelectorAsSelector } from '../labels.js';
import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../types/apps.js';
import type { CronJob, Job } from '../types/batch.js';
import { ageCol, col, containerCells, containersCol, imagesCol, int, nameCol, type Printer } from './common.js';
import { humanDuration, timestampSince } from './duration.js';

const selectorCol = (description: string) => col('Selector', 'string', description, true);

export const deploymentPrinter: Printer<Deployment> = {
  columns: [
    nameCol,
    col('Ready', 'string', 'Number of the pod with ready state'),
    col(
      'Up-to-date',
      'string',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    col(
      'Available',
      'string',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    ageCol,
    containersCol,
    imagesCol,
    selectorCol(
      'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
    ),
  ],
  cells(d, ctx) {
    const st = d.status ?? {};
    let selector: string;
    try {
      selector = labelSelectorAsSelector(d.spec?.selector).toString();
    } catch {
      selector = '<invalid>';
    }
    const [names, images] = containerCells(d.spec?.template?.spec?.containers);
    return [
      d.metadata.name ?? '',
      `${int(st.readyReplicas)}/${int(d.spec?.replicas)}`,
      int(st.updatedReplicas),
      int(st.availableReplicas),
      timestampSince(d.metadata.creationTimestamp, ctx.now),
      names,
      images,
      selector,
    ];
  },
};

export const replicaSetPrinter: Printer<ReplicaSet> = {
  columns: [
    nameCol,
    col(
      'Desired',
      'integer',
      'Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#how-a-replicaset-works',
    ),
    col(
      'Current',
      'integer',
      'Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#how-a-replicaset-works',
    ),
    col('Ready', 'integer', 'The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.'),
    ageCol,
    containersCol,
    imagesCol,
    selectorCol(
      "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
  ],
  cells(rs, ctx) {
    const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
    return [
      rs.metadata.name ?? '',
      int(rs.spec?.replicas),
      int(rs.status?.replicas),
      int(rs.status?.readyReplicas),
      timestampSince(rs.metadata.creationTimestamp, ctx.now),
      names,
      images,
      formatLabelSelector(rs.spec?.selector),
    ];
  },
};

export const statefulSetPrinter: Printer<StatefulSet> = {
  columns: [nameCol, col('Ready', 'string', 'Number of the pod with ready state'), ageCol, containersCol, imagesCol],
  cells(s, ctx) {
    const [names, images] = containerCells(s.spec?.template?.spec?.containers);
    return [
      s.metadata.name ?? '',
      `${int(s.status?.readyReplicas)}/${int(s.spec?.replicas)}`,
      timestampSince(s.metadata.creationTimestamp, ctx.now),
      names,
      images,
    ];
  },
};

export const daemonSetPrinter: Printer<DaemonSet> = {
  columns: [
    nameCol,
    col(
      'Desired',
      'integer',
      'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/',
    ),
    col(
      'Current',
      'integer',
      'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/',
    ),
    col(
      'Ready',
      'integer',
      'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.',
    ),
    col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'),
    col(
      'Available',
      'integer',
      'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)',
    ),
    col(
      'Node Selector',
      'string',
      "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    ageCol,
    containersCol,
    imagesCol,
    selectorCol(
      "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
  ],
  cells(ds, ctx) {
    const st = ds.status;
    const [names, images] = containerCells(ds.spec?.template?.spec?.containers);
    return [
      ds.metadata.name ?? '',
      int(st?.desiredNumberScheduled),
      int(st?.currentNumberScheduled),
      int(st?.numberReady),
      int(st?.updatedNumberScheduled),
      int(st?.numberAvailable),
      formatLabels(ds.spec?.template?.spec?.nodeSelector),
      timestampSince(ds.metadata.creationTimestamp, ctx.now),
      names,
      images,
      formatLabelSelector(ds.spec?.selector),
    ];
  },
};

function hasCondition(conds: { type: string; status: string }[] | undefined, type: string): boolean {
  return (conds ?? []).some((c) => c.type === type && c.status === 'True');
}

export const jobPrinter: Printer<Job> = {
  columns: [
    nameCol,
    col('Status', 'string', 'Status of the job.'),
    col(
      'Completions',
      'string',
      'The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.',
    ),
    col('Duration', 'string', 'Time required to complete the job.'),
    ageCol,
    containersCol,
    imagesCol,
    selectorCol(
      'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
    ),
  ],
  cells(job, ctx) {
    const st = job.status ?? {};
    let completions: string;
    if (job.spec?.completions !== undefined && job.spec.completions !== null) {
      completions = `${int(st.succeeded)}/${job.spec.completions}`;
    } else {
      const parallelism = int(job.spec?.parallelism);
      completions = parallelism > 1 ? `${int(st.succeeded)}/1 of ${parallelism}` : `${int(st.succeeded)}/1`;
    }
    let duration = '';
    if (st.startTime !== undefined && st.startTime !== '') {
      const start = Date.parse(st.startTime);
      duration =
        st.completionTime === undefined || st.completionTime === ''
          ? humanDuration(ctx.now - start)
          : humanDuration(Date.parse(st.completionTime) - start);
    }
    let status: string;
    if (hasCondition(st.conditions, 'Complete')) status = 'Complete';
    else if (hasCondition(st.conditions, 'Failed')) status = 'Failed';
    else if (job.metadata.deletionTimestamp !== undefined && job.metadata.deletionTimestamp !== null)
      status = 'Terminating';
    else if (hasCondition(st.conditions, 'Suspended')) status = 'Suspended';
    else if (hasCondition(st.conditions, 'FailureTarget')) status = 'FailureTarget';
    else status = 'Running';
    const [names, images] = containerCells(job.spec?.template?.spec?.containers);
    return [
      job.metadata.name ?? '',
      status,
      completions,
      duration,
      timestampSince(job.metadata.creationTimestamp, ctx.now),
      names,
      images,
      formatLabelSelector(job.spec?.selector),
    ];
  },
};

export const cronJobPrinter: Printer<CronJob> = {
  columns: [
    nameCol,
    col('Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
    col(
      'Timezone',
      'string',
      'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones',
    ),
    col(
      'Suspend',
      'boolean',
      'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.',
    ),
    col('Active', 'integer', 'A list of pointers to currently running jobs.'),
    col('Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'),
    ageCol,
    containersCol,
    imagesCol,
    selectorCol(
      'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
    ),
  ],
  cells(cj, ctx) {
    const spec = cj.spec;
    const suspend = spec?.suspend === undefined ? '<unset>' : spec.suspend ? 'True' : 'False';
    const last = cj.status?.lastScheduleTime ? timestampSince(cj.status.lastScheduleTime, ctx.now) : '<none>';
    const [names, images] = containerCells(spec?.jobTemplate?.spec?.template?.spec?.containers);
    return [
      cj.metadata.name ?? '',
      spec?.schedule ?? '',
      spec?.timeZone ?? '<none>',
      suspend,
      (cj.status?.active ?? []).length,
      last,
      timestampSince(cj.metadata.creationTimestamp, ctx.now),
      names,
      images,
      formatLabelSelector(spec?.jobTemplate?.spec?.selector),
    ];
  },
};

export const controllerRevisionPrinter: Printer<ControllerRevision> = {
  columns: [
    nameCol,
    col('Controller', 'string', 'Controller of the object'),
    col('Revision', 'string', 'Revision indicates the revision of the state represented by Data.'),
    ageCol,
  ],
  cells(cr, ctx) {
    const owner = (cr.metadata.ownerReferences ?? []).find((o) => o.controller === true);
    let controller = '<none>';
    if (owner !== undefined) {
      const slash = owner.apiVersion.indexOf('/');
      const group = slash < 0 ? '' : owner.apiVersion.slice(0, slash);
      controller = `${(group === '' ? owner.kind : `${owner.kind}.${group}`).toLowerCase()}/${owner.name}`;
    }
    return [
      cr.metadata.name ?? '',
      controller,
      int(cr.revision),
      timestampSince(cr.metadata.creationTimestamp, ctx.now),
    ];
  },
};
