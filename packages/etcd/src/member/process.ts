import {
  AdminServer,
  createLogger,
  type Logger,
  type Random,
  type Runtime,
  ShutdownHooks,
  systemRandom,
  systemRuntime,
} from '@kemu/runtime';
import { FaultTable, RemoteError, registerFaultRoutes, WireServer } from '@kemu/wire';
import { etcdErrorFromCode } from '../server/errors.js';
import { EtcdService } from '../server/service.js';
import { WatchService } from '../server/watch-service.js';
import { type FileSystem, NodeFileSystem } from '../storage/index.js';
import { FlagError, MEMBER_USAGE, type MemberConfig, parseMemberFlags } from './config.js';
import { EtcdServer } from './etcd-server.js';
import { enableExplicitGc } from './gc.js';
import { MemberMetrics } from './metrics.js';
import { PeerTransport } from './peer-transport.js';

export interface RunningMember {
  server: EtcdServer;
  wire: WireServer;
  admin: AdminServer;
  adminPort: number;
  port: number;
  stop(): Promise<void>;
}

export interface MemberDeps {
  runtime?: Runtime;
  random?: Random;
  log?: Logger;
  fs?: FileSystem;
}

/**
 * Assembles one etcd member process: the wire server (clients and peers share it, told apart by
 * identity), the Raft peer transport, the KV/Lease/Cluster/Maintenance and Watch services, and the
 * admin endpoint with metrics, readiness ("has a leader") and the wire fault routes.
 */
export async function startMember(cfg: MemberConfig, deps: MemberDeps = {}): Promise<RunningMember> {
  const runtime = deps.runtime ?? systemRuntime;
  const random = deps.random ?? systemRandom();
  const log = deps.log ?? createLogger({ component: 'etcd', node: cfg.name });
  const fs = deps.fs ?? new NodeFileSystem();
  const faults = new FaultTable({ log, runtime, random });
  // The admin server always exists (it owns the metrics registry); it listens only with --admin-port.
  const admin = new AdminServer(log);

  let watch: WatchService | undefined;
  const server: EtcdServer = new EtcdServer(cfg, {
    runtime,
    random,
    log,
    fs,
    metrics: new MemberMetrics(admin.metrics, {
      term: () => server.raftTerm,
      hasLeader: () => server.leader !== null,
      isLeader: () => server.isLeader,
      watchers: () => watch?.watcherCount ?? 0,
    }),
  });
  const wire = new WireServer({
    identity: `etcd/${cfg.name}`,
    log,
    runtime,
    random,
    faults,
    metrics: admin.metrics,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    heartbeatMissedLimit: 3,
    // Big enough for snapshots between peers; client requests are held to --max-request-bytes.
    maxFrameBytes: 256 * 1024 * 1024,
  });
  const peers = new PeerTransport({
    self: cfg.name,
    log,
    runtime,
    random,
    faults,
    metrics: admin.metrics,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    urlOf: (name) => server.memberUrl(name),
  });
  server.onLeaderChange = (lead: string | null) => {
    if (lead) peers.watchPeer(lead);
  };
  const service = new EtcdService(
    server,
    async (leader, method, body, timeoutMs) => {
      try {
        return await peers.request(leader, method, body, timeoutMs);
      } catch (err) {
        if (err instanceof RemoteError) {
          const data = typeof err.data === 'object' && err.data !== null ? (err.data as Record<string, unknown>) : {};
          throw etcdErrorFromCode(err.code, err.message, data);
        }
        throw err;
      }
    },
    log,
  );
  service.register(wire);
  peers.register(wire, server);

  await server.start(peers);
  watch = new WatchService(server.store, (rev) => service.header(rev), runtime, log, 5000);
  watch.register(wire);
  const addr = await wire.listen(cfg.listenPort, cfg.listenHost);
  // Dial every peer now so Raft traffic flows from the first tick.
  for (const p of cfg.peers) peers.watchPeer(p.name);

  let adminPort = 0;
  if (cfg.adminPort > 0) {
    registerFaultRoutes(admin, faults);
    admin.addReadinessCheck(() => server.leader !== null || 'etcd member has no leader');
    adminPort = (await admin.listen(cfg.adminPort, cfg.listenHost)).port;
  }
  log.info(
    { listen: `${cfg.listenHost}:${addr.port}`, adminPort, peers: cfg.peers.map((p) => p.name) },
    'etcd member serving',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      watch?.close();
      await peers.close();
      await wire.close();
      await server.stop();
      if (cfg.adminPort > 0) await admin.close();
    })();
    return stopping;
  };
  return { server, wire, admin, adminPort, port: addr.port, stop };
}

/** The `kemu etcd` / `node …/member/main.js` entry point. Returns only for `--help` or a flag error (exit code). */
export async function memberMain(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${MEMBER_USAGE}\n`);
    return 0;
  }
  let cfg: MemberConfig;
  try {
    cfg = parseMemberFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`kemu etcd: ${err.message}\n${MEMBER_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  // Before the member allocates anything: its V8 flags apply however the process was started.
  enableExplicitGc();
  const log = createLogger({ component: 'etcd', node: cfg.name });
  const hooks = new ShutdownHooks(log);
  hooks.install();
  try {
    const m = await startMember(cfg, { log });
    hooks.add(() => m.stop());
  } catch (err) {
    log.fatal({ err }, 'etcd member failed to start');
    return 1;
  }
  // Keep running until a signal: the wire server's listener holds the event loop open.
  return new Promise<number>(() => {});
}
