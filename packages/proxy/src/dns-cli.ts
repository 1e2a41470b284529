// The cluster DNS as a process: flags per the component contract, Services and EndpointSlices
// through informers, a UDP+TCP DNS server on --listen, optional self-publication as kube-dns.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { SharedInformerFactory } from '@kemu/client';
import { createLogger, ShutdownHooks, systemRandom, systemRuntime } from '@kemu/runtime';
import { Counter } from 'prom-client';
import { DnsRegistration } from './dns/registration.js';
import { ClusterDnsResolver } from './dns/resolver.js';
import { DnsServer } from './dns/server.js';
import { ProxyFlagError } from './errors.js';
import { apiserverUrls, ipFlag, portFlag, requireString } from './flags.js';
import { readyWhenSynced, startComponentKit } from './process-kit.js';
import { ServiceCatalog } from './service-catalog.js';

export const DNS_USAGE = `usage: cluster-dns --apiserver ws://127.0.0.1:PORT[,ws://…] --listen IP:PORT
       [--admin-port N] [--domain cluster.local] [--cluster-ip IP] [--advertise-address IP]
       [--name cluster-dns] [--ttl 30]

Answers <svc>.<ns>.svc.<domain> (A, SRV), headless endpoint and StatefulSet pod names, and
<a-b-c-d>.<ns>.pod.<domain> over UDP and TCP on --listen. Names outside the domain are REFUSED.
With --cluster-ip it keeps a kube-system/kube-dns Service with that ClusterIP (port 53) pointing here
(at --advertise-address; default: the --listen address, or this host's first non-loopback IPv4 when
listening on 0.0.0.0, as in compose where kube-proxies reach it from other containers).`;

/** Where other hosts/containers reach a DNS listening on `host`. */
export function advertisedAddress(host: string): string {
  if (host !== '0.0.0.0') return host;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

interface DnsFlags {
  urls: string[];
  host: string;
  port: number;
  adminPort: number;
  domain: string;
  clusterIp: string | undefined;
  advertiseAddress: string | undefined;
  name: string;
  ttl: number;
}

function parseDnsFlags(argv: string[]): DnsFlags | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      apiserver: { type: 'string' },
      listen: { type: 'string' },
      'admin-port': { type: 'string' },
      domain: { type: 'string' },
      'cluster-ip': { type: 'string' },
      'advertise-address': { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const listen = requireString(values, 'listen');
  const m = /^([\d.]+):(\d+)$/.exec(listen);
  if (!m) throw new ProxyFlagError(`--listen must be IP:PORT, got "${listen}"`);
  const domain = (values.domain ?? 'cluster.local').replace(/\.$/, '').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) {
    throw new ProxyFlagError(`--domain must be a DNS name such as cluster.local, got "${values.domain}"`);
  }
  const ttl = values.ttl === undefined ? 30 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 86400) {
    throw new ProxyFlagError(`--ttl must be seconds 0…86400, got "${values.ttl}"`);
  }
  const name = values.name ?? 'cluster-dns';
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    throw new ProxyFlagError(`--name must be a DNS label (lower case letters, digits, '-'), got "${name}"`);
  }
  return {
    urls: apiserverUrls(requireString(values, 'apiserver')),
    host: ipFlag('listen', m[1] as string),
    port: portFlag('listen', m[2], 0),
    adminPort: portFlag('admin-port', values['admin-port'], 0),
    domain,
    clusterIp: values['cluster-ip'] === undefined ? undefined : ipFlag('cluster-ip', values['cluster-ip']),
    advertiseAddress:
      values['advertise-address'] === undefined ? undefined : ipFlag('advertise-address', values['advertise-address']),
    name,
    ttl,
  };
}

export async function dnsMain(argv: string[]): Promise<number> {
  let flags: DnsFlags | 'help';
  try {
    flags = parseDnsFlags(argv);
  } catch (err) {
    const msg = err instanceof ProxyFlagError || err instanceof TypeError ? err.message : String(err);
    process.stderr.write(`cluster-dns: ${msg}\n${DNS_USAGE}\n`);
    return 2;
  }
  if (flags === 'help') {
    process.stdout.write(`${DNS_USAGE}\n`);
    return 0;
  }
  const runtime = systemRuntime;
  const random = systemRandom();
  const log = createLogger({ component: 'cluster-dns', node: flags.name });
  const kit = await startComponentKit({
    component: 'cluster-dns',
    name: flags.name,
    urls: flags.urls,
    adminPort: flags.adminPort,
    log,
    runtime,
    random,
  });
  const factory = new SharedInformerFactory({ api: kit.api, runtime, random: random.fork(), log });
  const catalog = new ServiceCatalog(factory);
  const resolver = new ClusterDnsResolver({
    view: catalog,
    domain: flags.domain,
    ttl: flags.ttl,
    isReady: () => catalog.hasSynced(),
  });
  const queries = new Counter({
    name: 'coredns_dns_responses_total',
    help: 'DNS responses by rcode (CoreDNS metric name), plus transport and query type',
    labelNames: ['rcode', 'transport', 'type'],
    registers: [kit.admin.metrics],
  });
  const server = new DnsServer({
    resolver,
    log,
    host: flags.host,
    port: flags.port,
    observer: { query: (rcode, transport, type) => queries.inc({ rcode, transport, type }) },
  });
  let bound: { host: string; port: number };
  try {
    bound = await server.listen();
  } catch (err) {
    log.error({ err: (err as Error).message, listen: `${flags.host}:${flags.port}` }, 'cannot listen');
    process.stderr.write(`cluster-dns: cannot listen on ${flags.host}:${flags.port}: ${(err as Error).message}\n`);
    await kit.close();
    return 1;
  }
  readyWhenSynced(kit.admin, () => catalog.hasSynced());
  kit.admin.route('GET', '/dns', () => ({
    body: { listen: `${bound.host}:${bound.port}`, domain: flags.domain, synced: catalog.hasSynced() },
  }));
  // Until the first full list the resolver answers SERVFAIL (not a false NXDOMAIN) and /readyz is 503.
  void kit.firstConnection.then(() => factory.start());
  const hooks = new ShutdownHooks(log);
  hooks.add(() => kit.close());
  hooks.add(() => factory.stop());
  hooks.add(() => server.close());
  if (flags.clusterIp !== undefined) {
    const registration = new DnsRegistration({
      api: kit.api,
      clusterIp: flags.clusterIp,
      endpoint: { ip: flags.advertiseAddress ?? advertisedAddress(bound.host), port: bound.port },
      name: flags.name,
      runtime,
      log,
      intervalMs: 10_000,
    });
    void kit.firstConnection.then(() => registration.start());
    catalog.onChange(() => {
      const svc = catalog.service('kube-system', 'kube-dns');
      if (catalog.hasSynced() && (!svc || catalog.slicesFor('kube-system', 'kube-dns').length === 0))
        registration.kick();
    });
    hooks.add(() => registration.stop());
  }
  hooks.install();
  log.info(
    { listen: `${bound.host}:${bound.port}`, domain: flags.domain, apiserver: flags.urls },
    'cluster DNS serving',
  );
  return 0;
}
