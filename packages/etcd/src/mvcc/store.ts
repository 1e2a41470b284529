/**
 * The etcd state machine: a pure, deterministic multi-version key-value store. Every member
 * applies the same committed requests in the same order and so holds byte-identical state; there
 * is no clock, randomness or I/O in here (lease expiry is decided outside, see lease-expiry.ts).
 *
 * Revision semantics follow etcd's mvcc: the store revision starts at 1; each request that writes
 * bumps it once, and every write of that request shares the new revision with increasing
 * sub-revisions. A request that writes nothing (a read-only txn, a delete matching no key) does
 * not bump it.
 */
import { type Bytes, bytesToKey, compareBytes, EMPTY_BYTES, ownedBytes } from './bytes.js';
import { decodeSnapshot, encodeSnapshot, hashRecords, hashSnapshot, type SnapshotState } from './codec.js';
import {
  DuplicateKeyError,
  InvalidRequestError,
  KeyNotFoundError,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseProvidedError,
  LeaseTtlTooLargeError,
  MvccCompactedError,
  MvccFutureRevisionError,
  ReentrantWriteError,
  TooManyOpsError,
  ValueProvidedError,
} from './errors.js';
import { KeyIndex, KvRecord } from './key-index.js';
import { type KeySpan, spanContains, spanIsEmpty, spanOf } from './key-span.js';
import { KeyTree } from './key-tree.js';
import type {
  CompactResponse,
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  EtcdRequest,
  EtcdResponse,
  KeyValue,
  LeaseCheckpointRequest,
  LeaseCheckpointResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseInfo,
  LeaseRevokeResponse,
  LeaseTimeToLive,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseFor,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from './types.js';
import { checkRequest } from './validate.js';

/** etcd's MaxLeaseTTL (seconds). */
export const MAX_LEASE_TTL = 9_000_000_000;
/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;

export interface MvccStoreOptions {
  /**
   * Grants below this many seconds are raised to it. etcd uses ceil(3 × election timeout / 1 s);
   * it must be the same on every member.
   */
  minLeaseTtl?: number;
  /** Max compares/ops per txn branch (etcd's --max-txn-ops, default 128). */
  maxTxnOps?: number;
}

/** Observes committed changes; the watch hub is the main listener. Called synchronously. */
export interface ApplyOptions {
  /** Keep put values without copying them (see `MvccStore.apply`). */
  adoptValues?: boolean;
}

export interface StoreListener {
  /** The writes of one revision, in sub-revision order. */
  committed?(revision: number, records: readonly KvRecord[]): void;
  compacted?(revision: number): void;
  /** The whole state was replaced from a snapshot. */
  restored?(): void;
}

interface Lease {
  id: number;
  ttl: number;
  remainingTtl: number;
  /** latin1 keys whose current version is attached to this lease. */
  keys: Set<string>;
}

/** The writes of one request in progress. */
class WriteBatch {
  sub = 0;
  readonly records: KvRecord[] = [];
  constructor(readonly revision: number) {}
}

export class MvccStore {
  private tree = new KeyTree();
  private currentRev = 1;
  private compactRev = 0;
  /** Every record with modRevision ≥ compactRev, in (revision, sub) order: the watch history. */
  private log: KvRecord[] = [];
  private leaseMap = new Map<number, Lease>();
  private readonly listeners = new Set<StoreListener>();
  private notifying = false;
  /** Set for the duration of one `apply` with `adoptValues` (see there). */
  private adoptValues = false;
  private readonly minLeaseTtl: number;
  private readonly maxTxnOps: number;

  constructor(options: MvccStoreOptions = {}) {
    this.minLeaseTtl = options.minLeaseTtl ?? 1;
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
  }

  /** Rebuilds a store from `serialize()` output. */
  static restore(bytes: Uint8Array, options: MvccStoreOptions = {}): MvccStore {
    const store = new MvccStore(options);
    store.load(decodeSnapshot(bytes));
    return store;
  }

  get revision(): number {
    return this.currentRev;
  }

  get compactRevision(): number {
    return this.compactRev;
  }

  /** Keys in the index, including deleted keys whose tombstones are not compacted yet. */
  get indexedKeys(): number {
    return this.tree.size;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies one committed request. Throws a KemuError, with the store unchanged, if it is invalid.
   * With `adoptValues`, put values are kept as they are instead of copied: for requests decoded from
   * a Raft entry that owns its exact-size buffer, so the log and the store share one copy of each
   * value (the entry stays pinned by the value after the log is compacted, a few dozen bytes more
   * than the value itself). Never for buffers a caller may reuse or views into larger ones.
   */
  apply<R extends EtcdRequest>(req: R, opts?: ApplyOptions): ResponseFor<R>;
  apply(req: EtcdRequest, opts?: ApplyOptions): EtcdResponse {
    checkRequest(req);
    if (req.type !== 'range') this.checkNotReentrant();
    this.adoptValues = opts?.adoptValues === true;
    try {
      return this.applyChecked(req);
    } finally {
      this.adoptValues = false;
    }
  }

  private applyChecked(req: EtcdRequest): EtcdResponse {
    switch (req.type) {
      case 'range':
        return this.range(req);
      case 'put':
      case 'deleteRange':
      case 'txn':
        return this.write(req);
      case 'compact':
        return this.compact(req.revision);
      case 'leaseGrant':
        return this.leaseGrant(req);
      case 'leaseRevoke':
        return this.leaseRevoke(req.id);
      case 'leaseCheckpoint':
        return this.leaseCheckpoint(req);
    }
  }

  /** A read (served locally after ReadIndex, or serializable). */
  range(req: RangeRequest): RangeResponse {
    checkRequest(req);
    this.checkReadRevision(req.revision ?? 0, this.currentRev);
    return this.rangeAt(req, this.currentRev, { revision: this.currentRev });
  }

  /** Convenience point read: the live key at `revision` (0 = current). */
  get(key: Bytes, revision = 0): KeyValue | undefined {
    return this.range({ type: 'range', key, revision }).kvs[0];
  }

  // ---- writes ------------------------------------------------------------------------------

  private write(req: PutRequest | DeleteRangeRequest | TxnRequest): PutResponse | DeleteRangeResponse | TxnResponse {
    const op: TxnRequest = { type: 'txn', compare: [], success: [req], failure: [] };
    if (req.type === 'txn') checkTxnSize(req, this.maxTxnOps);
    const path: boolean[] = [];
    this.choosePath(op, path);
    this.checkOps(op.success, path, { i: 1 });
    const header: ResponseHeader = { revision: this.currentRev };
    const batch = new WriteBatch(this.currentRev + 1);
    const resp = this.execOp(req, batch, path, { i: 1 }, header);
    this.commit(batch, header);
    return resp as PutResponse | DeleteRangeResponse | TxnResponse;
  }

  private commit(batch: WriteBatch, header: ResponseHeader): void {
    if (batch.records.length === 0) return;
    this.currentRev = batch.revision;
    header.revision = batch.revision;
    this.notifying = true;
    try {
      for (const l of this.listeners) l.committed?.(batch.revision, batch.records);
    } finally {
      this.notifying = false;
    }
  }

  /** A listener writing from inside a commit notification would interleave revisions. */
  private checkNotReentrant(): void {
    if (this.notifying) throw new ReentrantWriteError();
  }

  private execOp(
    op: RequestOp,
    batch: WriteBatch,
    path: boolean[],
    cursor: { i: number },
    header: ResponseHeader,
  ): ResponseOp {
    switch (op.type) {
      case 'range': {
        const readRev = batch.records.length > 0 ? batch.revision : this.currentRev;
        return this.rangeAt(op, readRev, header);
      }
      case 'put':
        return this.put(op, batch, header);
      case 'deleteRange':
        return this.deleteRange(op, batch, header);
      case 'txn': {
        const succeeded = path[cursor.i++]!;
        const responses: ResponseOp[] = [];
        for (const sub of succeeded ? op.success : op.failure) {
          responses.push(this.execOp(sub, batch, path, cursor, header));
        }
        return { type: 'txn', header, succeeded, responses };
      }
    }
  }

  private put(req: PutRequest, batch: WriteBatch, header: ResponseHeader): PutResponse {
    const key = bytesToKey(req.key);
    let ki = this.tree.get(key);
    const prev = liveLatest(ki);
    // checkOps guaranteed `prev` exists when ignoreValue/ignoreLease is set.
    const value = req.ignoreValue ? prev!.value : this.adoptValues ? req.value : ownedBytes(req.value);
    const lease = req.ignoreLease ? prev!.lease : (req.lease ?? 0);
    if (ki === undefined) {
      ki = new KeyIndex(key);
      this.tree.insert(ki);
    }
    const rec = new KvRecord(
      ki,
      batch.revision,
      batch.sub++,
      prev ? prev.createRevision : batch.revision,
      prev ? prev.version + 1 : 1,
      value,
      lease,
    );
    this.append(ki, rec, batch);
    if (prev && prev.lease !== 0 && prev.lease !== lease) this.leaseMap.get(prev.lease)?.keys.delete(key);
    if (lease !== 0) this.leaseMap.get(lease)!.keys.add(key);
    const resp: PutResponse = { type: 'put', header };
    if (req.prevKv && prev) resp.prevKv = toKeyValue(prev, false);
    return resp;
  }

  private deleteRange(req: DeleteRangeRequest, batch: WriteBatch, header: ResponseHeader): DeleteRangeResponse {
    const victims: KvRecord[] = [];
    this.eachKey(spanOf(req.key, req.rangeEnd), (ki) => {
      const prev = liveLatest(ki);
      if (prev) victims.push(prev);
    });
    for (const prev of victims) this.tombstone(prev, batch);
    const resp: DeleteRangeResponse = { type: 'deleteRange', header, deleted: victims.length };
    if (req.prevKv) resp.prevKvs = victims.map((r) => toKeyValue(r, false));
    return resp;
  }

  private tombstone(prev: KvRecord, batch: WriteBatch): void {
    const ki = prev.owner;
    this.append(ki, new KvRecord(ki, batch.revision, batch.sub++, 0, 0, EMPTY_BYTES, 0), batch);
    if (prev.lease !== 0) this.leaseMap.get(prev.lease)?.keys.delete(ki.key);
  }

  private append(ki: KeyIndex, rec: KvRecord, batch: WriteBatch): void {
    ki.append(rec);
    batch.records.push(rec);
    this.log.push(rec);
  }

  // ---- txn: choose the path, check it, then execute (so a failing check changes nothing) ----

  /** Evaluates every compare on the pre-txn state, recording the branch taken, depth first. */
  private choosePath(txn: TxnRequest, path: boolean[]): void {
    const succeeded = txn.compare.every((c) => this.compareHolds(c));
    path.push(succeeded);
    for (const op of succeeded ? txn.success : txn.failure) {
      if (op.type === 'txn') this.choosePath(op, path);
    }
  }

  /** etcd's checkRequests along the chosen path, plus its duplicate-key check on the whole txn. */
  private checkOps(ops: RequestOp[], path: boolean[], cursor: { i: number }): void {
    writeIntervals(ops);
    for (const op of ops) {
      switch (op.type) {
        case 'range':
          this.checkReadRevision(op.revision ?? 0, this.currentRev);
          break;
        case 'put': {
          if (op.ignoreValue && op.value.byteLength > 0) throw new ValueProvidedError();
          if (op.ignoreLease && (op.lease ?? 0) !== 0) throw new LeaseProvidedError();
          const lease = op.lease ?? 0;
          if (lease !== 0 && !this.leaseMap.has(lease)) throw new LeaseNotFoundError(lease);
          if ((op.ignoreValue || op.ignoreLease) && !liveLatest(this.tree.get(bytesToKey(op.key)))) {
            throw new KeyNotFoundError();
          }
          break;
        }
        case 'deleteRange':
          break;
        case 'txn': {
          const succeeded = path[cursor.i++]!;
          this.checkOps(succeeded ? op.success : op.failure, path, cursor);
          break;
        }
      }
    }
  }

  private compareHolds(c: Compare): boolean {
    const span = spanOf(c.key, c.rangeEnd);
    let any = false;
    let holds = true;
    this.eachKey(span, (ki) => {
      const rec = liveLatest(ki);
      if (!rec) return;
      any = true;
      holds = compareRecord(c, rec);
      return holds;
    });
    if (any) return holds;
    // etcd: an absent key has zero version/revisions/lease, and no value to compare.
    return c.target !== 'value' && compareRecord(c, undefined);
  }

  // ---- reads -------------------------------------------------------------------------------

  private checkReadRevision(revision: number, current: number): void {
    if (revision > current) throw new MvccFutureRevisionError(revision, current);
    if (revision > 0 && revision < this.compactRev) throw new MvccCompactedError(this.compactRev);
  }

  /** Range at `req.revision` or `defaultRev`; revision already checked. */
  private rangeAt(req: RangeRequest, defaultRev: number, header: ResponseHeader): RangeResponse {
    const rev = req.revision || defaultRev;
    const limit = req.limit ?? 0;
    const postFilter =
      (req.sortOrder !== undefined && req.sortOrder !== 'none') ||
      (req.sortTarget !== undefined && req.sortTarget !== 'key') ||
      !!req.minModRevision ||
      !!req.maxModRevision ||
      !!req.minCreateRevision ||
      !!req.maxCreateRevision;
    // Without sorting or filtering only limit+1 kvs are built (the extra one sets `more`).
    const fetch = postFilter || limit === 0 ? Number.POSITIVE_INFINITY : limit + 1;
    const keysOnly = req.keysOnly === true;
    const recs: KvRecord[] = [];
    let count = 0;
    const countOnly = req.countOnly === true;
    this.eachKey(spanOf(req.key, req.rangeEnd), (ki) => {
      const rec = ki.at(rev);
      if (!rec) return;
      count++;
      if (!countOnly && recs.length < fetch) recs.push(rec);
    });
    let kept = recs;
    if (postFilter) {
      kept = recs.filter(
        (r) =>
          !(req.minModRevision && r.modRevision < req.minModRevision) &&
          !(req.maxModRevision && r.modRevision > req.maxModRevision) &&
          !(req.minCreateRevision && r.createRevision < req.minCreateRevision) &&
          !(req.maxCreateRevision && r.createRevision > req.maxCreateRevision),
      );
      sortRecords(kept, req);
    }
    let more = false;
    if (limit > 0 && kept.length > limit) {
      kept = kept.slice(0, limit);
      more = true;
    }
    return { type: 'range', header, kvs: kept.map((r) => toKeyValue(r, keysOnly)), more, count };
  }

  /** Visits the indexed keys of a span in order until `visit` returns false. */
  private eachKey(span: KeySpan, visit: (ki: KeyIndex) => unknown): void {
    if (span.single) {
      const ki = this.tree.get(span.start);
      if (ki) visit(ki);
      return;
    }
    if (!spanIsEmpty(span)) this.tree.forEachInRange(span.start, span.end, visit);
  }

  // ---- compaction --------------------------------------------------------------------------

  /** Drops history below `revision`; reads and watches below it fail with ErrCompacted after. */
  compact(revision: number): CompactResponse {
    checkRequest({ type: 'compact', revision });
    this.checkNotReentrant();
    if (revision <= this.compactRev) throw new MvccCompactedError(this.compactRev);
    if (revision > this.currentRev) throw new MvccFutureRevisionError(revision, this.currentRev);
    this.tree.removeWhere((ki) => ki.compact(revision));
    this.log.splice(0, firstLogIndexAt(this.log, revision));
    this.compactRev = revision;
    for (const l of this.listeners) l.compacted?.(revision);
    return { type: 'compact', header: { revision: this.currentRev } };
  }

  // ---- leases ------------------------------------------------------------------------------

  private leaseGrant(req: LeaseGrantRequest): LeaseGrantResponse {
    if (req.id === 0) throw new InvalidRequestError('lease id must be > 0 (the proposing member picks it)');
    if (this.leaseMap.has(req.id)) throw new LeaseExistsError(req.id);
    if (req.ttl > MAX_LEASE_TTL) throw new LeaseTtlTooLargeError(req.ttl);
    const ttl = Math.max(req.ttl, this.minLeaseTtl);
    this.leaseMap.set(req.id, { id: req.id, ttl, remainingTtl: 0, keys: new Set() });
    return { type: 'leaseGrant', header: { revision: this.currentRev }, id: req.id, ttl };
  }

  /** Deletes the lease and, in one revision, every key attached to it (in key order). */
  private leaseRevoke(id: number): LeaseRevokeResponse {
    const lease = this.leaseMap.get(id);
    if (!lease) throw new LeaseNotFoundError(id);
    const header: ResponseHeader = { revision: this.currentRev };
    const batch = new WriteBatch(this.currentRev + 1);
    for (const key of [...lease.keys].sort()) {
      const prev = liveLatest(this.tree.get(key));
      if (prev) this.tombstone(prev, batch);
    }
    this.leaseMap.delete(id);
    this.commit(batch, header);
    return { type: 'leaseRevoke', header };
  }

  private leaseCheckpoint(req: LeaseCheckpointRequest): LeaseCheckpointResponse {
    for (const cp of req.checkpoints) {
      const lease = this.leaseMap.get(cp.id);
      if (lease) lease.remainingTtl = cp.remainingTtl;
    }
    return { type: 'leaseCheckpoint', header: { revision: this.currentRev } };
  }

  /** All leases in id order (etcd's LeaseLeases). */
  leases(): LeaseInfo[] {
    return [...this.leaseMap.values()]
      .map(({ id, ttl, remainingTtl }) => ({ id, ttl, remainingTtl }))
      .sort((a, b) => a.id - b.id);
  }

  /** Granted TTL and attached keys (etcd's LeaseTimeToLive minus the clock-derived remaining TTL). */
  leaseTimeToLive(id: number): LeaseTimeToLive {
    const lease = this.leaseMap.get(id);
    if (!lease) throw new LeaseNotFoundError(id);
    const keys = [...lease.keys].sort().map((k) => this.tree.get(k)!.keyBytes);
    return { id, ttl: lease.ttl, remainingTtl: lease.remainingTtl, keys };
  }

  // ---- history for the watch hub -----------------------------------------------------------

  /**
   * The watch history: every stored version from the compacted revision on, in (revision, sub)
   * order, and the position of the first one at or after `fromRev`. Read-only for callers, and
   * valid only until the next write.
   */
  historyFrom(fromRev: number): { records: readonly KvRecord[]; start: number } {
    return { records: this.log, start: firstLogIndexAt(this.log, fromRev) };
  }

  // ---- snapshot ----------------------------------------------------------------------------

  /** The whole state (history from the compacted revision on, leases) in a deterministic encoding. */
  serialize(): Uint8Array {
    return encodeSnapshot(this.snapshotState());
  }

  /** Replaces this store's state with a snapshot's; listeners get `restored`. */
  restoreFrom(bytes: Uint8Array): void {
    this.checkNotReentrant();
    this.load(decodeSnapshot(bytes));
    for (const l of this.listeners) l.restored?.();
  }

  /** crc32 of the canonical encoding of the whole state: equal on members with equal state. */
  hash(): number {
    return hashSnapshot(this.snapshotState());
  }

  /**
   * etcd's HashKV: crc32 over every stored version with modRevision ≤ `revision` (0 = current),
   * so members at different revisions can be compared at a common one.
   */
  hashKV(revision = 0): { hash: number; revision: number; compactRevision: number } {
    const rev = revision || this.currentRev;
    this.checkReadRevision(rev, this.currentRev);
    return {
      hash: hashRecords(this.tree.all(), rev, this.compactRev),
      revision: rev,
      compactRevision: this.compactRev,
    };
  }

  private snapshotState(): SnapshotState {
    return {
      currentRevision: this.currentRev,
      compactRevision: this.compactRev,
      leases: this.leases(),
      keys: this.tree.all(),
    };
  }

  private load(state: SnapshotState): void {
    const keys = [...state.keys];
    const tree = KeyTree.fromSorted(keys);
    const log: KvRecord[] = [];
    const leaseMap = new Map<number, Lease>();
    for (const l of state.leases) leaseMap.set(l.id, { ...l, keys: new Set() });
    for (const ki of keys) {
      for (const rec of ki.records) if (rec.modRevision >= state.compactRevision) log.push(rec);
      const live = liveLatest(ki);
      if (live && live.lease !== 0) leaseMap.get(live.lease)?.keys.add(ki.key);
    }
    log.sort((a, b) => a.modRevision - b.modRevision || a.sub - b.sub);
    this.tree = tree;
    this.log = log;
    this.leaseMap = leaseMap;
    this.currentRev = state.currentRevision;
    this.compactRev = state.compactRevision;
  }
}

function liveLatest(ki: KeyIndex | undefined): KvRecord | undefined {
  const rec = ki?.latest();
  return rec && !rec.isTombstone ? rec : undefined;
}

export function toKeyValue(rec: KvRecord, keysOnly: boolean): KeyValue {
  return {
    key: rec.owner.keyBytes,
    createRevision: rec.createRevision,
    modRevision: rec.modRevision,
    version: rec.version,
    value: keysOnly ? EMPTY_BYTES : rec.value,
    lease: rec.lease,
  };
}

function firstLogIndexAt(log: readonly KvRecord[], revision: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.modRevision < revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function compareRecord(c: Compare, rec: KvRecord | undefined): boolean {
  let r: number;
  switch (c.target) {
    case 'value':
      r = compareBytes(rec?.value ?? EMPTY_BYTES, c.value);
      break;
    case 'version':
      r = (rec?.version ?? 0) - c.version;
      break;
    case 'create':
      r = (rec?.createRevision ?? 0) - c.createRevision;
      break;
    case 'mod':
      r = (rec?.modRevision ?? 0) - c.modRevision;
      break;
    case 'lease':
      r = (rec?.lease ?? 0) - c.lease;
      break;
  }
  switch (c.result) {
    case 'equal':
      return r === 0;
    case 'notEqual':
      return r !== 0;
    case 'less':
      return r < 0;
    case 'greater':
      return r > 0;
  }
}

/** etcd's sort rules: results are already ascending by key, so only other orders need a sort. */
function sortRecords(recs: KvRecord[], req: RangeRequest): void {
  const target = req.sortTarget ?? 'key';
  let order = req.sortOrder ?? 'none';
  if (target !== 'key' && order === 'none') order = 'ascend';
  else if (target === 'key' && order === 'ascend') order = 'none';
  if (order === 'none') return;
  const sign = order === 'ascend' ? 1 : -1;
  const by = (a: KvRecord, b: KvRecord): number => {
    switch (target) {
      case 'key':
        return a.owner.key < b.owner.key ? -1 : a.owner.key > b.owner.key ? 1 : 0;
      case 'version':
        return a.version - b.version;
      case 'create':
        return a.createRevision - b.createRevision;
      case 'mod':
        return a.modRevision - b.modRevision;
      case 'value':
        return compareBytes(a.value, b.value);
    }
  };
  recs.sort((a, b) => sign * by(a, b));
}

/** etcd's --max-txn-ops, over the whole txn tree (a static check, like etcd's gRPC validation). */
function checkTxnSize(txn: TxnRequest, max: number): void {
  if (txn.compare.length > max || txn.success.length > max || txn.failure.length > max) {
    throw new TooManyOpsError(max);
  }
  for (const op of [...txn.success, ...txn.failure]) if (op.type === 'txn') checkTxnSize(op, max);
}

/**
 * etcd's checkIntervals: within one branch, no key may be put twice and no put may fall inside a
 * deleted range, counting nested txns (whose two branches are alternatives, so they may overlap
 * each other). Returns the branch's puts and deletes for the enclosing txn's check.
 */
function writeIntervals(ops: RequestOp[]): { puts: Set<string>; dels: KeySpan[] } {
  const puts = new Set<string>();
  const dels: KeySpan[] = [];
  const addPut = (key: string): void => {
    if (puts.has(key)) throw new DuplicateKeyError();
    puts.add(key);
  };
  for (const op of ops) {
    if (op.type === 'put') addPut(bytesToKey(op.key));
    else if (op.type === 'deleteRange') dels.push(spanOf(op.key, op.rangeEnd));
    else if (op.type === 'txn') {
      const s = writeIntervals(op.success);
      const f = writeIntervals(op.failure);
      for (const key of new Set([...s.puts, ...f.puts])) addPut(key);
      dels.push(...s.dels, ...f.dels);
    }
  }
  for (const key of puts) {
    if (dels.some((d) => spanContains(d, key))) throw new DuplicateKeyError();
  }
  return { puts, dels };
}
