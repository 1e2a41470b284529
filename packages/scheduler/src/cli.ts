// The kube-scheduler process: flags, logging, the admin endpoint, the apiserver connection(s), and
// leader election around the Scheduler's loop. Every replica runs informers (a warm cache for a
// quick takeover); only the holder of Lease kube-system/kube-scheduler schedules and binds. Losing
// the lease ends the process (exit 1), as upstream's kube-scheduler does; its supervisor restarts it.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Lease, type TimingProfile, timingProfile } from '@kemu/api';
import { LeaderElector, WireApiClient } from '@kemu/client';
import { AdminServer, createLogger, KemuError, ShutdownHooks, systemRandom, systemRuntime } from '@kemu/runtime';
import { FaultTable, registerFaultRoutes } from '@kemu/wire';
import { Gauge } from 'prom-client';
import { ApiserverEndpoints, parseApiserverUrls } from './apiserver-endpoints.js';
import { Scheduler } from './scheduler.js';

export class SchedulerFlagError extends KemuError {
  constructor(message: string) {
    super('SCHEDULER_BAD_FLAG', message);
  }
}

export const LEASE_NAMESPACE = 'kube-system';
export const LEASE_NAME = 'kube-scheduler';

const USAGE = `usage: kube-scheduler --apiserver ws://127.0.0.1:PORT[,ws://…] [--name kube-scheduler-0]
       [--admin-port N] [--profile fast|real] [--leader-elect true|false]

  --apiserver     the apiserver wire endpoint(s); retried forever while unreachable
  --name          this replica's name (logs, wire identity kube-scheduler/<name>, lease holder prefix)
  --admin-port    /healthz, /readyz, /metrics and /faults (0 or absent: an ephemeral port)
  --profile       timing profile (leader election intervals), default fast
  --leader-elect  campaign for Lease kube-system/kube-scheduler before scheduling, default true`;

export interface SchedulerFlags {
  apiservers: string[];
  name: string;
  adminPort: number;
  profile: TimingProfile;
  leaderElect: boolean;
}

function parseBool(name: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new SchedulerFlagError(`--${name} must be true or false, got ${JSON.stringify(v)}`);
}

function profileFlag(name: string): TimingProfile {
  try {
    return timingProfile(name);
  } catch (err) {
    throw new SchedulerFlagError((err as Error).message);
  }
}

/** Parses the flags; `help` when --help was given. Throws SchedulerFlagError (or another KemuError) on bad input. */
export function parseSchedulerFlags(argv: string[]): SchedulerFlags | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        apiserver: { type: 'string' },
        name: { type: 'string' },
        'admin-port': { type: 'string' },
        profile: { type: 'string' },
        'leader-elect': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new SchedulerFlagError((err as Error).message);
  }
  if (values.help === true) return 'help';
  const s = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const apiserver = s('apiserver');
  if (apiserver === undefined || apiserver === '') throw new SchedulerFlagError('--apiserver is required');
  const name = s('name') ?? 'kube-scheduler';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    throw new SchedulerFlagError(`--name must be a DNS-1123 name, got ${JSON.stringify(name)}`);
  const portText = s('admin-port') ?? '0';
  const adminPort = Number(portText);
  if (!/^\d+$/.test(portText) || adminPort > 65535)
    throw new SchedulerFlagError(`--admin-port must be a port number, got ${JSON.stringify(portText)}`);
  return {
    apiservers: parseApiserverUrls(apiserver),
    name,
    adminPort,
    profile: profileFlag(s('profile') ?? 'fast'),
    leaderElect: parseBool('leader-elect', s('leader-elect'), true),
  };
}

/** Runs the scheduler until SIGTERM/SIGINT; resolves 0 once running, 2 on bad flags. */
export async function schedulerMain(argv: string[]): Promise<number> {
  let flags: SchedulerFlags | 'help';
  try {
    flags = parseSchedulerFlags(argv);
  } catch (err) {
    process.stderr.write(`kube-scheduler: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (flags === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { name, profile } = flags;
  const identity = `kube-scheduler/${name}`;
  const log = createLogger({ component: 'kube-scheduler', node: name });
  const runtime = systemRuntime;
  const random = systemRandom();

  const admin = new AdminServer(log);
  const faults = new FaultTable({ log });
  registerFaultRoutes(admin, faults);
  const endpoints = new ApiserverEndpoints(flags.apiservers, { identity, log, faults, metrics: admin.metrics });
  const api = new WireApiClient({ wire: endpoints });
  const scheduler = new Scheduler({ api, runtime, random, log, metrics: admin.metrics, host: name, instance: name });
  const leaderGauge = new Gauge({
    name: 'leader_election_master_status',
    help: 'Whether this replica is the leader (1) or not (0).',
    labelNames: ['name'],
    registers: [admin.metrics],
  });
  leaderGauge.set({ name: LEASE_NAME }, 0);
  admin.addReadinessCheck(() => scheduler.hasSynced() || 'pod and node informers have not synced');
  const address = await admin.listen(flags.adminPort);

  let shuttingDown = false;
  const hooks = new ShutdownHooks(log);
  const loop = new AbortController();
  hooks.add(async () => {
    loop.abort();
    await scheduler.stop();
    await endpoints.close();
    await admin.close();
  });
  hooks.add(() => {
    shuttingDown = true;
  });
  hooks.install();

  // Informers started before any connection would only fail and back off; start them on the first.
  endpoints.start();
  await endpoints.whenAnyConnected();
  if (shuttingDown) return 0;
  scheduler.start();

  const runLoop = (signal: AbortSignal): void => {
    scheduler.run(signal).catch((err: unknown) => {
      log.fatal({ err }, 'scheduling loop crashed');
      process.exit(1);
    });
  };
  if (flags.leaderElect) {
    // client-go's identity: host name plus a unique suffix, so a restarted replica is a new candidate.
    const leaderId = `${name}_${randomUUID()}`;
    const elector = new LeaderElector({
      leases: api.resource<Lease>('leases.coordination.k8s.io'),
      namespace: LEASE_NAMESPACE,
      name: LEASE_NAME,
      identity: leaderId,
      runtime,
      random,
      log,
      releaseOnCancel: true,
      leaseDurationMs: profile.leaderElection.leaseDurationMs,
      renewDeadlineMs: profile.leaderElection.renewDeadlineMs,
      retryPeriodMs: profile.leaderElection.retryPeriodMs,
      callbacks: {
        onStartedLeading: (signal) => {
          log.info({ identity: leaderId }, 'became leader, scheduling');
          leaderGauge.set({ name: LEASE_NAME }, 1);
          runLoop(signal);
        },
        onStoppedLeading: () => {
          leaderGauge.set({ name: LEASE_NAME }, 0);
          if (shuttingDown) {
            log.info('requested to terminate, leadership released');
            return;
          }
          log.error({ identity: leaderId }, 'leaderelection lost, exiting');
          process.exit(1);
        },
        onNewLeader: (holder) => {
          if (holder !== leaderId) log.info({ leader: holder }, 'new leader elected');
        },
      },
    });
    void elector.run().catch((err: unknown) => log.error({ err }, 'leader election ended with an error'));
    hooks.add(async () => {
      shuttingDown = true;
      await scheduler.halt(); // bindings in flight land before a successor may start
      await elector.stop();
    });
  } else {
    runLoop(loop.signal);
  }
  log.info(
    { admin: address.port, apiserver: flags.apiservers, profile: profile.name, leaderElect: flags.leaderElect },
    'kube-scheduler started',
  );
  return 0;
}
