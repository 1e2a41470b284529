import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'echo-server.js');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  url: string;
  stderr: () => string;
  signal(sig: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/**
 * Starts the echo fixture in its own process group and registers cleanup (SIGCONT in case it was
 * stopped, then SIGKILL to the group) with the test, so it never outlives a failed test.
 */
export async function startEchoServer(t: TestContext, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [fixture, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid as number;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  t.after(() => {
    signal('SIGCONT');
    signal('SIGKILL');
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fixture did not start in 20 s; stderr: ${err}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as { port: number; adminPort: number });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited with ${code}; stderr: ${err}`));
    });
  });
  return {
    child,
    port: ready.port,
    adminPort: ready.adminPort,
    url: `ws://127.0.0.1:${ready.port}/wire`,
    stderr: () => err,
    signal,
    exited,
  };
}
