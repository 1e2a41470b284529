// kube-proxy as a process: flags per the component contract, informers over the wire, the sync loop,
// admin endpoint (/healthz, /readyz, /metrics, /faults, GET /listeners), graceful stop.
import { parseArgs } from 'node:util';
import { SharedInformerFactory } from '@kemu/client';
import { createLogger, ShutdownHooks, systemRandom, systemRuntime } from '@kemu/runtime';
import { ProxyFlagError } from './errors.js';
import { apiserverUrls, ipFlag, portFlag, requireString } from './flags.js';
import { ProxyMetrics } from './metrics.js';
import { readyWhenSynced, startComponentKit } from './process-kit.js';
import { Proxier } from './proxier.js';
import { ServiceCatalog } from './service-catalog.js';
import { proxyTimings } from './timings.js';

export const PROXY_USAGE = `usage: kube-proxy --apiserver ws://127.0.0.1:PORT[,ws://…] --node-name NAME --node-ip IP
       [--admin-port N] [--profile fast|real]

Carries Service traffic on this host: one listener per ClusterIP:port (and per node IP:nodePort)
with ready endpoints, proxying TCP and UDP in user space. Several kube-proxies on one host share the
sockets: the first to bind holds one, the others stand by and take over when it goes away.`;

interface ProxyFlags {
  urls: string[];
  nodeName: string;
  nodeIp: string;
  adminPort: number;
  profile: string;
}

function parseProxyFlags(argv: string[]): ProxyFlags | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      apiserver: { type: 'string' },
      'node-name': { type: 'string' },
      'node-ip': { type: 'string' },
      'admin-port': { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const flags: ProxyFlags = {
    urls: apiserverUrls(requireString(values, 'apiserver')),
    nodeName: requireString(values, 'node-name'),
    nodeIp: ipFlag('node-ip', requireString(values, 'node-ip')),
    adminPort: portFlag('admin-port', values['admin-port'], 0),
    profile: values.profile ?? 'fast',
  };
  proxyTimings(flags.profile);
  return flags;
}

export async function proxyMain(argv: string[]): Promise<number> {
  let flags: ProxyFlags | 'help';
  try {
    flags = parseProxyFlags(argv);
  } catch (err) {
    const msg = err instanceof ProxyFlagError || err instanceof TypeError ? err.message : String(err);
    process.stderr.write(`kube-proxy: ${msg}\n${PROXY_USAGE}\n`);
    return 2;
  }
  if (flags === 'help') {
    process.stdout.write(`${PROXY_USAGE}\n`);
    return 0;
  }
  const timings = proxyTimings(flags.profile);
  const runtime = systemRuntime;
  const random = systemRandom();
  const log = createLogger({ component: 'kube-proxy', node: flags.nodeName });
  const kit = await startComponentKit({
    component: 'kube-proxy',
    name: flags.nodeName,
    urls: flags.urls,
    adminPort: flags.adminPort,
    log,
    runtime,
    random,
  });
  const factory = new SharedInformerFactory({ api: kit.api, runtime, random: random.fork(), log });
  const catalog = new ServiceCatalog(factory);
  let proxier: Proxier | null = null;
  const metrics = new ProxyMetrics(kit.admin.metrics, () =>
    proxier ? proxier.stateCounts() : { binding: 0, holding: 0, standby: 0, closed: 0 },
  );
  proxier = new Proxier({
    view: catalog,
    nodeName: flags.nodeName,
    nodeIps: [flags.nodeIp],
    runtime,
    random: random.fork(),
    log,
    ...timings,
    observer: metrics,
    onSync: (ms) => {
      metrics.syncDuration.observe(ms / 1000);
      metrics.lastSync.set(runtime.now() / 1000);
    },
  });
  const p = proxier;
  readyWhenSynced(kit.admin, () => catalog.hasSynced());
  kit.admin.route('GET', '/listeners', () => ({
    body: { node: flags.nodeName, nodeIp: flags.nodeIp, synced: catalog.hasSynced(), listeners: p.status() },
  }));
  catalog.onChange(() => {
    // Before the first full list the cache is partial; syncing then would close sockets needlessly.
    if (catalog.hasSynced()) p.requestSync();
  });
  // Informers start once an apiserver answers, so the first list does not fail into a backoff.
  void kit.firstConnection.then(() => factory.start());
  void factory.waitForCacheSync().then((ok) => {
    if (!ok) return;
    log.info({ services: catalog.services().length }, 'caches synced; proxying');
    p.start();
  });
  const hooks = new ShutdownHooks(log);
  hooks.add(() => kit.close());
  hooks.add(() => factory.stop());
  hooks.add(() => p.stop());
  hooks.install();
  log.info(
    { node: flags.nodeName, nodeIp: flags.nodeIp, profile: flags.profile, apiserver: flags.urls },
    'kube-proxy started',
  );
  return 0;
}
