// Wires the kubelet HTTP server and the static pod source to one node's Kubelet: what main.ts calls
// in its `beforeStart` spot (written against the few members it uses, so it stays testable alone).
import type { Node, Pod, PodStatus } from '@kemu/api';
import type { ApiClient } from '@kemu/client';
import type { Logger, Runtime } from '@kemu/runtime';
import type { ContainerRuntime } from '../runtime/types.js';
import { StaticPods, type StaticSourcedPod } from '../static-pods/static-pods.js';
import type { ContainerRef } from './container-logs.js';
import { LOG_FILE_ANNOTATION } from './file-logs.js';
import { type KubeletPodHost, KubeletServer } from './kubelet-server.js';

/** The members of the core's `Kubelet` this wiring needs. */
export interface ServableKubelet extends KubeletPodHost {
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly runtime: ContainerRuntime;
  readonly api: ApiClient;
  readonly clock: Runtime;
  readonly log: Logger;
  /** Tells the Node status the port really bound (`--port 0`). */
  setPort?(port: number): void;
  addPodSource(source: {
    readonly name: string;
    start(update: (pods: StaticSourcedPod[]) => void): void;
    stop(): void;
    onStatus?(pod: Pod, status: PodStatus): void;
  }): void;
}

export interface ServeNodeOptions {
  /** `--port`; the Node reports it as `daemonEndpoints.kubeletEndpoint.Port`. */
  port: number;
  /** Address to bind (default: the node IP, so the apiserver reaches it where the Node says). */
  bind?: string;
  /** `--static-pod-dir`; absent or empty: no static pods. */
  staticPodDir?: string;
  /** Static pod directory poll (default 2000 ms) and mirror reconcile (default 1000 ms). */
  staticPodPollMs?: number;
  staticPodSyncMs?: number;
}

export interface NodeServing {
  server: KubeletServer;
  staticPods: StaticPods | undefined;
  close(): Promise<void>;
}

/**
 * The server's view of the node: the kubelet's own pods, plus the external static pods (processes
 * the supervisor runs), which the kubelet does not track but `/pods` and lookups must show.
 */
export function nodePodHost(kubelet: KubeletPodHost, staticPods: StaticPods | undefined): KubeletPodHost {
  const external = (namespace: string, name: string): Pod | undefined =>
    staticPods?.externalPods().find((p) => p.metadata.namespace === namespace && p.metadata.name === name);
  return {
    managedPods: () => {
      const extra = staticPods?.externalPods() ?? [];
      const ext = new Set(extra.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
      const own = kubelet.managedPods().filter((p) => !ext.has(`${p.metadata.namespace}/${p.metadata.name}`));
      return [...own, ...extra];
    },
    // External pods first: the kubelet may track them (to know they are not to be run) but has no
    // containers for them.
    findPod: (namespace, name) => {
      const pod = external(namespace, name);
      if (pod !== undefined) return { pod, podIP: pod.status?.podIP ?? null };
      return kubelet.findPod(namespace, name);
    },
    findContainer: (namespace, podName, container): ContainerRef | null => {
      const pod = external(namespace, podName);
      if (pod === undefined) return kubelet.findContainer(namespace, podName, container);
      if (!pod.spec.containers.some((c) => c.name === container)) return null;
      // The process is not a container of ours: no exec; logs from its log file when the manifest names one.
      const logFile = pod.metadata.annotations?.[LOG_FILE_ANNOTATION];
      return {
        pod,
        containerId: null,
        previousContainerId: null,
        running: false,
        ...(logFile !== undefined && logFile !== ''
          ? { logFile }
          : {
              noLogs: `container "${container}" in pod "${podName}" is a process the kemu supervisor runs, and its manifest names no log file (annotation ${LOG_FILE_ANNOTATION})`,
            }),
      };
    },
  };
}

/** Starts the kubelet server on `port` and, with a static pod dir, the static pods of this node. */
export async function serveNode(kubelet: ServableKubelet, opts: ServeNodeOptions): Promise<NodeServing> {
  let staticPods: StaticPods | undefined;
  if (opts.staticPodDir !== undefined && opts.staticPodDir !== '') {
    staticPods = new StaticPods({
      dir: opts.staticPodDir,
      nodeName: kubelet.nodeName,
      nodeIP: kubelet.nodeIP,
      pods: kubelet.api.resource<Pod>('pods'),
      nodes: kubelet.api.resource<Node>('nodes'),
      runtime: kubelet.clock,
      log: kubelet.log.child({ module: 'static-pods' }),
      ...(opts.staticPodPollMs !== undefined ? { pollIntervalMs: opts.staticPodPollMs } : {}),
      ...(opts.staticPodSyncMs !== undefined ? { syncIntervalMs: opts.staticPodSyncMs } : {}),
    });
    kubelet.addPodSource(staticPods);
  }
  const server = new KubeletServer({
    host: nodePodHost(kubelet, staticPods),
    runtime: () => kubelet.runtime,
    clock: kubelet.clock,
    timers: kubelet.clock,
    log: kubelet.log.child({ module: 'server' }),
  });
  await server.listen(opts.port, opts.bind ?? kubelet.nodeIP);
  kubelet.setPort?.(server.port);
  kubelet.log.info({ port: server.port, staticPodDir: opts.staticPodDir }, 'kubelet server listening');
  return {
    server,
    staticPods,
    async close() {
      staticPods?.stop();
      await server.close();
    },
  };
}

/**
 * One server for every sim node of a `--sim-nodes` process: they all report the same node IP, so the
 * apiserver sends every sim pod's logs/exec here; each request is served by the node that runs the
 * pod, through that node's runtime (sim logs and exec answer from the command's echo/exit hints).
 */
export function simNodesHost(
  kubelets: readonly (KubeletPodHost & { readonly runtime: ContainerRuntime })[],
): KubeletPodHost {
  return {
    managedPods: () => kubelets.flatMap((k) => k.managedPods()),
    findPod: (namespace, name) => {
      for (const k of kubelets) {
        const found = k.findPod(namespace, name);
        if (found !== null) return found;
      }
      return null;
    },
    findContainer: (namespace, podName, container) => {
      for (const k of kubelets) {
        const found = k.findContainer(namespace, podName, container);
        if (found !== null) return { ...found, runtime: k.runtime };
      }
      return null;
    },
  };
}

/** Starts the one server of a `--sim-nodes` process (no static pods on sim nodes). */
export async function serveSimNodes(
  kubelets: readonly ServableKubelet[],
  opts: { port: number; bind?: string },
): Promise<NodeServing> {
  const first = kubelets[0];
  if (first === undefined) throw new Error('serveSimNodes: no kubelets');
  const server = new KubeletServer({
    host: simNodesHost(kubelets),
    runtime: () => first.runtime,
    clock: first.clock,
    timers: first.clock,
    log: first.log.child({ module: 'server' }),
  });
  await server.listen(opts.port, opts.bind ?? first.nodeIP);
  for (const k of kubelets) k.setPort?.(server.port);
  first.log.info({ port: server.port, nodes: kubelets.length }, 'kubelet server listening for every sim node');
  return { server, staticPods: undefined, close: () => server.close() };
}
