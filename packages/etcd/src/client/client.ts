import { type Runtime, systemRuntime } from '@kemu/runtime';
import {
  CompactedError,
  EtcdError,
  LeaderChangedError,
  NoLeaderError,
  NotEnoughMembersError,
  RequestTimeoutError,
  StoppedError,
  UnavailableError,
} from '../server/errors.js';
import {
  type CompactionResponse,
  type Compare,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveResponse,
  type MemberAddResponse,
  type MemberListResponse,
  type MemberRemoveResponse,
  Methods,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
} from '../server/protocol.js';
import { type Bytes, prefixRangeEnd, toBytes } from './bytes.js';
import { ConnectionError, type ConnectionFactory, type MemberConnection } from './transport.js';
import { Watcher, type WatchOptions } from './watcher.js';

export interface EtcdClientOptions {
  /** `host:port` or `ws://host:port`, one per member (any subset of the cluster works). */
  endpoints: string[];
  /** How to open a connection to one member; defaults to the `@kemu/wire` transport. */
  connect: ConnectionFactory;
  /** Deadline for one attempt against one member (default 5 s). */
  attemptTimeoutMs?: number;
  /** Budget for a whole call including retries on other members (default 10 s). */
  callTimeoutMs?: number;
  runtime?: Runtime;
}

export interface CallOptions {
  /** Overrides the client's whole-call budget for this call. */
  timeoutMs?: number;
}

export interface RangeOptions extends CallOptions {
  prefix?: boolean;
  /** Explicit exclusive range end (overrides prefix). */
  rangeEnd?: Bytes;
  limit?: number;
  revision?: number;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface PutOptions extends CallOptions {
  lease?: number;
  prevKv?: boolean;
}

export interface DeleteOptions extends CallOptions {
  prefix?: boolean;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

/** A page of a paginated range: `nextKey` is where the next page starts, undefined at the end. */
export interface RangePage {
  kvs: KeyValue[];
  revision: number;
  count: number;
  nextKey?: Uint8Array;
}

export type CasResult =
  | { succeeded: true; revision: number }
  | { succeeded: false; revision: number; current?: KeyValue };

const LAST_ATTEMPT_MIN_MS = 1500;

/** Errors that mean "this member could not take the request; it did nothing with it". */
function isRetryableServerError(err: EtcdError): boolean {
  return err instanceof NoLeaderError || err instanceof NotEnoughMembersError || err instanceof StoppedError;
}

/**
 * An etcd v3 client over kemu's wire. It spreads over the given endpoints, prefers the leader (a
 * follower would forward writes to it anyway, one hop later), fails over when a member goes away,
 * and retries only what is safe: reads always; writes only when they certainly were not applied
 * (never sent, or refused before being proposed). Watches resume from the last revision they saw.
 */
export class EtcdClient {
  readonly endpoints: string[];
  private readonly connect: ConnectionFactory;
  private readonly conns = new Map<string, MemberConnection>();
  private readonly attemptTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly runtime: Runtime;
  private preferred = 0;
  private closed = false;
  private readonly watchers = new Set<Watcher>();

  constructor(opts: EtcdClientOptions) {
    if (opts.endpoints.length === 0) throw new UnavailableError('etcd client: no endpoints given');
    this.endpoints = opts.endpoints.map(normalizeEndpoint);
    this.connect = opts.connect;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 5000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 10000;
    this.runtime = opts.runtime ?? systemRuntime;
  }

  // ---- KV -------------------------------------------------------------------------------------

  async range(key: Bytes, opts: RangeOptions = {}): Promise<RangeResponse> {
    const k = toBytes(key);
    const req: RangeRequest = { type: 'range', key: k };
    const end = rangeEndFor(k, opts);
    if (end) req.rangeEnd = end;
    if (opts.limit) req.limit = opts.limit;
    if (opts.revision) req.revision = opts.revision;
    if (opts.serializable) req.serializable = true;
    if (opts.keysOnly) req.keysOnly = true;
    if (opts.countOnly) req.countOnly = true;
    return (await this.invoke(Methods.range, req, true, opts)) as RangeResponse;
  }

  /** The key's current value, or undefined. */
  async get(
    key: Bytes,
    opts: CallOptions & { serializable?: boolean; revision?: number } = {},
  ): Promise<KeyValue | undefined> {
    const res = await this.range(key, opts);
    return res.kvs[0];
  }

  /**
   * One page of keys under `prefix` starting at `from` (inclusive), all read at one revision: pass
   * the first page's revision to the following pages for a consistent snapshot, as the apiserver does.
   */
  async rangePage(
    prefix: Bytes,
    opts: { from?: Bytes; limit: number; revision?: number } & CallOptions,
  ): Promise<RangePage> {
    const p = toBytes(prefix);
    const start = opts.from !== undefined ? toBytes(opts.from) : p;
    const req: RangeRequest = { type: 'range', key: start, rangeEnd: prefixRangeEnd(p), limit: opts.limit };
    if (opts.revision) req.revision = opts.revision;
    const res = (await this.invoke(Methods.range, req, true, opts)) as RangeResponse;
    const page: RangePage = { kvs: res.kvs, revision: res.header.revision, count: res.count };
    const last = res.kvs[res.kvs.length - 1];
    if (res.more && last) page.nextKey = Uint8Array.of(...last.key, 0);
    return page;
  }

  async count(prefix: Bytes, opts: CallOptions = {}): Promise<number> {
    return (await this.range(prefix, { ...opts, prefix: true, countOnly: true })).count;
  }

  async put(key: Bytes, value: Bytes, opts: PutOptions = {}): Promise<PutResponse> {
    const req: PutRequest = { type: 'put', key: toBytes(key), value: toBytes(value) };
    if (opts.lease) req.lease = opts.lease;
    if (opts.prevKv) req.prevKv = true;
    return (await this.invoke(Methods.put, req, false, opts)) as PutResponse;
  }

  async delete(key: Bytes, opts: DeleteOptions = {}): Promise<DeleteRangeResponse> {
    const k = toBytes(key);
    const req: DeleteRangeRequest = { type: 'deleteRange', key: k };
    const end = rangeEndFor(k, opts);
    if (end) req.rangeEnd = end;
    if (opts.prevKv) req.prevKv = true;
    return (await this.invoke(Methods.deleteRange, req, false, opts)) as DeleteRangeResponse;
  }

  async txn(req: TxnRequest, opts: CallOptions = {}): Promise<TxnResponse> {
    const readOnly = [...req.success, ...req.failure].every((op) => op.type === 'range');
    return (await this.invoke(Methods.txn, req, readOnly, opts)) as TxnResponse;
  }

  /**
   * Compare-and-swap put on mod_revision (0 = "only if the key does not exist"), the apiserver's
   * optimistic concurrency. On failure returns the key's current state.
   */
  async putIfModRevision(key: Bytes, value: Bytes, modRevision: number, opts: PutOptions = {}): Promise<CasResult> {
    const k = toBytes(key);
    const put: RequestOp = { type: 'put', key: k, value: toBytes(value), ...(opts.lease ? { lease: opts.lease } : {}) };
    return this.cas(k, modRevision, put, opts);
  }

  /** Compare-and-swap delete on mod_revision. */
  async deleteIfModRevision(key: Bytes, modRevision: number, opts: CallOptions = {}): Promise<CasResult> {
    const k = toBytes(key);
    return this.cas(k, modRevision, { type: 'deleteRange', key: k }, opts);
  }

  private async cas(key: Uint8Array, modRevision: number, op: RequestOp, opts: CallOptions): Promise<CasResult> {
    const compare: Compare = { key, target: 'mod', result: 'equal', modRevision };
    const res = await this.txn(
      { type: 'txn', compare: [compare], success: [op], failure: [{ type: 'range', key }] },
      opts,
    );
    if (res.succeeded) return { succeeded: true, revision: res.header.revision };
    const first = res.responses[0];
    const current = first?.type === 'range' ? first.kvs[0] : undefined;
    return current
      ? { succeeded: false, revision: res.header.revision, current }
      : { succeeded: false, revision: res.header.revision };
  }

  async compact(revision: number, opts: CallOptions = {}): Promise<CompactionResponse> {
    return (await this.invoke(Methods.compact, { type: 'compact', revision }, false, opts)) as CompactionResponse;
  }

  // ---- Watch ----------------------------------------------------------------------------------

  /**
   * Watches a key or range. Iterate the returned Watcher for responses; it reconnects through other
   * members and resumes from the revision after the last one it delivered, so no event is lost or
   * repeated. A compacted start revision ends the iteration with CompactedError.
   */
  watch(key: Bytes, opts: WatchOptions = {}): Watcher {
    const k = toBytes(key);
    const w = new Watcher(
      k,
      rangeEndFor(k, opts),
      opts,
      (attempt) => this.connectionForWatch(attempt),
      this.runtime,
      () => this.watchers.delete(w),
    );
    this.watchers.add(w);
    w.start();
    return w;
  }

  // ---- Lease ----------------------------------------------------------------------------------

  async leaseGrant(ttlSeconds: number, opts: CallOptions & { id?: number } = {}): Promise<LeaseGrantResponse> {
    return (await this.invoke(
      Methods.leaseGrant,
      { ttl: ttlSeconds, id: opts.id ?? 0 },
      false,
      opts,
    )) as LeaseGrantResponse;
  }

  async leaseRevoke(id: number, opts: CallOptions = {}): Promise<LeaseRevokeResponse> {
    return (await this.invoke(Methods.leaseRevoke, { id }, true, opts)) as LeaseRevokeResponse;
  }

  /** One keep-alive round: renews the lease to its granted TTL. ttl 0 in the answer = lease gone. */
  async leaseKeepAlive(id: number, opts: CallOptions = {}): Promise<LeaseKeepAliveResponse> {
    return (await this.invoke(Methods.leaseKeepAlive, { id }, true, opts)) as LeaseKeepAliveResponse;
  }

  async leaseTimeToLive(id: number, opts: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    return (await this.invoke(
      Methods.leaseTimeToLive,
      { id, keys: opts.keys === true },
      true,
      opts,
    )) as LeaseTimeToLiveResponse;
  }

  async leaseLeases(opts: CallOptions = {}): Promise<LeaseLeasesResponse> {
    return (await this.invoke(Methods.leaseLeases, {}, true, opts)) as LeaseLeasesResponse;
  }

  // ---- Cluster / Maintenance ------------------------------------------------------------------

  async memberList(opts: CallOptions = {}): Promise<MemberListResponse> {
    return (await this.invoke(Methods.memberList, {}, true, opts)) as MemberListResponse;
  }

  async memberAdd(
    name: string,
    peerUrls: string[],
    opts: CallOptions & { isLearner?: boolean } = {},
  ): Promise<MemberAddResponse> {
    const body = { name, peerUrls, isLearner: opts.isLearner === true };
    return (await this.invoke(Methods.memberAdd, body, false, opts)) as MemberAddResponse;
  }

  async memberRemove(id: string, opts: CallOptions = {}): Promise<MemberRemoveResponse> {
    return (await this.invoke(Methods.memberRemove, { id }, false, opts)) as MemberRemoveResponse;
  }

  /** Status of one specific endpoint (no failover: the point is to ask that member). */
  async status(endpoint: string, opts: CallOptions = {}): Promise<StatusResponse> {
    const conn = this.connection(normalizeEndpoint(endpoint));
    return (await conn.call(Methods.status, {}, opts.timeoutMs ?? this.attemptTimeoutMs)) as StatusResponse;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watchers]) w.close();
    const conns = [...this.conns.values()];
    this.conns.clear();
    await Promise.allSettled(conns.map((c) => c.close()));
  }

  // ---- internals ------------------------------------------------------------------------------

  private connection(endpoint: string): MemberConnection {
    let c = this.conns.get(endpoint);
    if (!c) {
      c = this.connect(endpoint);
      this.conns.set(endpoint, c);
    }
    return c;
  }

  private connectionForWatch(attempt: number): MemberConnection {
    if (this.closed) throw new StoppedError('etcd client: closed');
    const idx = (this.preferred + attempt) % this.endpoints.length;
    return this.connection(this.endpoints[idx]!);
  }

  /**
   * Sends one request with failover. `idempotent` requests are retried on any failure; others only
   * when the failure proves they were not applied. Gives up with the last typed error at the deadline.
   */
  private async invoke(method: string, body: unknown, idempotent: boolean, opts: CallOptions): Promise<unknown> {
    if (this.closed) throw new StoppedError('etcd client: closed');
    const deadline = this.runtime.monotonic() + (opts.timeoutMs ?? this.callTimeoutMs);
    let lastErr: Error | undefined;
    let backoff = 25;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - this.runtime.monotonic();
      if (remaining <= 0) break;
      // A member without a leader waits up to about an election timeout before saying so; an
      // attempt with less time left than that would only turn a clear "no leader" into a timeout.
      if (lastErr instanceof EtcdError && remaining < LAST_ATTEMPT_MIN_MS) break;
      const idx = this.preferred % this.endpoints.length;
      const endpoint = this.endpoints[idx]!;
      try {
        const out = await this.connection(endpoint).call(method, body, Math.min(remaining, this.attemptTimeoutMs));
        return out;
      } catch (err) {
        if (err instanceof EtcdError) {
          const retryRead = idempotent && (err instanceof LeaderChangedError || err instanceof RequestTimeoutError);
          if (!isRetryableServerError(err) && !retryRead) {
            if (err instanceof RequestTimeoutError) this.preferred = idx + 1;
            throw err;
          }
          lastErr = err;
        } else if (err instanceof ConnectionError) {
          if (err.sent && !idempotent) {
            this.preferred = idx + 1;
            throw err.timedOut
              ? new RequestTimeoutError(`etcdserver: request timed out (result unknown: ${err.message})`)
              : new UnavailableError(`etcd client: connection to ${endpoint} lost after sending; result unknown`);
          }
          lastErr = err;
        } else {
          throw err;
        }
        // Move on to the next member; after a full round, back off a little.
        this.preferred = idx + 1;
        if ((attempt + 1) % this.endpoints.length === 0) {
          const wait = Math.min(backoff, Math.max(0, deadline - this.runtime.monotonic()));
          await new Promise<void>((r) => this.runtime.setTimeout(r, wait));
          backoff = Math.min(backoff * 2, 500);
        }
      }
    }
    if (lastErr instanceof EtcdError) throw lastErr;
    if (lastErr instanceof ConnectionError && lastErr.timedOut) {
      throw new RequestTimeoutError(`etcdserver: request timed out (${lastErr.message})`);
    }
    throw new UnavailableError(
      `etcd client: no member reachable (${this.endpoints.join(', ')})${lastErr ? `: ${lastErr.message}` : ''}`,
    );
  }

  /** Points the client at the current leader by asking every endpoint's status. Best effort. */
  async findLeader(timeoutMs = 1000): Promise<string | undefined> {
    const answers = await Promise.allSettled(
      this.endpoints.map((e) => this.connection(e).call(Methods.status, {}, timeoutMs) as Promise<StatusResponse>),
    );
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i]!;
      if (a.status === 'fulfilled' && a.value.leader !== '' && a.value.leader === a.value.header.memberId) {
        this.preferred = i;
        return this.endpoints[i];
      }
    }
    return undefined;
  }
}

export function normalizeEndpoint(e: string): string {
  const s = e.trim();
  if (s.startsWith('ws://')) return s.replace(/\/+$/, '');
  if (s.startsWith('http://')) return `ws://${s.slice('http://'.length).replace(/\/+$/, '')}`;
  return `ws://${s}`;
}

function rangeEndFor(key: Uint8Array, opts: { prefix?: boolean; rangeEnd?: Bytes }): Uint8Array | undefined {
  if (opts.rangeEnd !== undefined) return toBytes(opts.rangeEnd);
  if (opts.prefix) return key.length === 0 ? new Uint8Array([0]) : prefixRangeEnd(key);
  return undefined;
}

export { CompactedError };
