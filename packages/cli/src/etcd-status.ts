// The client modules only: the package index also loads the member (Raft, WAL, MVCC), ~6 MiB more
// in a supervisor that never runs one.
import { EtcdClient } from '@kemu/etcd/client/client';
import { wireConnectionFactory } from '@kemu/etcd/client/wire-transport';
import type { StatusResponse } from '@kemu/etcd/server/protocol';
import type { ClusterPlan } from './topology.js';

/**
 * Asks every etcd member of the plan for its status (name → status; members that do not answer in
 * time are absent). The etcd leader is the member whose `leader` is its own id.
 */
export async function etcdStatuses(
  plan: ClusterPlan,
  identity: string,
  timeoutMs = 1000,
): Promise<Map<string, StatusResponse>> {
  const client = new EtcdClient({
    endpoints: plan.etcdEndpoints,
    connect: wireConnectionFactory({ identity }),
    callTimeoutMs: timeoutMs + 500,
  });
  const out = new Map<string, StatusResponse>();
  // The wire's timers are unref'd: with every member down nothing else would keep this process
  // alive until the status calls time out, and it would exit silently.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await Promise.all(
      plan.components
        .filter((c) => c.kind === 'etcd' && c.endpoint && c.available)
        .map(async (c) => {
          try {
            out.set(c.name, await client.status(c.endpoint!, { timeoutMs }));
          } catch {
            // down or unreachable: absent
          }
        }),
    );
  } finally {
    clearInterval(keepAlive);
    await client.close();
  }
  return out;
}

export function isEtcdLeader(s: StatusResponse): boolean {
  return s.leader !== '' && s.leader === s.header.memberId;
}

export function etcdLeaderOf(statuses: Map<string, StatusResponse>): { name: string; term: number } | undefined {
  for (const [name, s] of statuses) if (isEtcdLeader(s)) return { name, term: s.raftTerm };
  return undefined;
}
