import { isKemuError, KemuError, type Logger } from '@kemu/runtime';
import type { Router } from '@kemu/wire';
import type { EtcdServer } from '../member/etcd-server.js';
import {
  MvccCompactedError,
  MvccFutureRevisionError,
  LeaseNotFoundError as MvccLeaseNotFoundError,
} from '../mvcc/errors.js';
import type { EtcdRequest, EtcdResponse, TxnRequest } from '../mvcc/types.js';
import { checkRequest } from '../mvcc/validate.js';
import {
  CompactedError,
  EtcdError,
  FutureRevisionError,
  InvalidRequestError,
  LeaseNotFoundError,
  MemberNotFoundError,
  NoLeaderError,
  RequestTooLargeError,
} from './errors.js';
import { memberHexId } from './ids.js';
import {
  ETCD_VERSION,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseTimeToLiveResponse,
  type Member,
  Methods,
  type ResponseHeader,
  type StatusResponse,
} from './protocol.js';

/** Sends a lease request to the leader when this member is not it (lease clocks live on the leader). */
export type LeaderForwarder = (leader: string, method: string, body: unknown, timeoutMs: number) => Promise<unknown>;

function fields(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError(`${what}: request must be an object`);
  }
  return body as Record<string, unknown>;
}

function intField(f: Record<string, unknown>, name: string, what: string, opts: { min?: number } = {}): number {
  const v = f[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (opts.min ?? 0)) {
    throw new InvalidRequestError(`${what}: ${name} must be an integer >= ${opts.min ?? 0}`);
  }
  return v;
}

/** Turns store errors into the member's typed errors (same messages etcd sends). */
function translate(err: unknown): unknown {
  if (err instanceof MvccCompactedError) return new CompactedError(err.compactRevision);
  if (err instanceof MvccFutureRevisionError) return new FutureRevisionError();
  if (err instanceof MvccLeaseNotFoundError) return new LeaseNotFoundError();
  return err;
}

/**
 * The client-facing RPC service of one member: etcd's KV, Lease, Cluster and Maintenance services
 * mapped onto wire methods (Watch lives in watch-service.ts). Every input is validated before it can
 * reach Raft; errors go back typed and the member keeps serving.
 */
export class EtcdService {
  constructor(
    private readonly server: EtcdServer,
    private readonly forward: LeaderForwarder,
    private readonly log: Logger,
    private readonly version = ETCD_VERSION,
  ) {}

  header(revision = this.server.store.revision): ResponseHeader {
    return {
      clusterId: this.server.clusterId,
      memberId: this.server.memberId,
      revision,
      raftTerm: this.server.raftTerm,
    };
  }

  private withHeader<T extends { header: { revision: number } }>(
    res: T,
  ): Omit<T, 'header'> & { header: ResponseHeader } {
    return { ...res, header: this.header(res.header.revision) };
  }

  register(router: Router): void {
    const wrap =
      <T>(method: string, fn: (body: unknown) => Promise<T> | T) =>
      async (body: unknown): Promise<T> => {
        try {
          return await fn(body);
        } catch (err) {
          const e = translate(err);
          if (!isKemuError(e)) this.log.error({ err: e, method }, 'request failed unexpectedly');
          throw e instanceof KemuError ? e : new EtcdError('ETCD_INTERNAL', `etcdserver: ${(e as Error).message}`);
        }
      };
    router.handle(
      Methods.range,
      wrap(Methods.range, (b) => this.range(b)),
    );
    router.handle(
      Methods.put,
      wrap(Methods.put, (b) => this.write(b, 'put')),
    );
    router.handle(
      Methods.deleteRange,
      wrap(Methods.deleteRange, (b) => this.write(b, 'deleteRange')),
    );
    router.handle(
      Methods.txn,
      wrap(Methods.txn, (b) => this.txn(b)),
    );
    router.handle(
      Methods.compact,
      wrap(Methods.compact, (b) => this.write(b, 'compact')),
    );
    router.handle(
      Methods.leaseGrant,
      wrap(Methods.leaseGrant, (b) => this.leaseGrant(b)),
    );
    router.handle(
      Methods.leaseRevoke,
      wrap(Methods.leaseRevoke, (b) => this.leaseRevoke(b)),
    );
    router.handle(
      Methods.leaseKeepAlive,
      wrap(Methods.leaseKeepAlive, (b) => this.leaseKeepAlive(b)),
    );
    router.handle(
      Methods.leaseTimeToLive,
      wrap(Methods.leaseTimeToLive, (b) => this.leaseTimeToLive(b)),
    );
    router.handle(
      Methods.leaseLeases,
      wrap(Methods.leaseLeases, () => this.leaseLeases()),
    );
    router.handle(
      Methods.memberList,
      wrap(Methods.memberList, () => this.memberList()),
    );
    router.handle(
      Methods.memberAdd,
      wrap(Methods.memberAdd, (b) => this.memberAdd(b)),
    );
    router.handle(
      Methods.memberRemove,
      wrap(Methods.memberRemove, (b) => this.memberRemove(b)),
    );
    router.handle(
      Methods.status,
      wrap(Methods.status, () => this.status()),
    );
  }

  // ---- KV -------------------------------------------------------------------------------------

  private checkSize(body: unknown): void {
    // A cheap upper bound first; the exact check happens on the encoded proposal.
    const b = body as { value?: unknown };
    if (b && b.value instanceof Uint8Array && b.value.byteLength > this.server.cfg.maxRequestBytes) {
      throw new RequestTooLargeError();
    }
  }

  private async range(body: unknown): Promise<unknown> {
    const { serializable, ...rest } = fields(body, 'range');
    const req = { ...rest, type: 'range' };
    checkRequest(req);
    if (req.type !== 'range') throw new InvalidRequestError('range: not a range request');
    return this.withHeader(await this.server.range(req, serializable === true));
  }

  private async write(body: unknown, type: 'put' | 'deleteRange' | 'compact'): Promise<unknown> {
    this.checkSize(body);
    const req = { ...fields(body, type), type };
    checkRequest(req);
    const res = await this.server.propose(req as EtcdRequest);
    return this.withHeader(res as EtcdResponse);
  }

  private async txn(body: unknown): Promise<unknown> {
    const raw = { ...fields(body, 'txn'), type: 'txn' };
    checkRequest(raw);
    const req = raw as TxnRequest;
    const readOnly = [...req.success, ...req.failure].every((op) => op.type === 'range');
    if (readOnly) {
      // etcd serves read-only txns without a proposal, after a linearizable barrier.
      await this.server.linearizableBarrier();
      return this.withHeader(this.server.store.apply(req));
    }
    return this.withHeader((await this.server.propose(req)) as EtcdResponse);
  }

  // ---- Lease ----------------------------------------------------------------------------------

  private async leaseGrant(body: unknown): Promise<LeaseGrantResponse> {
    const f = fields(body, 'lease grant');
    const ttl = intField(f, 'ttl', 'lease grant');
    let id = f.id === undefined || f.id === 0 ? 0 : intField(f, 'id', 'lease grant', { min: 1 });
    // etcd picks lease ids on the proposing member; random 48-bit ids make collisions negligible.
    if (id === 0) id = 1 + Math.floor(Math.random() * 2 ** 47);
    const res = (await this.server.propose({ type: 'leaseGrant', id, ttl })) as {
      id: number;
      ttl: number;
      header: { revision: number };
    };
    return { header: this.header(res.header.revision), id: res.id, ttl: res.ttl };
  }

  private async leaseRevoke(body: unknown): Promise<unknown> {
    const id = intField(fields(body, 'lease revoke'), 'id', 'lease revoke', { min: 1 });
    const res = (await this.server.propose({ type: 'leaseRevoke', id })) as EtcdResponse;
    return this.withHeader(res);
  }

  private async onLeader<T>(method: string, body: unknown, local: () => T): Promise<T> {
    if (this.server.isLeader) return local();
    const leader = await this.server.waitForLeader(this.server.leaderWaitMs());
    if (leader === this.server.cfg.name) return local();
    return (await this.forward(leader, method, body, this.server.cfg.requestTimeoutMs)) as T;
  }

  private async leaseKeepAlive(body: unknown): Promise<LeaseKeepAliveResponse> {
    const id = intField(fields(body, 'lease keepalive'), 'id', 'lease keepalive', { min: 1 });
    return this.onLeader(Methods.leaseKeepAlive, body, () => {
      try {
        return { header: this.header(), id, ttl: this.server.keepAlive(id) };
      } catch (err) {
        if (err instanceof LeaseNotFoundError) return { header: this.header(), id, ttl: 0 };
        throw err;
      }
    });
  }

  private async leaseTimeToLive(body: unknown): Promise<LeaseTimeToLiveResponse> {
    const f = fields(body, 'lease timetolive');
    const id = intField(f, 'id', 'lease timetolive', { min: 1 });
    return this.onLeader(Methods.leaseTimeToLive, body, () => {
      const info = this.server.store.leases().find((l) => l.id === id);
      if (!info) return { header: this.header(), id, ttl: -1, grantedTtl: 0, keys: [] };
      const keys = f.keys === true ? this.server.store.leaseTimeToLive(id).keys : [];
      return { header: this.header(), id, ttl: this.server.remainingTtl(id), grantedTtl: info.ttl, keys };
    });
  }

  private async leaseLeases(): Promise<unknown> {
    await this.server.linearizableBarrier();
    return { header: this.header(), leases: this.server.store.leases().map((l) => ({ id: l.id })) };
  }

  // ---- Cluster --------------------------------------------------------------------------------

  private members(): Member[] {
    return this.server.memberList().map((m) => this.server.describeMember(m));
  }

  private memberList(): unknown {
    return { header: this.header(), members: this.members() };
  }

  private async memberAdd(body: unknown): Promise<unknown> {
    const f = fields(body, 'member add');
    const name = typeof f.name === 'string' && f.name !== '' ? f.name : undefined;
    const urls = Array.isArray(f.peerUrls) ? f.peerUrls.filter((u): u is string => typeof u === 'string') : [];
    if (!name) throw new InvalidRequestError('member add: name is required');
    if (urls.length !== 1 || !/^ws:\/\/[^/\s]+:\d+$/.test(urls[0]!)) {
      throw new InvalidRequestError('member add: exactly one peer URL of the form ws://HOST:PORT is required');
    }
    const members = await this.server.addMember(name, urls[0]!, f.isLearner === true);
    const member = members.find((m) => m.name === name) ?? {
      id: memberHexId(name),
      name,
      peerUrls: urls,
      clientUrls: urls,
      isLearner: f.isLearner === true,
    };
    return { header: this.header(), member, members };
  }

  private async memberRemove(body: unknown): Promise<unknown> {
    const f = fields(body, 'member remove');
    const id = typeof f.id === 'string' ? f.id : '';
    const target = this.server.memberList().find((m) => m.name === id || memberHexId(m.name) === id);
    if (!target) throw new MemberNotFoundError();
    const members = await this.server.removeMember(target.name);
    return { header: this.header(), members };
  }

  // ---- Maintenance ----------------------------------------------------------------------------

  private status(): StatusResponse {
    const lead = this.server.leader;
    return {
      header: this.header(),
      version: this.version,
      dbSize: this.server.approximateDbSize(),
      leader: lead ? memberHexId(lead) : '',
      leaderName: lead ?? '',
      raftIndex: this.server.raftIndex,
      raftTerm: this.server.raftTerm,
      raftAppliedIndex: this.server.appliedRaftIndex,
      isLearner: false,
      errors: lead ? [] : [new NoLeaderError().message],
      name: this.server.cfg.name,
      leaderClientUrl: lead ? (this.server.memberUrl(lead) ?? '') : '',
    };
  }
}
