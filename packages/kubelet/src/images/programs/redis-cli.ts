/**
 * redis-cli for `kubectl exec redis-0 -- redis-cli SET k v`: `-h`, `-p`, a command from argv (or one
 * per stdin line), replies printed the way redis-cli prints them when stdout is not a terminal.
 */
import net from 'node:net';
import { podIP } from './env.js';

const argv = process.argv.slice(2);
let host = podIP();
let port = 6379;
const words: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '-h') host = argv[++i] ?? host;
  else if (a === '-p') port = Number(argv[++i] ?? port);
  else words.push(a);
}

/** Reads one RESP reply from `buf` at `pos`; null when incomplete. */
function readReply(buf: Buffer, pos: number): { lines: string[]; next: number } | null {
  const end = buf.indexOf('\r\n', pos);
  if (end < 0) return null;
  const head = buf.toString('utf8', pos + 1, end);
  switch (String.fromCharCode(buf[pos]!)) {
    case '+':
    case ':':
      return { lines: [head], next: end + 2 };
    case '-':
      return { lines: [head], next: end + 2 };
    case '$': {
      const len = Number(head);
      if (len < 0) return { lines: [''], next: end + 2 };
      if (end + 2 + len + 2 > buf.length) return null;
      return { lines: [buf.toString('utf8', end + 2, end + 2 + len)], next: end + 2 + len + 2 };
    }
    case '*': {
      const n = Number(head);
      const lines: string[] = [];
      let p = end + 2;
      for (let i = 0; i < n; i++) {
        const r = readReply(buf, p);
        if (!r) return null;
        lines.push(...r.lines);
        p = r.next;
      }
      return { lines, next: p };
    }
    default:
      return { lines: [head], next: end + 2 };
  }
}

async function commands(): Promise<string[][]> {
  if (words.length > 0) return [words];
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  return input
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
}

const cmds = await commands();
const sock = net.connect(port, host);
sock.on('error', (err: NodeJS.ErrnoException) => {
  process.stderr.write(
    `Could not connect to Redis at ${host}:${port}: ${err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message}\n`,
  );
  process.exit(1);
});
let buf = Buffer.alloc(0);
let answered = 0;
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const r = readReply(buf, 0);
    if (!r) break;
    process.stdout.write(`${r.lines.join('\n')}\n`);
    buf = buf.subarray(r.next);
    if (++answered === cmds.length) sock.end();
  }
});
sock.on('connect', () => {
  if (cmds.length === 0) sock.end();
  for (const c of cmds) sock.write(`*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
});
