/**
 * Cross-process harness for the drill tests: a real cluster through the real CLI
 * (`kemu up --detach` on a free 50-port block in a temporary state dir), `kemu drill run` as a child
 * process, and a teardown that leaves no process behind even when a test failed.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DrillReport } from '../src/drills/report.js';
import { processesOfStateDir } from '../src/pid-files.js';
import { PORT_BLOCK } from '../src/topology.js';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'bin.js');
export const PACKAGES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kemu(args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A port base whose block of PORT_BLOCK ports is free right now (checked, not assumed). */
export async function freeBlock(): Promise<number> {
  const canListen = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux's ephemeral range (32768–60999), where outgoing connections take ports at any time.
    const base = 20_000 + Math.floor(Math.random() * 50) * PORT_BLOCK;
    const checks = await Promise.all(Array.from({ length: PORT_BLOCK }, (_, i) => canListen(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port block');
}

export class CliCluster {
  readonly dir: string;
  readonly stateDir: string;
  portBase = 0;
  upOutput = '';

  constructor(prefix: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.stateDir = path.join(this.dir, 'state');
  }

  get flags(): string[] {
    return ['--state-dir', this.stateDir, '--port-base', String(this.portBase)];
  }

  async up(extra: string[]): Promise<void> {
    this.portBase = await freeBlock();
    const r = await kemu(['up', '--detach', ...this.flags, ...extra], 120_000);
    this.upOutput = r.stdout + r.stderr;
    if (r.code !== 0) throw new Error(`kemu up failed (${r.code}):\n${this.upOutput}\n${this.logs()}`);
  }

  /** `kemu drill run NAME` against this cluster; the report files it wrote, parsed. */
  async drill(name: string): Promise<RunResult & { report?: DrillReport; html?: string }> {
    const r = await kemu(['drill', 'run', name, '--state-dir', this.stateDir], 150_000);
    const json = /^report: .*\n\s+(\S+\.json)$/m.exec(r.stdout)?.[1];
    if (!json) return r;
    return {
      ...r,
      report: JSON.parse(fs.readFileSync(json, 'utf8')) as DrillReport,
      html: fs.readFileSync(json.replace(/\.json$/, '.html'), 'utf8'),
    };
  }

  /** The apiserver's HTTP port, from the kubeconfig `kemu up` wrote. */
  apiserverPort(): number {
    const kc = fs.readFileSync(path.join(this.stateDir, 'kubeconfig'), 'utf8');
    const m = /server: http:\/\/127\.0\.0\.1:(\d+)/.exec(kc);
    if (!m) throw new Error(`no server in the kubeconfig:\n${kc}`);
    return Number(m[1]);
  }

  /** The tail of every component log, for assertion messages. */
  logs(lines = 20): string {
    const dir = path.join(this.stateDir, 'logs');
    if (!fs.existsSync(dir)) return '';
    return fs
      .readdirSync(dir)
      .map((f) => `==== ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  async destroy(): Promise<void> {
    await kemu(['down', ...this.flags], 60_000);
    // Whatever is still there (a failed test, a hung supervisor): every process carries the state dir
    // in its environment; paused ones must be continued to die.
    for (const pid of processesOfStateDir(this.stateDir)) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (!process.env.KEMU_KEEP_TEST_DIRS) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether this checkout has built the given package's process entry point. */
export function built(pkg: string, main = 'main.js'): boolean {
  return fs.existsSync(path.join(PACKAGES, pkg, 'dist', 'src', main));
}

/** The component programs drills 1–4 need, by package; a test skips (saying which) when one is not built. */
export const NODE_DRILL_PACKAGES = ['scheduler', 'controller-manager', 'kubelet'];

export function missingPackages(pkgs: string[]): string | undefined {
  const missing = pkgs.filter((p) => !built(p));
  return missing.length > 0
    ? `not built in this checkout: ${missing.map((p) => `packages/${p}/dist/src/main.js`).join(', ')}`
    : undefined;
}

/** Asserts that the named check ran and passed; returns it. */
export function passedCheck(report: DrillReport, name: string | RegExp): DrillReport['checks'][number] {
  const c = report.checks.find((x) => (typeof name === 'string' ? x.name === name : name.test(x.name)));
  if (!c) throw new Error(`no check ${String(name)} in: ${report.checks.map((x) => x.name).join('; ')}`);
  if (!c.ok) throw new Error(`check ${c.name} failed: ${c.detail}`);
  return c;
}
