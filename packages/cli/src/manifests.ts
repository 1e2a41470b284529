import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { type ClusterPlan, type ComponentPlan, pidFileOf } from './topology.js';

/** The annotation that makes a static pod a mirror of a process the kemu supervisor runs. */
export const PID_FILE_ANNOTATION = 'kemu.dev/pid-file';
/** The supervisor's log file of the process, which the kubelet serves as the mirror pod's log. */
export const LOG_FILE_ANNOTATION = 'kemu.dev/log-file';
/** Marks the manifests `kemu up` wrote, so a later `up` replaces exactly those. */
export const MANAGED_ANNOTATION = 'kemu.dev/managed-by';

export interface StaticManifest {
  node: string;
  file: string;
  pod: Record<string, unknown>;
}

/**
 * A kubeadm-like static pod for a supervised component. The kubelet does not run it (the annotation
 * says the supervisor does); it mirrors it as a pod, so `kubectl get pods -n kube-system` shows the
 * control plane. The image is only a label here: nothing is pulled.
 */
export function manifestFor(stateDir: string, c: ComponentPlan): StaticManifest | undefined {
  const sp = c.staticPod;
  if (!sp || !c.available) return undefined;
  const dir = path.join(stateDir, 'nodes', sp.node, 'manifests');
  const container: Record<string, unknown> = {
    name: sp.podName,
    image: sp.image,
    imagePullPolicy: 'IfNotPresent',
    command: c.argv.slice(1),
  };
  if (c.ports.admin !== undefined) {
    container.livenessProbe = {
      httpGet: { host: '127.0.0.1', path: '/healthz', port: c.ports.admin, scheme: 'HTTP' },
      periodSeconds: 10,
    };
    container.readinessProbe = {
      httpGet: { host: '127.0.0.1', path: '/readyz', port: c.ports.admin, scheme: 'HTTP' },
      periodSeconds: 1,
    };
  }
  return {
    node: sp.node,
    file: path.join(dir, `${sp.podName}.yaml`),
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: sp.podName,
        namespace: sp.namespace,
        labels: sp.labels,
        annotations: {
          [PID_FILE_ANNOTATION]: pidFileOf(stateDir, c.name),
          // The kubelet serves this file as the container's log: `kubectl logs -n kube-system kube-scheduler-<node>`.
          [LOG_FILE_ANNOTATION]: path.join(stateDir, 'logs', `${c.name}.log`),
          [MANAGED_ANNOTATION]: 'kemu',
          'kemu.dev/component': c.name,
        },
      },
      spec: {
        hostNetwork: true,
        priorityClassName: 'system-node-critical',
        // As kubeadm's static pods: tolerate every NoExecute taint, so a NotReady node keeps them.
        tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
        containers: [container],
      },
    },
  };
}

export function staticManifests(plan: ClusterPlan): StaticManifest[] {
  return plan.components
    .map((c) => manifestFor(plan.spec.stateDir, c))
    .filter((m): m is StaticManifest => m !== undefined);
}

/**
 * Writes every node's static manifests (before its kubelet starts), first removing the ones an earlier
 * `up` wrote, so a smaller topology leaves no stale pod behind. Files nobody marked as ours stay.
 */
export function writeStaticManifests(plan: ClusterPlan): StaticManifest[] {
  for (const node of plan.nodes) {
    if (!node.staticPodDir) continue;
    fs.mkdirSync(node.staticPodDir, { recursive: true });
    for (const f of fs.readdirSync(node.staticPodDir)) {
      if (!f.endsWith('.yaml')) continue;
      const file = path.join(node.staticPodDir, f);
      if (fs.readFileSync(file, 'utf8').includes(`${MANAGED_ANNOTATION}: kemu`)) fs.rmSync(file, { force: true });
    }
  }
  const out = staticManifests(plan);
  for (const m of out) {
    fs.mkdirSync(path.dirname(m.file), { recursive: true });
    // A hidden temporary name: a kubelet scanning the directory never reads half a manifest.
    const tmp = path.join(path.dirname(m.file), `.${path.basename(m.file)}.tmp`);
    fs.writeFileSync(tmp, YAML.stringify(m.pod));
    fs.renameSync(tmp, m.file);
  }
  return out;
}
