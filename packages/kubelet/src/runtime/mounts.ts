import path from 'node:path';
import type { Mount } from './types.js';

const PATH_CHAR = /[A-Za-z0-9_.\-/]/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Processes share the host's file system, so a container path like `/data` cannot be bind-mounted.
 * The pragmatic choice: rewrite mount paths where they appear as whole path prefixes in argv, env
 * values and workingDir (`sh -c 'echo x > /data/f'` writes into the volume), and tell programs the
 * table through KEMU_MOUNTS. Longer container paths win (`/data/logs` before `/data`).
 */
export function mountRewriter(mounts: readonly Mount[]): (s: string) => string {
  const sorted = mounts
    .map((m) => ({ from: m.containerPath.replace(/\/+$/, '') || '/', to: m.hostPath.replace(/\/+$/, '') }))
    .filter((m) => m.from !== '/' && m.from.startsWith('/'))
    .sort((a, b) => b.from.length - a.from.length);
  if (sorted.length === 0) return (s) => s;
  const re = new RegExp(`(${sorted.map((m) => escapeRegExp(m.from)).join('|')})(?=/|$|[^A-Za-z0-9_.\\-])`, 'g');
  const table = new Map(sorted.map((m) => [m.from, m.to]));
  return (s) =>
    s.replace(re, (match: string, _g: string, offset: number) => {
      const before = offset > 0 ? s[offset - 1]! : '';
      if (before && PATH_CHAR.test(before)) return match;
      return table.get(match) ?? match;
    });
}

/** Where a container's working directory is on the host: inside a mount, or under its own rootfs. */
export function hostWorkingDir(workingDir: string | undefined, rootfs: string, rewrite: (s: string) => string): string {
  if (!workingDir) return rootfs;
  const mapped = rewrite(workingDir);
  return mapped !== workingDir ? mapped : path.join(rootfs, workingDir);
}
