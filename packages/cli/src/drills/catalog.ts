/** Every drill `kemu drill list` shows, in the order of DESIGN.md's "Failure drills". */
import { apiserverDownDrill } from './apiserver-down.js';
import type { DrillCluster } from './cluster.js';
import { controlPlaneDrill } from './control-plane.js';
import { etcdQuorumDrill } from './etcd-quorum.js';
import { type Drill, UnknownDrillError } from './framework.js';
import { kubeletStopDrill } from './kubelet-stop.js';
import { podDeleteDrill } from './pod-delete.js';
import { runtimeStopDrill } from './runtime-stop.js';

export const DRILLS: readonly Drill<DrillCluster>[] = [
  podDeleteDrill,
  kubeletStopDrill,
  runtimeStopDrill,
  controlPlaneDrill,
  etcdQuorumDrill,
  apiserverDownDrill,
];

export function findDrill(name: string): Drill<DrillCluster> {
  const d = DRILLS.find((x) => x.name === name);
  if (!d)
    throw new UnknownDrillError(
      name,
      DRILLS.map((x) => x.name),
    );
  return d;
}
