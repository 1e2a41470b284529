import { parseArgs } from 'node:util';
import { createLogger, KemuError, ShutdownHooks } from '@kemu/runtime';
import { startApiServer } from './apiserver.js';
import { ServiceIpRange } from './service-ips.js';

export class ApiServerFlagError extends KemuError {
  constructor(message: string) {
    super('APISERVER_BAD_FLAG', message);
  }
}

const USAGE = `usage: kemu apiserver --etcd-servers ws://127.0.0.1:2379,… --port 6443 [--bind 127.0.0.1]
       [--wire-port N] [--admin-port N] [--max-request-bytes 3145728] [--watch-cache-size 10000]
       [--bookmark-interval-ms 5000] [--etcd-compaction-interval-ms 300000]
       [--service-cluster-ip-range 10.96.0.0/16] [--name apiserver-0]
       [--default-not-ready-toleration-seconds 300] [--default-unreachable-toleration-seconds 300]`;

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ApiServerFlagError(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

/** Runs the apiserver until SIGTERM/SIGINT; resolves 0 once serving (the process stays up). */
export async function apiserverMain(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        'etcd-servers': { type: 'string' },
        port: { type: 'string' },
        bind: { type: 'string' },
        'wire-port': { type: 'string' },
        'admin-port': { type: 'string' },
        'max-request-bytes': { type: 'string' },
        'watch-cache-size': { type: 'string' },
        'bookmark-interval-ms': { type: 'string' },
        'etcd-compaction-interval-ms': { type: 'string' },
        'service-cluster-ip-range': { type: 'string' },
        'default-not-ready-toleration-seconds': { type: 'string' },
        'default-unreachable-toleration-seconds': { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (typeof values['etcd-servers'] !== 'string' || values['etcd-servers'] === '') {
      throw new ApiServerFlagError('--etcd-servers is required');
    }
  } catch (err) {
    process.stderr.write(`kube-apiserver: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const s = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const name = s('name') ?? `apiserver-${process.pid}`;
  const log = createLogger({ component: 'kube-apiserver', node: name });
  let opts: Parameters<typeof startApiServer>[0];
  try {
    const wirePort = intFlag('wire-port', s('wire-port'));
    const adminPort = intFlag('admin-port', s('admin-port'));
    const maxRequestBytes = intFlag('max-request-bytes', s('max-request-bytes'));
    const watchCacheSize = intFlag('watch-cache-size', s('watch-cache-size'));
    const range = s('service-cluster-ip-range');
    if (range !== undefined) new ServiceIpRange(range);
    const bookmarkIntervalMs = intFlag('bookmark-interval-ms', s('bookmark-interval-ms'));
    const compactionIntervalMs = intFlag('etcd-compaction-interval-ms', s('etcd-compaction-interval-ms'));
    const notReadySeconds = intFlag('default-not-ready-toleration-seconds', s('default-not-ready-toleration-seconds'));
    const unreachableSeconds = intFlag(
      'default-unreachable-toleration-seconds',
      s('default-unreachable-toleration-seconds'),
    );
    opts = {
      etcdServers: (s('etcd-servers') ?? '').split(',').filter((e) => e.trim() !== ''),
      port: intFlag('port', s('port')) ?? 6443,
      bind: s('bind') ?? '127.0.0.1',
      name,
      log,
      ...(wirePort !== undefined ? { wirePort } : {}),
      ...(adminPort !== undefined ? { adminPort } : {}),
      ...(maxRequestBytes !== undefined ? { maxRequestBytes } : {}),
      ...(watchCacheSize !== undefined ? { watchCacheSize } : {}),
      ...(bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs } : {}),
      ...(compactionIntervalMs !== undefined ? { compactionIntervalMs } : {}),
      ...(notReadySeconds !== undefined ? { defaultNotReadyTolerationSeconds: notReadySeconds } : {}),
      ...(unreachableSeconds !== undefined ? { defaultUnreachableTolerationSeconds: unreachableSeconds } : {}),
      ...(s('service-cluster-ip-range') !== undefined
        ? { serviceClusterIpRange: s('service-cluster-ip-range') as string }
        : {}),
    };
  } catch (err) {
    process.stderr.write(`kube-apiserver: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const server = await startApiServer(opts);
  const hooks = new ShutdownHooks(log);
  hooks.add(() => server.close());
  hooks.install();
  log.info(
    { http: server.http.port, wire: server.wire?.port, admin: server.admin?.port, etcd: opts.etcdServers },
    'kube-apiserver serving',
  );
  return 0;
}
