import { parseArgs } from 'node:util';
import { type TimingProfile, timingProfile } from '@kemu/api';
import { KemuError } from '@kemu/runtime';

/** A bad or missing command-line flag; the process prints it with the usage and exits 2. */
export class ControllerManagerFlagError extends KemuError {
  constructor(message: string) {
    super('CONTROLLER_MANAGER_BAD_FLAG', message);
  }
}

export const USAGE = `usage: kube-controller-manager --apiserver ws://127.0.0.1:PORT[,ws://…] [--name NAME]
       [--admin-port N] [--profile fast|real] [--leader-elect true|false] [--controllers '*']
       [--pv-host-path-dir /tmp/kemu-pv]

  --apiserver     the apiserver wire endpoint(s), comma-separated (required)
  --name          this replica's name (default kube-controller-manager-<pid>)
  --admin-port    /healthz, /readyz, /metrics, /faults (0 or absent: ephemeral)
  --profile       timing profile, fast or real (default real)
  --leader-elect  campaign for Lease kube-system/kube-controller-manager (default true)
  --controllers   upstream syntax: '*' = every controller on by default, 'foo' enables foo,
                  '-foo' disables foo, e.g. '*,-cronjob' (default '*')
  --pv-host-path-dir  where the hostPath provisioner of persistentvolume-binder makes volumes
                  (default /tmp/kemu-pv)`;

export interface ControllerManagerFlags {
  apiservers: string[];
  name: string;
  adminPort: number;
  profile: TimingProfile;
  leaderElect: boolean;
  controllers: string;
  /** Root of the hostPath volumes the persistentvolume-binder provisions (absent: its default). */
  pvHostPathDir: string | undefined;
}

/** `--help` → null (print usage, exit 0); otherwise the parsed flags or a ControllerManagerFlagError. */
export function parseFlags(argv: string[], pid = process.pid): ControllerManagerFlags | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        apiserver: { type: 'string' },
        name: { type: 'string' },
        'admin-port': { type: 'string' },
        profile: { type: 'string' },
        'leader-elect': { type: 'string' },
        controllers: { type: 'string' },
        'pv-host-path-dir': { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new ControllerManagerFlagError((err as Error).message);
  }
  if (values.help === true) return null;
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const apiserver = str('apiserver');
  if (apiserver === undefined || apiserver.trim() === '')
    throw new ControllerManagerFlagError('--apiserver is required');
  const apiservers = apiserver
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const url of apiservers) {
    if (!/^wss?:\/\/[^/]+/.test(url)) {
      throw new ControllerManagerFlagError(`--apiserver must be ws://HOST:PORT[,…], got ${JSON.stringify(url)}`);
    }
  }
  const adminRaw = str('admin-port') ?? '0';
  const adminPort = Number(adminRaw);
  if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) {
    throw new ControllerManagerFlagError(`--admin-port must be a port number, got ${JSON.stringify(adminRaw)}`);
  }
  let profile: TimingProfile;
  try {
    profile = timingProfile(str('profile') ?? 'real');
  } catch (err) {
    throw new ControllerManagerFlagError((err as Error).message);
  }
  const le = str('leader-elect') ?? 'true';
  if (le !== 'true' && le !== 'false') {
    throw new ControllerManagerFlagError(`--leader-elect must be true or false, got ${JSON.stringify(le)}`);
  }
  const pvHostPathDir = str('pv-host-path-dir');
  if (pvHostPathDir !== undefined && pvHostPathDir.trim() === '') {
    throw new ControllerManagerFlagError('--pv-host-path-dir must not be empty');
  }
  return {
    pvHostPathDir,
    apiservers,
    name: str('name') ?? `kube-controller-manager-${pid}`,
    adminPort,
    profile,
    leaderElect: le === 'true',
    controllers: str('controllers') ?? '*',
  };
}

/**
 * Which controllers run, by upstream's rules (`--controllers`): a name enables it, `-name` disables it,
 * `*` enables every controller that is on by default; an explicit name or `-name` wins over `*`
 * whatever the order. Unknown names are an error (upstream refuses to start too).
 */
export function selectControllers(
  spec: string,
  known: readonly string[],
  offByDefault: readonly string[] = [],
): string[] {
  const items = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new ControllerManagerFlagError('--controllers must name at least one controller or *');
  const enabled = new Set<string>();
  const disabled = new Set<string>();
  let star = false;
  for (const item of items) {
    if (item === '*') {
      star = true;
      continue;
    }
    const off = item.startsWith('-');
    const name = off ? item.slice(1) : item;
    if (!known.includes(name)) {
      throw new ControllerManagerFlagError(
        `--controllers: ${JSON.stringify(name)} is not in the list of known controllers (${known.join(', ')})`,
      );
    }
    (off ? disabled : enabled).add(name);
  }
  return known.filter((name) => {
    if (disabled.has(name)) return false;
    if (enabled.has(name)) return true;
    return star && !offByDefault.includes(name);
  });
}
