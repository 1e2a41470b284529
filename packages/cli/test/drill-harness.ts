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
import { readCmdline } from '../src/pid-files.js';

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

/** A port base whose 50-port block is free right now (checked, not assumed). */
export async function freeBlock(): Promise<number> {
  const canListen = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 800) * 50;
    const checks = await Promise.all(Array.from({ length: 50 }, (_, i) => canListen(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port block');
}

/** Pids whose command line mentions `needle` (the state dir or the port base). */
function processesMentioning(needles: string[]): number[] {
  const found: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    const cmd = readCmdline(Number(d));
    if (cmd?.some((a) => needles.some((n) => a.includes(n)))) found.push(Number(d));
  }
  return found;
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
    // A drill that died mid-way may have left the supervisor frozen (the stop stopgap): thaw it first.
    const sup = path.join(this.stateDir, 'run', 'supervisor.pid');
    try {
      const pid = (JSON.parse(fs.readFileSync(sup, 'utf8')) as { pid: number }).pid;
      process.kill(pid, 'SIGCONT');
    } catch {
      // not there
    }
    await kemu(['down', ...this.flags], 60_000);
    const needles = [this.stateDir, `127.0.0.1:${this.portBase}`, `127.0.0.1:${this.portBase + 30}`];
    for (const pid of processesMentioning(needles)) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGCONT');
          process.kill(target, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    if (!process.env.KEMU_KEEP_TEST_DIRS) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether this checkout has built the given package's process entry point. */
export function built(pkg: string, main = 'main.js'): boolean {
  return fs.existsSync(path.join(PACKAGES, pkg, 'dist', 'src', main));
}
