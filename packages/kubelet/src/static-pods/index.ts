export {
  externalPodStatus,
  observeProcess,
  type PidRecord,
  type ProcessObservation,
  pidFileOf,
  readCmdline,
} from './external.js';
export {
  CONFIG_HASH_ANNOTATION,
  CONFIG_MIRROR_ANNOTATION,
  CONFIG_SEEN_ANNOTATION,
  CONFIG_SOURCE_ANNOTATION,
  isExternalStaticPod,
  isMirrorPod,
  PID_FILE_ANNOTATION,
  parseManifest,
  StaticPodManifestError,
  staticPodHash,
  staticPodName,
  toStaticPod,
} from './manifest.js';
export { MirrorPodManager, type MirrorPodManagerOptions, type MirrorSyncResult, staticPodHashOf } from './mirror.js';
export { StaticPodSource, type StaticPodSourceOptions } from './source.js';
export { StaticPods, type StaticPodsOptions, type StaticSourcedPod } from './static-pods.js';
