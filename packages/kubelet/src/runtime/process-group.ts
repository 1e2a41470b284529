import fs from 'node:fs';
import os from 'node:os';

/** Sends `signal` to every process in group `pgid`; false if the group is already gone. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * True while a live (non-zombie) process of group `pgid` exists. Signal 0 answers first; a zombie
 * still counts for it, and where PID 1 does not reap orphans (some sandboxes) killed members stay
 * zombies, so a positive answer is confirmed against /proc.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

/** Exit code as a shell reports it: the code, or 128 + signal number when killed by a signal. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + (os.constants.signals[signal] ?? 0);
  return 0;
}

function readChildren(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ')) {
        const n = Number(c);
        if (n > 0) out.push(n);
      }
    } catch {
      // the task ended meanwhile
    }
  }
  return out;
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Resident memory of a process tree: the root and its descendants, found through
 * /proc/<pid>/task/<tid>/children (so the cost follows the tree's size, not the host's process
 * count). Returns null where /proc is not available.
 */
export function treeRssBytes(root: number): number | null {
  if (!fs.existsSync('/proc/self/status')) return null;
  let total = 0;
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += rssBytes(pid);
    stack.push(...readChildren(pid));
  }
  return total;
}
