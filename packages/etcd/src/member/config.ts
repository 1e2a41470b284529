import { KemuError } from '@kemu/runtime';

/** A bad command line. The process prints the message and the usage, then exits with status 2. */
export class FlagError extends KemuError {
  constructor(message: string) {
    super('ETCD_BAD_FLAG', message);
  }
}

export interface PeerSpec {
  name: string;
  /** ws://host:port — the member's one listener, serving both peers and clients. */
  url: string;
}

export interface MemberConfig {
  name: string;
  dataDir: string;
  listenHost: string;
  listenPort: number;
  peers: PeerSpec[];
  /** 0 = no admin endpoint. */
  adminPort: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** Applied entries between snapshots. */
  snapshotCount: number;
  /** Entries kept in the Raft log behind a snapshot, so slightly lagging followers avoid a snapshot. */
  snapshotCatchUpEntries: number;
  /** `new` bootstraps the cluster from --peers; `existing` joins a cluster that already added this member. */
  initialClusterState: 'new' | 'existing';
  maxRequestBytes: number;
  /** Deadline for a client request that goes through Raft. */
  requestTimeoutMs: number;
}

export const MEMBER_USAGE = `usage: kemu etcd --name NAME --data-dir DIR --listen HOST:PORT --peers NAME=ws://HOST:PORT,...
  [--admin-port N]              admin endpoint (/healthz, /readyz, /metrics, /faults); 0 = none (default)
  [--heartbeat-interval MS]     default 100
  [--election-timeout MS]       default 1000 (at least 5x the heartbeat interval)
  [--snapshot-count N]          applied entries between snapshots, default 100000 (etcd's)
  [--snapshot-catchup-entries N] entries kept behind a snapshot, default 5000 (capped to the snapshot count)
  [--initial-cluster-state new|existing]  default new
  [--max-request-bytes N]       default 1572864 (1.5 MiB)
  [--request-timeout MS]        default 5000`;

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

function parseIntFlag(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new FlagError(`${flag} must be a whole number, got '${raw}'`);
  const n = Number(raw);
  if (n < min || n > max) throw new FlagError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function parseHostPort(flag: string, raw: string): { host: string; port: number } {
  const m = /^([^:\s]+):(\d+)$/.exec(raw);
  if (!m) throw new FlagError(`${flag} must be HOST:PORT, got '${raw}'`);
  return { host: m[1]!, port: parseIntFlag(flag, m[2]!, 0, 65535) };
}

export function parsePeers(raw: string): PeerSpec[] {
  const peers: PeerSpec[] = [];
  for (const part of raw.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(`--peers entries must be NAME=ws://HOST:PORT, got '${part}'`);
    const name = part.slice(0, eq).trim();
    const url = part.slice(eq + 1).trim();
    if (!NAME_RE.test(name)) throw new FlagError(`--peers: '${name}' is not a valid member name`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new FlagError(`--peers: '${url}' is not a URL`);
    }
    if (parsed.protocol !== 'ws:' || !parsed.port) {
      throw new FlagError(`--peers: '${url}' must be ws://HOST:PORT`);
    }
    if (peers.some((p) => p.name === name)) throw new FlagError(`--peers names member '${name}' twice`);
    peers.push({ name, url: `ws://${parsed.host}` });
  }
  return peers;
}

/** Parses `kemu etcd` flags (`--flag value` or `--flag=value`). Throws FlagError on anything wrong. */
export function parseMemberFlags(argv: readonly string[]): MemberConfig {
  const values = new Map<string, string>();
  const known = new Set([
    'name',
    'data-dir',
    'listen',
    'peers',
    'admin-port',
    'heartbeat-interval',
    'election-timeout',
    'snapshot-count',
    'snapshot-catchup-entries',
    'initial-cluster-state',
    'max-request-bytes',
    'request-timeout',
  ]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument '${arg}'`);
    let key = arg.slice(2);
    let value: string | undefined;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else {
      value = argv[++i];
    }
    if (!known.has(key)) throw new FlagError(`unknown flag --${key}`);
    if (value === undefined || (value.startsWith('--') && eq < 0)) throw new FlagError(`--${key} needs a value`);
    if (values.has(key)) throw new FlagError(`--${key} given twice`);
    values.set(key, value);
  }
  const required = (key: string): string => {
    const v = values.get(key);
    if (v === undefined || v === '') throw new FlagError(`--${key} is required`);
    return v;
  };
  const name = required('name');
  if (!NAME_RE.test(name)) throw new FlagError(`--name '${name}' is not a valid member name`);
  const dataDir = required('data-dir');
  const listen = parseHostPort('--listen', required('listen'));
  const peers = parsePeers(required('peers'));
  if (!peers.some((p) => p.name === name)) throw new FlagError(`--peers must include this member ('${name}')`);
  const heartbeatIntervalMs = parseIntFlag('--heartbeat-interval', values.get('heartbeat-interval') ?? '100', 1, 60000);
  const electionTimeoutMs = parseIntFlag('--election-timeout', values.get('election-timeout') ?? '1000', 1, 600000);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new FlagError(
      `--election-timeout (${electionTimeoutMs}) must be at least 5x --heartbeat-interval (${heartbeatIntervalMs})`,
    );
  }
  const snapshotCount = parseIntFlag('--snapshot-count', values.get('snapshot-count') ?? '100000', 1, 1e9);
  const catchUp = parseIntFlag('--snapshot-catchup-entries', values.get('snapshot-catchup-entries') ?? '5000', 0, 1e9);
  const state = values.get('initial-cluster-state') ?? 'new';
  if (state !== 'new' && state !== 'existing') {
    throw new FlagError(`--initial-cluster-state must be 'new' or 'existing', got '${state}'`);
  }
  return {
    name,
    dataDir,
    listenHost: listen.host,
    listenPort: listen.port,
    peers,
    adminPort: parseIntFlag('--admin-port', values.get('admin-port') ?? '0', 0, 65535),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount,
    snapshotCatchUpEntries: Math.min(catchUp, snapshotCount),
    initialClusterState: state,
    maxRequestBytes: parseIntFlag('--max-request-bytes', values.get('max-request-bytes') ?? '1572864', 1024, 64 << 20),
    requestTimeoutMs: parseIntFlag('--request-timeout', values.get('request-timeout') ?? '5000', 100, 600000),
  };
}
