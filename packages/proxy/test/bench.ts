// kube-proxy data-path benchmark (not a test): connections per second and bulk throughput through a
// TcpServiceListener versus straight to the backend, over loopback, in one process.
// Run: npx tsc -b && node packages/proxy/dist/test/bench.js
import net from 'node:net';
import { silentLogger, systemRuntime } from '@kemu/runtime';
import { freePort } from '@kemu/testkit';
import { createListener } from '../src/listener.js';

const CONNS = Number(process.env.KEMU_BENCH_CONNS ?? 2000);
const BULK_MB = Number(process.env.KEMU_BENCH_MB ?? 256);

async function listen(server: net.Server, ip: string): Promise<number> {
  await new Promise<void>((r) => server.listen(0, ip, () => r()));
  return (server.address() as net.AddressInfo).port;
}

function oneShot(ip: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: ip, port });
    s.on('data', () => {});
    s.on('end', () => {
      s.end();
      resolve();
    });
    s.on('error', reject);
  });
}

async function connsPerSecond(ip: string, port: number, concurrency = 16): Promise<number> {
  let left = CONNS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await oneShot(ip, port);
    }),
  );
  return CONNS / ((performance.now() - t0) / 1000);
}

function bulk(ip: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const total = BULK_MB * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let got = 0;
    const t0 = performance.now();
    const s = net.connect({ host: ip, port }, () => {
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) {
            s.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= total) {
        s.destroy();
        resolve(BULK_MB / ((performance.now() - t0) / 1000));
      }
    });
    s.on('error', reject);
  });
}

async function main(): Promise<void> {
  const hello = net.createServer((s) => s.end('hello\n'));
  const echo = net.createServer((s) => s.pipe(s));
  const helloPort = await listen(hello, '127.1.250.1');
  const echoPort = await listen(echo, '127.1.250.2');
  const deps = {
    runtime: systemRuntime,
    log: silentLogger(),
    bindRetryMs: 100,
    connectTimeoutMs: 2000,
    udpIdleTimeoutMs: 5000,
  };
  const mk = async (ip: string, ep: string) => {
    const port = await freePort();
    const l = createListener(
      {
        key: `TCP/${ip}:${port}`,
        kind: 'clusterIP',
        protocol: 'TCP',
        ip,
        port,
        servicePort: 'b/b:',
        endpoints: [ep],
        affinityTimeoutMs: null,
      },
      deps,
    );
    l.start();
    while (l.state !== 'holding') await new Promise((r) => setTimeout(r, 10));
    return { l, port };
  };
  const h = await mk('127.120.250.1', `127.1.250.1:${helloPort}`);
  const e = await mk('127.120.250.2', `127.1.250.2:${echoPort}`);
  await connsPerSecond('127.1.250.1', helloPort); // warm-up
  const rows: [string, string, string][] = [];
  const directC = await connsPerSecond('127.1.250.1', helloPort);
  const proxiedC = await connsPerSecond('127.120.250.1', h.port);
  rows.push([`connections/s (${CONNS}, 16 concurrent, 6-byte reply)`, directC.toFixed(0), proxiedC.toFixed(0)]);
  const directB = await bulk('127.1.250.2', echoPort);
  const proxiedB = await bulk('127.120.250.2', e.port);
  rows.push([`echo throughput MB/s (${BULK_MB} MB each way)`, directB.toFixed(0), proxiedB.toFixed(0)]);
  console.log('| benchmark | direct | through kube-proxy |\n| --- | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  h.l.destroy();
  e.l.destroy();
  hello.close();
  echo.close();
}

await main();
