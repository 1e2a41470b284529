// Test support for the proxy package's cross-process tests: TCP backends that answer with their
// name on distinct loopback IPs, a one-shot TCP client, and the admin /listeners view.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ChildProc, type TestCluster, waitFor } from '@kemu/testkit';

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

/** The last `lines` lines of a component's log, each cut short, for assertion messages. */
export function logTail(proc: ChildProc, lines = 8): string {
  return proc
    .logs()
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => (l.length > 240 ? `${l.slice(0, 240)}…` : l))
    .join('\n');
}

/** Short log tails of every process of the cluster. */
export function shortLogs(c: TestCluster, lines = 6): string {
  return [c.apiserver, ...c.components]
    .filter((p): p is ChildProc => p !== undefined)
    .map((p) => `==== ${p.name}\n${logTail(p, lines)}`)
    .join('\n');
}

export interface StartedComponent {
  proc: ChildProc;
  /** The admin port the process bound (it is started with --admin-port 0: no port race). */
  adminPort: number;
  /** The log line that announced it, parsed. */
  line: Record<string, unknown>;
}

/**
 * Starts a proxy-package process with info logs and `--admin-port 0`, and waits for `readyMsg` in
 * its log; returns the admin port it logged. TestCluster.destroy() kills it. Picking ports with
 * freePort() ahead of time races with everything else on a busy machine; this does not.
 */
export async function startWithAdmin(
  c: TestCluster,
  name: string,
  main: string,
  args: string[],
  readyMsg: string,
): Promise<StartedComponent> {
  const proc = new ChildProc(name, [main, ...args, '--admin-port', '0'], path.join(c.dir, `${name}.log`), {
    KEMU_LOG_LEVEL: 'info',
  });
  proc.start();
  c.components.push(proc);
  let adminPort = 0;
  const found = await waitFor(
    `${name} logging "${readyMsg}"`,
    () => {
      if (!proc.running) return { exited: true } as Record<string, unknown>;
      for (const raw of proc.logs().split('\n')) {
        if (!raw.startsWith('{')) continue;
        const l = JSON.parse(raw) as Record<string, unknown>;
        if (typeof l.adminPort === 'number') adminPort = l.adminPort;
        if (l.msg === readyMsg) return l;
      }
      return undefined;
    },
    { timeoutMs: 20000, intervalMs: 50 },
  );
  if (found.exited === true) throw new Error(`${name} exited at start:\n${logTail(proc)}`);
  if (adminPort === 0) throw new Error(`${name} logged no admin port:\n${logTail(proc)}`);
  return { proc, adminPort, line: found };
}

/**
 * Kills every process whose working directory lies under `dir`, by its process group (container
 * processes of the process runtime each lead one). A SIGKILLed kubelet leaves its containers running
 * (as real containers outlive a dead kubelet), so a test that runs pods calls this after destroy().
 */
export function killStrays(dir: string): number {
  let killed = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cwd: string;
    try {
      cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue;
    }
    if (!cwd.startsWith(`${dir}/`)) continue;
    const pid = Number(entry);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    killed++;
  }
  return killed;
}
