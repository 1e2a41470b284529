import { bytesToString, toBytes } from '../client/bytes.js';
import { EtcdClient } from '../client/client.js';
import type { ConnectionFactory } from '../client/transport.js';
import { EtcdError } from '../server/errors.js';
import { ETCDCTL_USAGE, parseEtcdctl, UsageError } from './command.js';
import {
  type EndpointStatusRow,
  formatDelete,
  formatEndpointStatus,
  formatGet,
  formatMemberList,
  formatPut,
  formatWatchEvent,
} from './format.js';

export interface EtcdctlIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  connect: ConnectionFactory;
  /** Resolves when the user interrupts (Ctrl-C); ends a running watch. */
  interrupted?: Promise<void>;
}

/** Runs one etcdctl command line; returns the exit status (0 ok, 1 error, like etcdctl). */
export async function runEtcdctl(argv: readonly string[], io: EtcdctlIo): Promise<number> {
  let parsed: ReturnType<typeof parseEtcdctl>;
  try {
    parsed = parseEtcdctl(argv, io.env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`Error: ${err.message}\n${ETCDCTL_USAGE}\n`);
      return 1;
    }
    throw err;
  }
  const { global: g, command: c } = parsed;
  const client = new EtcdClient({
    endpoints: g.endpoints,
    connect: io.connect,
    attemptTimeoutMs: g.commandTimeoutMs,
    callTimeoutMs: g.commandTimeoutMs,
  });
  const t = { timeoutMs: g.commandTimeoutMs };
  try {
    switch (c.kind) {
      case 'put':
        io.stdout(formatPut(await client.put(c.key, c.value, { ...t, lease: c.lease, prevKv: c.prevKv }), g.format));
        break;
      case 'get': {
        const opts = { ...t, limit: c.limit, revision: c.rev, keysOnly: c.keysOnly, countOnly: c.countOnly };
        const res = await client.range(c.key, {
          ...opts,
          prefix: c.prefix,
          serializable: c.serializable,
          ...(c.rangeEnd !== undefined ? { rangeEnd: c.rangeEnd } : {}),
        });
        io.stdout(formatGet(res, c.countOnly && g.format === 'simple' ? 'count' : g.format, { keysOnly: c.keysOnly }));
        break;
      }
      case 'del': {
        const res = await client.delete(c.key, {
          ...t,
          prefix: c.prefix,
          prevKv: c.prevKv,
          ...(c.rangeEnd !== undefined ? { rangeEnd: c.rangeEnd } : {}),
        });
        io.stdout(formatDelete(res, g.format));
        break;
      }
      case 'watch': {
        const w = client.watch(c.key, {
          prefix: c.prefix,
          prevKv: c.prevKv,
          ...(c.rev ? { startRevision: c.rev } : {}),
          ...(c.rangeEnd !== undefined ? { rangeEnd: toBytes(c.rangeEnd) } : {}),
        });
        void io.interrupted?.then(() => w.close());
        for await (const res of w) {
          for (const ev of res.events) io.stdout(formatWatchEvent(ev, g.format, res.header));
        }
        break;
      }
      case 'member-list': {
        const res = await client.memberList(t);
        io.stdout(formatMemberList(res.members, res.header, g.format));
        break;
      }
      case 'member-add': {
        const res = await client.memberAdd(c.name, c.peerUrls, { ...t, isLearner: c.learner });
        const all = res.members.map((m) => `${m.name}=${m.peerUrls.join(',')}`);
        io.stdout(
          `Member ${res.member.id} added to cluster ${res.header.clusterId}\n\n` +
            `ETCD_NAME="${c.name}"\nETCD_INITIAL_CLUSTER="${all.join(',')}"\n` +
            `ETCD_INITIAL_ADVERTISE_PEER_URLS="${c.peerUrls.join(',')}"\nETCD_INITIAL_CLUSTER_STATE="existing"\n`,
        );
        break;
      }
      case 'member-remove': {
        const res = await client.memberRemove(c.id, t);
        io.stdout(`Member ${c.id} removed from cluster ${res.header.clusterId}\n`);
        break;
      }
      case 'endpoint-status': {
        let endpoints = g.endpoints;
        if (c.cluster) {
          const ml = await client.memberList(t);
          endpoints = ml.members.flatMap((m) => m.clientUrls.map((u) => u.replace(/^ws:\/\//, '')));
        }
        const rows: EndpointStatusRow[] = await Promise.all(
          endpoints.map(async (endpoint) => {
            try {
              return { endpoint, status: await client.status(endpoint, t) };
            } catch (err) {
              return { endpoint, error: err instanceof Error ? err.message : String(err) };
            }
          }),
        );
        for (const r of rows) {
          if (r.error !== undefined) io.stderr(`Failed to get the status of endpoint ${r.endpoint} (${r.error})\n`);
        }
        io.stdout(formatEndpointStatus(rows, g.format));
        if (rows.some((r) => r.error !== undefined)) return 1;
        break;
      }
      case 'lease-grant': {
        const res = await client.leaseGrant(c.ttl, t);
        io.stdout(`lease ${res.id.toString(16)} granted with TTL(${res.ttl}s)\n`);
        break;
      }
      case 'lease-revoke':
        await client.leaseRevoke(c.id, t);
        io.stdout(`lease ${c.id.toString(16)} revoked\n`);
        break;
      case 'lease-timetolive': {
        const res = await client.leaseTimeToLive(c.id, { ...t, keys: c.keys });
        if (res.ttl === -1) io.stdout(`lease ${c.id.toString(16)} already expired\n`);
        else {
          const keys = c.keys ? `, attached keys(${res.keys.map(bytesToString).join(', ')})` : '';
          io.stdout(`lease ${c.id.toString(16)} granted with TTL(${res.grantedTtl}s), remaining(${res.ttl}s)${keys}\n`);
        }
        break;
      }
      case 'compaction': {
        const res = await client.compact(c.rev, t);
        io.stdout(`compacted revision ${c.rev}\n`);
        void res;
        break;
      }
    }
    return 0;
  } catch (err) {
    const msg = err instanceof EtcdError || err instanceof Error ? err.message : String(err);
    io.stderr(`Error: ${msg}\n`);
    return 1;
  } finally {
    await client.close();
  }
}
