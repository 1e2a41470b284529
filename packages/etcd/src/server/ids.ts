import { createHash } from 'node:crypto';

/**
 * etcd shows members and clusters as 64-bit hex ids. kemu's Raft ids are names (`etcd-0`), so the
 * hex id is derived from the name: stable across restarts and the same on every member.
 */
export function memberHexId(name: string): string {
  return createHash('sha256').update(`member:${name}`).digest('hex').slice(0, 16);
}

/** The cluster id, derived from the bootstrap member names so every member computes the same one. */
export function clusterHexId(memberNames: readonly string[]): string {
  return createHash('sha256')
    .update(`cluster:${[...memberNames].sort().join(',')}`)
    .digest('hex')
    .slice(0, 16);
}
