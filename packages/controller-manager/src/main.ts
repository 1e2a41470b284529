#!/usr/bin/env node
// `node packages/controller-manager/dist/src/main.js --apiserver ws://… --profile fast …`
import { randomUUID } from 'node:crypto';
import { prometheusQueueMetrics, WireApiClient } from '@kemu/client';
import { AdminServer, createLogger, ShutdownHooks, systemRandom, systemRuntime } from '@kemu/runtime';
import { FaultTable, registerFaultRoutes } from '@kemu/wire';
import { Gauge } from 'prom-client';
import { ApiserverConnection } from './apiserver-connection.js';
import { startControllerManager } from './controller-manager.js';
import { CONTROLLERS } from './controllers/index.js';
import { hostPathDirectories, persistentVolumeBinder } from './controllers/persistentvolume.js';
import { ControllerManagerFlagError, parseFlags, selectControllers, USAGE } from './flags.js';

const COMPONENT = 'kube-controller-manager';

async function main(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parseFlags>;
  let enabled: string[];
  try {
    flags = parseFlags(argv);
    if (flags === null) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    enabled = selectControllers(
      flags.controllers,
      CONTROLLERS.map((c) => c.name),
    );
  } catch (err) {
    if (err instanceof ControllerManagerFlagError) {
      process.stderr.write(`${COMPONENT}: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }

  const log = createLogger({ component: COMPONENT, node: flags.name });
  const runtime = systemRuntime;
  const random = systemRandom();
  const admin = new AdminServer(log);
  const faults = new FaultTable({ runtime, random: random.fork(), log });
  registerFaultRoutes(admin, faults);
  const conn = new ApiserverConnection({
    urls: flags.apiservers,
    identity: `${COMPONENT}/${flags.name}`,
    log,
    runtime,
    random: random.fork(),
    faults,
    metrics: admin.metrics,
  }).start();
  const api = new WireApiClient({ wire: conn });
  const leaderGauge = new Gauge({
    name: 'leader_election_master_status',
    help: 'Whether this replica leads (1) or not (0), per lease name.',
    labelNames: ['name'],
    registers: [admin.metrics],
  });
  leaderGauge.set({ name: COMPONENT }, 0);
  admin.addReadinessCheck(() => conn.connected || 'not connected to any apiserver');

  const identity = `${flags.name}_${randomUUID()}`;
  const manager = startControllerManager({
    api,
    runtime,
    random,
    log,
    profile: flags.profile,
    controllers: CONTROLLERS.filter((c) => enabled.includes(c.name)).map((c) =>
      c.name === 'persistentvolume-binder' && flags.pvHostPathDir !== undefined
        ? persistentVolumeBinder({ dirs: hostPathDirectories(flags.pvHostPathDir) })
        : c,
    ),
    leaderElect: flags.leaderElect,
    identity,
    instance: flags.name,
    queueMetrics: prometheusQueueMetrics(admin.metrics),
    onLeadingChanged: (leading) => leaderGauge.set({ name: COMPONENT }, leading ? 1 : 0),
    // Upstream exits when it loses the lease (klog.Fatalf "leaderelection lost"); the supervisor
    // restarts it as a fresh candidate, so no half-stopped controller can act on stale state.
    onLostLeadership: () => process.exit(1),
  });
  admin.route('GET', '/controllers', () => ({
    body: { leading: manager.isLeading(), enabled, started: manager.started, identity },
  }));
  const addr = await admin.listen(flags.adminPort);

  const hooks = new ShutdownHooks(log);
  hooks.add(() => conn.close());
  hooks.add(() => admin.close());
  hooks.add(() => manager.stop());
  hooks.install();
  log.info(
    {
      apiservers: flags.apiservers,
      admin: addr.port,
      profile: flags.profile.name,
      leaderElect: flags.leaderElect,
      controllers: enabled,
      identity,
    },
    'kube-controller-manager running',
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`${COMPONENT}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
