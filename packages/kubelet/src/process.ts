// Assembles a kubelet process from its config: the apiserver connection, the shared informers,
// one Kubelet per node (N with `--runtime sim --sim-nodes N`), the admin endpoint. main.ts only
// parses flags and calls this; tests and benchmarks call it in-process too.
import path from 'node:path';
import type { Service } from '@kemu/api';
import { SharedIndexInformer, WireApiClient } from '@kemu/client';
import { AdminServer, type Logger, type Random, type Runtime, systemRandom, systemRuntime } from '@kemu/runtime';
import { FaultTable, registerFaultRoutes } from '@kemu/wire';
import { registerKubeletAdminRoutes } from './admin-routes.js';
import { ApiConnection } from './api-connection.js';
import type { KubeletConfig } from './config.js';
import { Kubelet } from './kubelet.js';
import { PodInformerHub } from './pod-informer.js';
import { createContainerRuntime } from './runtime/factory.js';
import type { ContainerRuntime } from './runtime/types.js';
import { Semaphore } from './semaphore.js';

export const SIM_START_DELAY_MS = 10;

/** Sim node i's pod range: disjoint /24s in 127.64.0.0/10, so pod IPs are unique across sim nodes. */
export function simPodCidr(i: number): string {
  return `127.${64 + (i >> 8)}.${i & 255}.0/24`;
}

/** The per-node configs a process runs: one, or `--sim-nodes` of them. */
export function nodeConfigs(config: KubeletConfig): KubeletConfig[] {
  if (config.simNodes <= 1) return [config];
  const out: KubeletConfig[] = [];
  // 1-based, so `--sim-node-prefix worker-` gives worker-1 … worker-N like a real topology.
  for (let i = 1; i <= config.simNodes; i++) {
    const nodeName = `${config.simNodePrefix}${i}`;
    out.push({ ...config, nodeName, rootDir: path.join(config.rootDir, nodeName), podCidr: simPodCidr(i) });
  }
  return out;
}

export interface KubeletProcess {
  kubelets: Kubelet[];
  runtimes: ContainerRuntime[];
  admin: AdminServer;
  adminPort: number;
  connection: ApiConnection;
  api: WireApiClient;
  podHub: PodInformerHub;
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  runtime?: Runtime;
  random?: Random;
  /**
   * Hook run after the kubelets exist and before they start (the streaming server, static pods).
   * What it returns is closed first by `close()`.
   */
  beforeStart?: (
    p: Omit<KubeletProcess, 'close' | 'adminPort'>,
  ) =>
    | Promise<{ close(): Promise<void> | void } | undefined | void>
    | { close(): Promise<void> | void }
    | undefined
    | void;
}

export async function startKubeletProcess(config: KubeletConfig, o: StartOptions): Promise<KubeletProcess> {
  const clock = o.runtime ?? systemRuntime;
  const random = o.random ?? systemRandom();
  const log = o.log;
  const admin = new AdminServer(log);
  const faults = new FaultTable({ log });
  registerFaultRoutes(admin, faults);
  const sim = config.simNodes > 1;
  const connection = new ApiConnection({
    urls: config.apiservers,
    identity: `kubelet/${config.nodeName}`,
    log,
    faults,
    metrics: admin.metrics,
  }).start();
  const api = new WireApiClient({ wire: connection });
  // Lease renewals give up after one lease duration (then retry at once) instead of the wire's 30 s.
  const leaseApi = new WireApiClient({ wire: connection, timeoutMs: config.profile.nodeLeaseDurationSeconds * 1000 });
  const statusLimiter = sim ? new Semaphore(64) : undefined;
  const podHub = new PodInformerHub({
    api,
    runtime: clock,
    random: random.fork(),
    log,
    ...(sim ? {} : { nodeName: config.nodeName }),
  });
  const services = new SharedIndexInformer<Service>({
    listWatcher: api.resource<Service>('services'),
    runtime: clock,
    random: random.fork(),
    log,
    name: 'services',
  });
  const kubelets: Kubelet[] = [];
  const runtimes: ContainerRuntime[] = [];
  for (const nc of nodeConfigs(config)) {
    // main's logger names the one node; sim nodes get a child each.
    const nodeLog = sim ? log.child({ node: nc.nodeName }) : log;
    const containerRuntime = createContainerRuntime({
      kind: nc.runtimeKind,
      runtime: clock,
      logger: nodeLog,
      stateDir: path.join(nc.rootDir, 'runtime'),
      podCidr: nc.podCidr,
      hostIP: nc.nodeIP,
      random: random.fork(),
      // A simulated container is running 10 ms after start (SimRuntime's own default is 100 ms), so
      // sim pod start-up latency is the control plane's, not an invented delay.
      ...(nc.runtimeKind === 'sim' ? { startDelayMs: SIM_START_DELAY_MS } : {}),
    });
    runtimes.push(containerRuntime);
    const profile = nc.profile;
    kubelets.push(
      new Kubelet({
        config: nc,
        api,
        leaseApi,
        podHub,
        services,
        containerRuntime,
        runtime: clock,
        random: random.fork(),
        log: nodeLog,
        ...(sim
          ? {
              jitter: true,
              quietEvents: true,
              nodeStatusReportFrequencyMs: profile.nodeStatusUpdateFrequencyMs * 10,
              resyncPeriodMs: profile.kubeletSyncFrequencyMs * 6,
              statusConcurrency: 2,
              ...(statusLimiter ? { statusLimiter } : {}),
            }
          : {}),
      }),
    );
  }
  registerKubeletAdminRoutes(admin, kubelets);
  admin.addReadinessCheck(() => connection.isConnected || 'not connected to any apiserver');
  const extension = (await o.beforeStart?.({ kubelets, runtimes, admin, connection, api, podHub })) ?? undefined;
  const addr = await admin.listen(config.adminPort);
  // Give the first connection a moment so informers and heartbeats do not start with a burst of
  // "not connected" failures; an apiserver that is down is retried forever either way.
  await connection.whenAnyConnected(5000);
  podHub.start();
  services.start();
  for (const k of kubelets) k.start();
  let closed = false;
  return {
    kubelets,
    runtimes,
    admin,
    adminPort: addr.port,
    connection,
    api,
    podHub,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await extension?.close();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'closing the kubelet extensions failed');
      }
      for (const k of kubelets) k.stop();
      podHub.stop();
      services.stop();
      await Promise.all(runtimes.map((r) => r.close().catch(() => undefined)));
      await connection.close();
      await admin.close();
    },
  };
}
