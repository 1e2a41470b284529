// Test support for the proxy package's cross-process tests: TCP backends that answer with their
// name on distinct loopback IPs, a one-shot TCP client, and the admin /listeners view.
import net from 'node:net';
import { waitFor } from '@kemu/testkit';

export interface Backend {
  name: string;
  ip: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

/** A TCP server on `ip:port` that writes `<name>\n` to every connection and closes it. */
export async function startBackend(name: string, ip: string, port = 0): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const b: Backend = {
    name,
    ip,
    port: 0,
    hits: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => {});
    b.hits++;
    s.end(`${name}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  b.port = (server.address() as net.AddressInfo).port;
  return b;
}

/** Connects, reads until the server closes, returns what it said (trimmed); rejects on errors. */
export function tcpAsk(
  ip: string,
  port: number,
  opts: { localAddress?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: ip, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    let data = '';
    const timer = setTimeout(() => s.destroy(new Error(`no answer from ${ip}:${port}`)), opts.timeoutMs ?? 5000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      data += d;
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('end', () => {
      clearTimeout(timer);
      s.end();
      resolve(data.trim());
    });
  });
}

/** Whether a TCP connect to ip:port is refused (no listener). */
export function isRefused(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

export interface ListenerView {
  key: string;
  state: string;
  endpoints: string[];
  servicePort: string;
}

export async function listeners(adminPort: number): Promise<ListenerView[]> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/listeners`);
  const body = (await r.json()) as { listeners: ListenerView[] };
  return body.listeners;
}

/** Waits until the proxy at `adminPort` reports `key` in `state` (and, if given, with n endpoints). */
export function waitListener(
  adminPort: number,
  key: string,
  state: string,
  opts: { endpoints?: number; timeoutMs?: number } = {},
): Promise<ListenerView> {
  return waitFor(
    `listener ${key} ${state} on admin ${adminPort}`,
    async () => {
      const l = (await listeners(adminPort)).find((x) => x.key === key);
      if (!l || l.state !== state) return undefined;
      if (opts.endpoints !== undefined && l.endpoints.length !== opts.endpoints) return undefined;
      return l;
    },
    { timeoutMs: opts.timeoutMs ?? 20000, intervalMs: 50 },
  );
}

/** Counts answers of `n` connections by what each backend said. */
export async function spread(ip: string, port: number, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = await tcpAsk(ip, port);
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return counts;
}
