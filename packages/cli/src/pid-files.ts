import fs from 'node:fs';
import path from 'node:path';
import { readJson } from './state-dir.js';

/**
 * A pid file records the pid and the exact command line a process was started with. A pid alone is
 * not enough after a crash: the pid may since belong to somebody else, so a leftover is only killed
 * when /proc/<pid>/cmdline still matches.
 */
export interface PidRecord {
  pid: number;
  argv: string[];
}

export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined; // zombie or kernel thread
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** True while `rec.pid` is alive and still runs the recorded command line. */
export function isSameProcess(rec: PidRecord): boolean {
  const now = readCmdline(rec.pid);
  return now !== undefined && now.length === rec.argv.length && now.every((a, i) => a === rec.argv[i]);
}

export function readPidFile(file: string): PidRecord | undefined {
  const rec = readJson<PidRecord>(file);
  if (!rec || typeof rec.pid !== 'number' || !Array.isArray(rec.argv)) return undefined;
  return rec;
}

/**
 * Written through a temporary file and a rename: a kubelet mirroring the process (static manifest
 * annotation `kemu.dev/pid-file`) may read it at any moment and must never see half a file.
 */
export function writePidFile(file: string, rec: PidRecord): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify({ pid: rec.pid, argv: rec.argv })}\n`);
  fs.renameSync(tmp, file);
}

export function removeFile(file: string): void {
  fs.rmSync(file, { force: true });
}

/** Sends a signal to a whole process group (each component leads its own); false if it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readCmdline(pid) !== undefined;
  } catch {
    return false;
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** SIGTERM to the group, then SIGKILL after `graceMs` if the leader is still there. */
export async function terminateGroup(pid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) break;
    await sleep(50);
  }
  // The group may hold children even after its leader is gone: always finish with SIGKILL.
  signalGroup(pid, 'SIGKILL');
}

/**
 * Kills what an earlier run left behind in `runDir` (component pid files, not the supervisor's):
 * only processes whose command line still matches. Returns the names it killed.
 */
export async function killLeftovers(
  runDir: string,
  graceMs: number,
  skip: (name: string) => boolean,
): Promise<string[]> {
  let files: string[];
  try {
    files = fs.readdirSync(runDir).filter((f) => f.endsWith('.pid'));
  } catch {
    return [];
  }
  const killed: string[] = [];
  await Promise.all(
    files.map(async (f) => {
      const name = f.slice(0, -'.pid'.length);
      if (skip(name)) return;
      const file = path.join(runDir, f);
      const rec = readPidFile(file);
      if (rec && isSameProcess(rec)) {
        await terminateGroup(rec.pid, graceMs);
        killed.push(name);
      }
      removeFile(file);
    }),
  );
  return killed.sort();
}

/** The environment variable the supervisor gives every component: the state dir's absolute path. */
export const STATE_DIR_ENV = 'KEMU_STATE_DIR';

function environHas(pid: number, entry: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}

function cwdOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/**
 * Every live process that belongs to the cluster of `stateDir`, except this process and its parent:
 * by its environment (`KEMU_STATE_DIR`: every component and what inherits its environment), or by
 * its working directory inside a kubelet root dir of the cluster (`<state>/nodes/<node>/kubelet/…`:
 * the process runtime's containers, which get an environment of their own and outlive a SIGKILLed
 * kubelet in their own process groups).
 */
export function processesOfStateDir(stateDir: string): number[] {
  const entry = `${STATE_DIR_ENV}=${stateDir}`;
  const nodesDir = `${path.join(stateDir, 'nodes')}${path.sep}`;
  const inKubeletRoot = (cwd: string | undefined): boolean =>
    cwd?.startsWith(nodesDir) === true && cwd.slice(nodesDir.length).split(path.sep)[1] === 'kubelet';
  const out: number[] = [];
  let dirs: string[];
  try {
    dirs = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid || pid === process.ppid) continue;
    if (environHas(pid, entry) || inKubeletRoot(cwdOf(pid))) out.push(pid);
  }
  return out;
}

/** Kills (SIGKILL) every stray process of the cluster; returns their pids. The last line of "no orphans". */
export function sweepStrays(stateDir: string): number[] {
  const pids = processesOfStateDir(stateDir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}
