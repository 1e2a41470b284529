import type { ControllerDescriptor } from '../context.js';
import { cronJobController } from './cronjob.js';
import { daemonSetController } from './daemonset.js';
import { deploymentController } from './deployment.js';
import { endpointsController } from './endpoint/endpoints.js';
import { endpointSliceController } from './endpoint/endpointslices.js';
import { garbageCollectorController } from './garbagecollector.js';
import { jobController } from './job.js';
import { namespaceController } from './namespace.js';
import { nodeLifecycleController } from './nodelifecycle/node-lifecycle.js';
import { taintEvictionController } from './nodelifecycle/taint-eviction.js';
import { persistentVolumeBinderController } from './persistentvolume.js';
import { podGcController } from './podgc.js';
import { replicaSetController } from './replicaset.js';
import { serviceAccountController } from './serviceaccount.js';
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
  nodeLifecycleController,
  taintEvictionController,
  serviceAccountController,
  endpointsController,
  endpointSliceController,
  namespaceController,
  garbageCollectorController,
  podGcController,
  persistentVolumeBinderController,
];
