import type { ControllerDescriptor } from '../context.js';
import { cronJobController } from './cronjob.js';
import { daemonSetController } from './daemonset.js';
import { deploymentController } from './deployment.js';
import { jobController } from './job.js';
import { replicaSetController } from './replicaset.js';
import { statefulSetController } from './statefulset.js';
import { ttlAfterFinishedController } from './ttl-after-finished.js';

/** Every controller the process runs, in start order. Each file in this folder adds one line here. */
export const CONTROLLERS: ControllerDescriptor[] = [
  replicaSetController,
  deploymentController,
  statefulSetController,
  daemonSetController,
  jobController,
  ttlAfterFinishedController,
  cronJobController,
];
