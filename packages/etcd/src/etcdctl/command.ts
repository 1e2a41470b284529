import { KemuError } from '@kemu/runtime';
import type { OutputFormat } from './format.js';

/** A bad etcdctl command line (etcdctl exits 1 with "Error: …"). */
export class UsageError extends KemuError {
  constructor(message: string) {
    super('ETCDCTL_USAGE', message);
  }
}

export interface GlobalOptions {
  endpoints: string[];
  format: OutputFormat;
  commandTimeoutMs: number;
  dialTimeoutMs: number;
}

export type Command =
  | { kind: 'put'; key: string; value: string; lease: number; prevKv: boolean }
  | {
      kind: 'get';
      key: string;
      rangeEnd?: string;
      prefix: boolean;
      limit: number;
      rev: number;
      keysOnly: boolean;
      countOnly: boolean;
      serializable: boolean;
    }
  | { kind: 'del'; key: string; rangeEnd?: string; prefix: boolean; prevKv: boolean }
  | { kind: 'watch'; key: string; rangeEnd?: string; prefix: boolean; rev: number; prevKv: boolean }
  | { kind: 'member-list' }
  | { kind: 'member-add'; name: string; peerUrls: string[]; learner: boolean }
  | { kind: 'member-remove'; id: string }
  | { kind: 'endpoint-status'; cluster: boolean }
  | { kind: 'lease-grant'; ttl: number }
  | { kind: 'lease-revoke'; id: number }
  | { kind: 'lease-timetolive'; id: number; keys: boolean }
  | { kind: 'compaction'; rev: number };

export interface ParsedCommandLine {
  global: GlobalOptions;
  command: Command;
}

export const ETCDCTL_USAGE = `usage: kemu etcdctl [--endpoints=HOST:PORT,...] [-w simple|json|table] COMMAND
  put KEY VALUE [--lease=ID] [--prev-kv]
  get KEY [RANGE_END] [--prefix] [--limit=N] [--rev=N] [--keys-only] [--count-only] [--consistency=l|s]
  del KEY [RANGE_END] [--prefix] [--prev-kv]
  watch KEY [RANGE_END] [--prefix] [--rev=N] [--prev-kv]
  member list | member add NAME --peer-urls=URL[,URL] [--learner] | member remove ID
  endpoint status [--cluster]
  lease grant TTL | lease revoke ID | lease timetolive ID [--keys]
  compaction REV`;

type FlagSpec = Record<string, 'bool' | 'string'>;

const GLOBAL_FLAGS: FlagSpec = {
  endpoints: 'string',
  'write-out': 'string',
  w: 'string',
  'command-timeout': 'string',
  'dial-timeout': 'string',
};

function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  if (!m) throw new UsageError(`invalid duration for --${flag}: '${raw}'`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n : unit === 'm' ? n * 60000 : n * 1000;
}

function parseNumber(what: string, raw: string | undefined): number {
  if (raw === undefined || !/^\d+$/.test(raw)) throw new UsageError(`bad ${what}: '${raw ?? ''}'`);
  return Number(raw);
}

/** Lease ids are printed in hex by etcdctl and accepted in hex. */
function parseLeaseId(raw: string | undefined): number {
  if (raw === undefined || !/^[0-9a-fA-F]+$/.test(raw)) throw new UsageError(`bad lease ID: '${raw ?? ''}'`);
  return Number.parseInt(raw, 16);
}

/** Splits argv into flags (by spec) and positionals; flags may appear anywhere, as etcdctl allows. */
function splitArgs(argv: readonly string[], spec: FlagSpec): { flags: Map<string, string>; positionals: string[] } {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag: ${a}`);
    if (kind === 'bool') {
      const v = eq >= 0 ? body.slice(eq + 1) : 'true';
      if (v !== 'true' && v !== 'false') throw new UsageError(`invalid boolean for ${a}`);
      flags.set(name, v);
    } else {
      const v = eq >= 0 ? body.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: ${a}`);
      flags.set(name, v);
    }
  }
  return { flags, positionals };
}

const COMMAND_FLAGS: FlagSpec = {
  ...GLOBAL_FLAGS,
  prefix: 'bool',
  'prev-kv': 'bool',
  lease: 'string',
  limit: 'string',
  rev: 'string',
  'keys-only': 'bool',
  'count-only': 'bool',
  consistency: 'string',
  'peer-urls': 'string',
  learner: 'bool',
  cluster: 'bool',
  keys: 'bool',
};

export function parseEtcdctl(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedCommandLine {
  const { flags, positionals } = splitArgs(argv, COMMAND_FLAGS);
  const bool = (n: string): boolean => flags.get(n) === 'true';
  const fmt = flags.get('write-out') ?? flags.get('w') ?? 'simple';
  if (fmt !== 'simple' && fmt !== 'json' && fmt !== 'table') {
    throw new UsageError(`unsupported output format: ${fmt} (use simple, json or table)`);
  }
  const endpointsRaw = flags.get('endpoints') ?? env.ETCDCTL_ENDPOINTS ?? '127.0.0.1:2379';
  const endpoints = endpointsRaw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0) throw new UsageError('--endpoints is empty');
  const global: GlobalOptions = {
    endpoints,
    format: fmt,
    commandTimeoutMs: parseDuration('command-timeout', flags.get('command-timeout') ?? '5s'),
    dialTimeoutMs: parseDuration('dial-timeout', flags.get('dial-timeout') ?? '2s'),
  };
  const [verb, ...rest] = positionals;
  const need = (n: number, usage: string): void => {
    if (rest.length < n) throw new UsageError(`${usage}`);
  };
  let command: Command;
  switch (verb) {
    case 'put':
      need(2, 'put command needs 1 argument and input from stdin or 2 arguments');
      command = {
        kind: 'put',
        key: rest[0]!,
        value: rest[1]!,
        lease: flags.has('lease') ? parseLeaseId(flags.get('lease')) : 0,
        prevKv: bool('prev-kv'),
      };
      break;
    case 'get': {
      need(1, 'get command needs one argument as key and an optional argument as range_end');
      const consistency = flags.get('consistency') ?? 'l';
      if (consistency !== 'l' && consistency !== 's') throw new UsageError(`unknown consistency flag '${consistency}'`);
      command = {
        kind: 'get',
        key: rest[0]!,
        prefix: bool('prefix'),
        limit: flags.has('limit') ? parseNumber('limit', flags.get('limit')) : 0,
        rev: flags.has('rev') ? parseNumber('revision', flags.get('rev')) : 0,
        keysOnly: bool('keys-only'),
        countOnly: bool('count-only'),
        serializable: consistency === 's',
      };
      if (rest[1] !== undefined) command.rangeEnd = rest[1];
      if (command.prefix && command.rangeEnd !== undefined) {
        throw new UsageError('too many arguments, only accept one argument when `--prefix` is set.');
      }
      break;
    }
    case 'del':
    case 'delete':
      need(1, 'del command needs one argument as key and an optional argument as range_end');
      command = { kind: 'del', key: rest[0]!, prefix: bool('prefix'), prevKv: bool('prev-kv') };
      if (rest[1] !== undefined) command.rangeEnd = rest[1];
      break;
    case 'watch':
      need(1, 'watch command needs one argument as key and an optional argument as range_end');
      command = {
        kind: 'watch',
        key: rest[0]!,
        prefix: bool('prefix'),
        rev: flags.has('rev') ? parseNumber('revision', flags.get('rev')) : 0,
        prevKv: bool('prev-kv'),
      };
      if (rest[1] !== undefined) command.rangeEnd = rest[1];
      break;
    case 'member': {
      const sub = rest[0];
      if (sub === 'list') command = { kind: 'member-list' };
      else if (sub === 'add') {
        if (!rest[1]) throw new UsageError('member name not provided');
        const urls = flags.get('peer-urls');
        if (!urls) throw new UsageError('member peer urls not provided');
        command = { kind: 'member-add', name: rest[1], peerUrls: urls.split(','), learner: bool('learner') };
      } else if (sub === 'remove') {
        if (!rest[1]) throw new UsageError('member ID is not provided');
        command = { kind: 'member-remove', id: rest[1] };
      } else throw new UsageError(`unknown member command '${sub ?? ''}' (list, add, remove)`);
      break;
    }
    case 'endpoint':
      if (rest[0] !== 'status') throw new UsageError(`unknown endpoint command '${rest[0] ?? ''}' (status)`);
      command = { kind: 'endpoint-status', cluster: bool('cluster') };
      break;
    case 'lease': {
      const sub = rest[0];
      if (sub === 'grant') command = { kind: 'lease-grant', ttl: parseNumber('TTL', rest[1]) };
      else if (sub === 'revoke') command = { kind: 'lease-revoke', id: parseLeaseId(rest[1]) };
      else if (sub === 'timetolive')
        command = { kind: 'lease-timetolive', id: parseLeaseId(rest[1]), keys: bool('keys') };
      else throw new UsageError(`unknown lease command '${sub ?? ''}' (grant, revoke, timetolive)`);
      break;
    }
    case 'compaction':
      command = { kind: 'compaction', rev: parseNumber('revision', rest[0]) };
      break;
    case undefined:
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command "${verb}" for "etcdctl"`);
  }
  return { global, command };
}
