export {
  type ContainerLogQuery,
  type ContainerRef,
  containerIdForLogs,
  containerNames,
  containerRefFromStatus,
  parseContainerLogQuery,
  runtimeContainerId,
  runtimeLogOptions,
} from './container-logs.js';
export { KubeletServerError, type KubeletServerErrorCode } from './errors.js';
export { type ContainerResolver, RuntimeAttachBackend, RuntimeExecBackend } from './exec-backend.js';
export { fileLogStream, LOG_FILE_ANNOTATION } from './file-logs.js';
export {
  type KubeletPath,
  type KubeletPodHost,
  KubeletServer,
  type KubeletServerOptions,
  parseKubeletPath,
} from './kubelet-server.js';
export {
  type NodeServing,
  nodePodHost,
  type ServableKubelet,
  type ServeNodeOptions,
  serveNode,
  serveSimNodes,
  simNodesHost,
} from './serve-node.js';
