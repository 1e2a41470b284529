/**
 * A small Redis: enough RESP2 for redis-cli and client libraries doing PING/GET/SET/DEL/INCR/KEYS/
 * EXPIRE/TTL. Data survives restarts in `<dir>/dump.kemu.json` (dir = `--dir`, else the `/data`
 * mount, else the working directory), written atomically shortly after each write and on SIGTERM.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { flag, hostPathFor, listenError, onTerminate, podIP } from './env.js';

const argv = process.argv.slice(2);
const port = Number(flag(argv, 'port') ?? 6379);
const dirFlag = flag(argv, 'dir');
const dir = (dirFlag ? (hostPathFor(dirFlag) ?? dirFlag) : hostPathFor('/data')) ?? process.cwd();
const dumpFile = path.join(dir, 'dump.kemu.json');
const host = podIP();

interface Item {
  value: string;
  expiresAt: number | null;
}
const store = new Map<string, Item>();

function load(): void {
  try {
    const data = JSON.parse(fs.readFileSync(dumpFile, 'utf8')) as Record<string, Item>;
    for (const [k, v] of Object.entries(data)) store.set(k, v);
    process.stdout.write(`* DB loaded from disk: ${store.size} keys\n`);
  } catch {
    // first start: nothing saved yet
  }
}

let saveTimer: NodeJS.Timeout | null = null;
function saveNow(): void {
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = null;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${dumpFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(store)));
  fs.renameSync(tmp, dumpFile);
}
function saveSoon(): void {
  saveTimer ??= setTimeout(saveNow, 20);
}

function live(key: string): Item | undefined {
  const it = store.get(key);
  if (it && it.expiresAt !== null && it.expiresAt <= Date.now()) {
    store.delete(key);
    saveSoon();
    return undefined;
  }
  return it;
}

type Reply = { simple: string } | { error: string } | number | string | null | Reply[];

function encode(r: Reply): string {
  if (r === null) return '$-1\r\n';
  if (typeof r === 'number') return `:${r}\r\n`;
  if (typeof r === 'string') return `$${Buffer.byteLength(r)}\r\n${r}\r\n`;
  if (Array.isArray(r)) return `*${r.length}\r\n${r.map(encode).join('')}`;
  if ('simple' in r) return `+${r.simple}\r\n`;
  return `-${r.error}\r\n`;
}

const OK = { simple: 'OK' };
const wrongArgs = (cmd: string) => ({ error: `ERR wrong number of arguments for '${cmd}' command` });
const notInt = { error: 'ERR value is not an integer or out of range' };

function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

function incrBy(key: string, by: number): Reply {
  const cur = live(key);
  const n = cur ? Number(cur.value) : 0;
  if (!Number.isInteger(n)) return notInt;
  const next = n + by;
  store.set(key, { value: String(next), expiresAt: cur?.expiresAt ?? null });
  saveSoon();
  return next;
}

function run(args: string[]): Reply {
  const cmd = (args[0] ?? '').toLowerCase();
  const a = args.slice(1);
  switch (cmd) {
    case 'ping':
      return a.length > 0 ? a[0]! : { simple: 'PONG' };
    case 'echo':
      return a.length === 1 ? a[0]! : wrongArgs(cmd);
    case 'get':
      return a.length === 1 ? (live(a[0]!)?.value ?? null) : wrongArgs(cmd);
    case 'set': {
      if (a.length < 2) return wrongArgs(cmd);
      const [key, value] = [a[0]!, a[1]!];
      let expiresAt: number | null = null;
      let nx = false;
      let xx = false;
      for (let i = 2; i < a.length; i++) {
        const opt = a[i]!.toLowerCase();
        if (opt === 'nx') nx = true;
        else if (opt === 'xx') xx = true;
        else if (opt === 'ex' || opt === 'px') {
          const n = Number(a[++i]);
          if (!Number.isInteger(n) || n <= 0) return { error: "ERR invalid expire time in 'set' command" };
          expiresAt = Date.now() + (opt === 'ex' ? n * 1000 : n);
        } else return { error: 'ERR syntax error' };
      }
      const exists = live(key) !== undefined;
      if ((nx && exists) || (xx && !exists)) return null;
      store.set(key, { value, expiresAt });
      saveSoon();
      return OK;
    }
    case 'del':
    case 'unlink': {
      if (a.length === 0) return wrongArgs(cmd);
      let n = 0;
      for (const k of a) if (live(k) !== undefined && store.delete(k)) n++;
      if (n > 0) saveSoon();
      return n;
    }
    case 'exists':
      return a.filter((k) => live(k) !== undefined).length;
    case 'incr':
      return a.length === 1 ? incrBy(a[0]!, 1) : wrongArgs(cmd);
    case 'decr':
      return a.length === 1 ? incrBy(a[0]!, -1) : wrongArgs(cmd);
    case 'incrby': {
      const by = Number(a[1]);
      return a.length !== 2 ? wrongArgs(cmd) : Number.isInteger(by) ? incrBy(a[0]!, by) : notInt;
    }
    case 'keys': {
      if (a.length !== 1) return wrongArgs(cmd);
      const re = globToRegExp(a[0]!);
      return [...store.keys()].filter((k) => live(k) !== undefined && re.test(k));
    }
    case 'expire':
    case 'pexpire': {
      const n = Number(a[1]);
      if (a.length !== 2) return wrongArgs(cmd);
      if (!Number.isInteger(n)) return notInt;
      const it = live(a[0]!);
      if (!it) return 0;
      it.expiresAt = Date.now() + (cmd === 'expire' ? n * 1000 : n);
      saveSoon();
      return 1;
    }
    case 'ttl':
    case 'pttl': {
      if (a.length !== 1) return wrongArgs(cmd);
      const it = live(a[0]!);
      if (!it) return -2;
      if (it.expiresAt === null) return -1;
      const ms = it.expiresAt - Date.now();
      return cmd === 'ttl' ? Math.ceil(ms / 1000) : ms;
    }
    case 'dbsize':
      return [...store.keys()].filter((k) => live(k) !== undefined).length;
    case 'flushall':
    case 'flushdb':
      store.clear();
      saveSoon();
      return OK;
    case 'save':
      saveNow();
      return OK;
    case 'info':
      return `# Server\r\nredis_version:7.2.0-kemu\r\nredis_mode:standalone\r\ntcp_port:${port}\r\n# Keyspace\r\ndb0:keys=${store.size},expires=0,avg_ttl=0\r\n`;
    case 'select':
      return a[0] === '0' ? OK : { error: 'ERR DB index is out of range' };
    case 'command':
      return [];
    case 'client':
    case 'config':
      return OK;
    case 'quit':
      return OK;
    default:
      return {
        error: `ERR unknown command '${args[0] ?? ''}', with args beginning with: ${a.map((x) => `'${x}' `).join('')}`,
      };
  }
}

/** Parses as many complete commands as `buf` holds; returns them and the unconsumed rest. */
function parse(buf: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let pos = 0;
  outer: while (pos < buf.length) {
    if (buf[pos] !== 0x2a /* '*' */) {
      const nl = buf.indexOf('\n', pos);
      if (nl < 0) break;
      const line = buf.toString('utf8', pos, nl).replace(/\r$/, '').trim();
      pos = nl + 1;
      if (line) commands.push(line.split(/\s+/));
      continue;
    }
    const headEnd = buf.indexOf('\r\n', pos);
    if (headEnd < 0) break;
    const count = Number(buf.toString('utf8', pos + 1, headEnd));
    let p = headEnd + 2;
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const lenEnd = buf.indexOf('\r\n', p);
      if (lenEnd < 0 || buf[p] !== 0x24 /* '$' */) break outer;
      const len = Number(buf.toString('utf8', p + 1, lenEnd));
      if (lenEnd + 2 + len + 2 > buf.length) break outer;
      args.push(buf.toString('utf8', lenEnd + 2, lenEnd + 2 + len));
      p = lenEnd + 2 + len + 2;
    }
    commands.push(args);
    pos = p;
  }
  return { commands, rest: buf.subarray(pos) };
}

load();
const server = net.createServer((sock) => {
  let pending: Buffer = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    const { commands, rest } = parse(Buffer.concat([pending, chunk]));
    pending = rest;
    for (const c of commands) {
      sock.write(encode(run(c)));
      if ((c[0] ?? '').toLowerCase() === 'quit') sock.end();
    }
  });
  sock.on('error', () => {});
});
server.on('error', (err: NodeJS.ErrnoException) => listenError('redis-server', host, port, err));
server.listen(port, host, () => process.stdout.write(`* Ready to accept connections tcp on ${host}:${port}\n`));
onTerminate(() => {
  process.stdout.write('# User requested shutdown...\n* Saving the final RDB snapshot before exiting.\n');
  saveNow();
  server.close();
});
