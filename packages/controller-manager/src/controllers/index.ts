import type { ControllerDescriptor } from '../context.js';
import { endpointsController } from './endpoint/endpoints.js';
import { endpointSliceController } from './endpoint/endpointslices.js';
import { garbageCollectorController } from './garbagecollector.js';
import { namespaceController } from './namespace.js';
import { nodeLifecycleController } from './nodelifecycle/node-lifecycle.js';
import { taintEvictionController } from './nodelifecycle/taint-eviction.js';
import { persistentVolumeBinderController } from './persistentvolume.js';
import { podGcController } from './podgc.js';
import { serviceAccountController } from './serviceaccount.js';

/** Every controller the process runs, in start order. Each file in this folder adds one line here. */
export const CONTROLLERS: ControllerDescriptor[] = [
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
