// Assembles one kube-apiserver process: etcd client → object store + watch caches → REST handlers,
// served over HTTP (kubectl) and the wire (components), plus the admin endpoint.
import type { AddressInfo } from 'node:net';
import { type KubeObject, RESOURCES, type ResourceDef, resourceFor, storagePrefix } from '@kemu/api';
import { EtcdClient, wireConnectionFactory } from '@kemu/etcd';
import { AdminServer, type Logger, type Random, type Runtime, systemRandom, systemRuntime } from '@kemu/runtime';
import { FaultTable, registerFaultRoutes, WireServer } from '@kemu/wire';
import { ApiStatusError } from './errors.js';
import { KubeletProxy } from './http/kubelet-proxy.js';
import { HttpApi } from './http/server.js';
import { RestHandlers, type Scope } from './rest.js';
import { ServiceIpRange } from './service-ips.js';
import { Compactor } from './storage/compactor.js';
import { DryRunStore } from './storage/dry-run-store.js';
import { ObjectStore } from './storage/store.js';
import { WatchCache } from './storage/watch-cache.js';
import { registerWireApi } from './wire-api.js';

export interface ApiServerOptions {
  etcdServers: string[];
  port: number;
  bind?: string;
  wirePort?: number;
  adminPort?: number;
  maxRequestBytes?: number;
  /** Events each watch cache keeps for resuming watches. */
  watchCacheSize?: number;
  bookmarkIntervalMs?: number;
  /** Service ClusterIP range (IPv4 CIDR, default 10.96.0.0/16). */
  serviceClusterIpRange?: string;
  /** etcd history compaction period (upstream default 5 min); 0 disables. */
  compactionIntervalMs?: number;
  /** `--default-not-ready-toleration-seconds` (upstream default 300). */
  defaultNotReadyTolerationSeconds?: number;
  /** `--default-unreachable-toleration-seconds` (upstream default 300). */
  defaultUnreachableTolerationSeconds?: number;
  name?: string;
  log: Logger;
  runtime?: Runtime;
  random?: Random;
}

export interface RunningApiServer {
  http: AddressInfo;
  wire?: AddressInfo;
  admin?: AddressInfo;
  rest: RestHandlers;
  close(): Promise<void>;
}

/** Namespaces the real apiserver's bootstrap controller keeps present. */
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const runtime = opts.runtime ?? systemRuntime;
  const random = opts.random ?? systemRandom();
  const log = opts.log;
  const name = opts.name ?? `apiserver-${process.pid}`;
  const faults = new FaultTable({ log });
  const etcd = new EtcdClient({
    endpoints: opts.etcdServers,
    connect: wireConnectionFactory({ identity: `kube-apiserver/${name}`, log }),
    runtime,
  });
  const store = new ObjectStore(etcd);
  const caches = new Map<string, WatchCache>();
  const seen = new Set<string>();
  for (const def of RESOURCES) {
    if (!def.verbs.includes('watch') || seen.has(def.resource)) continue;
    seen.add(def.resource);
    const cache = new WatchCache({
      etcd,
      prefix: storagePrefix(def),
      log,
      runtime,
      ...(opts.watchCacheSize !== undefined ? { historySize: opts.watchCacheSize } : {}),
      ...(opts.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
    });
    caches.set(def.resource, cache);
    cache.start();
  }
  const compactor = new Compactor(etcd, opts.compactionIntervalMs ?? 300000, log, runtime);
  compactor.start();
  const serviceIpRange = new ServiceIpRange(opts.serviceClusterIpRange ?? '10.96.0.0/16');
  const podAdmission = {
    ...(opts.defaultNotReadyTolerationSeconds !== undefined
      ? { notReadyTolerationSeconds: opts.defaultNotReadyTolerationSeconds }
      : {}),
    ...(opts.defaultUnreachableTolerationSeconds !== undefined
      ? { unreachableTolerationSeconds: opts.defaultUnreachableTolerationSeconds }
      : {}),
  };
  const rest = new RestHandlers({ store, caches, clock: runtime, random, log, serviceIpRange, podAdmission });
  const dryRun = new RestHandlers({
    store: new DryRunStore(etcd),
    caches,
    clock: runtime,
    random,
    log,
    serviceIpRange,
    podAdmission,
  });
  const ready = (): boolean | string => {
    const pending = [...caches.entries()].filter(([, c]) => !c.synced).map(([r]) => r);
    return pending.length === 0 ? true : `watch caches not synced: ${pending.join(', ')}`;
  };
  const httpApi = new HttpApi({
    rest,
    dryRun,
    kubeletProxy: new KubeletProxy({ rest, log }),
    log,
    clock: runtime,
    ready,
    ...(opts.maxRequestBytes !== undefined ? { maxRequestBytes: opts.maxRequestBytes } : {}),
  });
  const httpAddr = await httpApi.listen(opts.port, opts.bind ?? '127.0.0.1');
  const out: RunningApiServer = {
    http: httpAddr,
    rest,
    close: async () => {
      compactor.stop();
      await httpApi.close();
      await wire?.close();
      await admin?.close();
      for (const c of caches.values()) c.stop();
      await etcd.close();
    },
  };
  let wire: WireServer | undefined;
  if (opts.wirePort !== undefined) {
    // Lists of thousands of objects travel in one reply; clients should still page with `limit`.
    wire = new WireServer({ identity: `kube-apiserver/${name}`, log, faults, maxFrameBytes: 64 * 1024 * 1024 });
    registerWireApi(wire, rest);
    out.wire = await wire.listen(opts.wirePort, opts.bind ?? '127.0.0.1');
  }
  let admin: AdminServer | undefined;
  if (opts.adminPort !== undefined) {
    admin = new AdminServer(log);
    registerFaultRoutes(admin, faults);
    admin.addReadinessCheck(ready);
    out.admin = await admin.listen(opts.adminPort, opts.bind ?? '127.0.0.1');
  }
  void bootstrap(rest, log, runtime, { clusterIp: serviceIpRange.first, port: httpAddr.port });
  return out;
}

/**
 * What upstream's bootstrap controller keeps present: the system namespaces and the `kubernetes`
 * Service in `default` (first address of the service range, port 443 → this apiserver's port).
 * Retried until etcd answers; AlreadyExists is success, so several apiservers can all do it.
 */
async function bootstrap(
  rest: RestHandlers,
  log: Logger,
  runtime: Runtime,
  svc: { clusterIp: string; port: number },
): Promise<void> {
  const namespaces = resourceFor('', 'v1', 'namespaces') as ResourceDef;
  const services = resourceFor('', 'v1', 'services') as ResourceDef;
  const objects: [Scope, KubeObject][] = SYSTEM_NAMESPACES.map((ns) => [
    { def: namespaces },
    { metadata: { name: ns } },
  ]);
  objects.push([
    { def: services, namespace: 'default' },
    {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: {
        type: 'ClusterIP',
        clusterIP: svc.clusterIp,
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: svc.port }],
        sessionAffinity: 'None',
      },
    } as KubeObject,
  ]);
  // The two built-in PriorityClasses (upstream's scheduling bootstrap), which kube-system pods name.
  const priorityClasses = resourceFor('scheduling.k8s.io', 'v1', 'priorityclasses');
  if (priorityClasses) {
    for (const [name, value, description] of [
      [
        'system-node-critical',
        2000001000,
        'Used for system critical pods that must not be moved from their current node.',
      ],
      [
        'system-cluster-critical',
        2000000000,
        'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
      ],
    ] as const) {
      objects.push([
        { def: priorityClasses },
        {
          apiVersion: 'scheduling.k8s.io/v1',
          kind: 'PriorityClass',
          metadata: { name },
          value,
          description,
        } as KubeObject,
      ]);
    }
  }
  for (const [scope, obj] of objects) {
    for (let attempt = 0; ; attempt++) {
      try {
        await rest.create(scope, obj);
        break;
      } catch (err) {
        if (err instanceof ApiStatusError && err.status.reason === 'AlreadyExists') break;
        // Another apiserver's `kubernetes` Service holds the address: that is the same object.
        if (err instanceof ApiStatusError && err.status.reason === 'Invalid' && scope.def === services) break;
        if (attempt % 10 === 0)
          log.warn({ err, name: obj.metadata.name }, 'bootstrap object not created yet; retrying');
        await new Promise<void>((r) => runtime.setTimeout(r, 500));
      }
    }
  }
}
