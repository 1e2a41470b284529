/**
 * Request and response shapes, modelled on etcd's etcdserverpb/mvccpb protobufs (camelCase, byte
 * fields as Uint8Array, int64 as number: revisions and lease ids stay below 2^53). Requests are
 * plain data so the member can msgpack them into Raft entries; `type` tags every variant.
 */
import type { Bytes } from './bytes.js';

export interface KeyValue {
  key: Bytes;
  /** Revision of the put that created the key's current generation. */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
  /** Number of puts in the key's current generation (1 after creation); reset by delete. */
  version: number;
  value: Bytes;
  /** Attached lease id, 0 for none. */
  lease: number;
}

export interface ResponseHeader {
  /** The store revision when the request was applied (after its writes). */
  revision: number;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

export interface RangeRequest {
  type: 'range';
  key: Bytes;
  /** Empty/absent: just `key`. `\0`: every key ≥ key. Otherwise the half-open [key, rangeEnd). */
  rangeEnd?: Bytes;
  /** Max kvs returned; 0/absent = no limit. */
  limit?: number;
  /** Read at this revision; 0/absent = current. */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  type: 'range';
  header: ResponseHeader;
  kvs: KeyValue[];
  /** True when `limit` cut the result short. */
  more: boolean;
  /** Number of keys in the range at the read revision (before limit and revision filters). */
  count: number;
}

export interface PutRequest {
  type: 'put';
  key: Bytes;
  value: Bytes;
  lease?: number;
  prevKv?: boolean;
  /** Keep the current value (then `value` must be empty and the key must exist). */
  ignoreValue?: boolean;
  /** Keep the current lease (then `lease` must be 0 and the key must exist). */
  ignoreLease?: boolean;
}

export interface PutResponse {
  type: 'put';
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  type: 'deleteRange';
  key: Bytes;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  type: 'deleteRange';
  header: ResponseHeader;
  deleted: number;
  prevKvs?: KeyValue[];
}

export type CompareResult = 'equal' | 'notEqual' | 'less' | 'greater';

interface CompareBase {
  key: Bytes;
  /** Compare every key in [key, rangeEnd) (same conventions as range); all must satisfy it. */
  rangeEnd?: Bytes;
  result: CompareResult;
}

/**
 * A txn guard. An absent key compares as version/createRevision/modRevision/lease 0; a `value`
 * compare against an absent key is false (as etcd).
 */
export type Compare =
  | (CompareBase & { target: 'version'; version: number })
  | (CompareBase & { target: 'create'; createRevision: number })
  | (CompareBase & { target: 'mod'; modRevision: number })
  | (CompareBase & { target: 'value'; value: Bytes })
  | (CompareBase & { target: 'lease'; lease: number });

export type RequestOp = RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest;
export type ResponseOp = RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse;

export interface TxnRequest {
  type: 'txn';
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  type: 'txn';
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactRequest {
  type: 'compact';
  revision: number;
}

export interface CompactResponse {
  type: 'compact';
  header: ResponseHeader;
}

export interface LeaseGrantRequest {
  type: 'leaseGrant';
  /** Chosen by the proposing member (etcd picks ids before proposing), > 0. */
  id: number;
  /** Seconds. Raised to the store's minimum lease TTL. */
  ttl: number;
}

export interface LeaseGrantResponse {
  type: 'leaseGrant';
  header: ResponseHeader;
  id: number;
  ttl: number;
}

export interface LeaseRevokeRequest {
  type: 'leaseRevoke';
  id: number;
}

export interface LeaseRevokeResponse {
  type: 'leaseRevoke';
  header: ResponseHeader;
}

/** Persists leases' remaining TTLs so a new leader does not restart them from full (etcd ≥3.4). */
export interface LeaseCheckpointRequest {
  type: 'leaseCheckpoint';
  checkpoints: { id: number; remainingTtl: number }[];
}

export interface LeaseCheckpointResponse {
  type: 'leaseCheckpoint';
  header: ResponseHeader;
}

/** Everything a member applies from a committed Raft entry. */
export type EtcdRequest =
  | RangeRequest
  | PutRequest
  | DeleteRangeRequest
  | TxnRequest
  | CompactRequest
  | LeaseGrantRequest
  | LeaseRevokeRequest
  | LeaseCheckpointRequest;

export type EtcdResponse =
  | RangeResponse
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactResponse
  | LeaseGrantResponse
  | LeaseRevokeResponse
  | LeaseCheckpointResponse;

/** Maps a request type to its response type, so `apply` is typed per request. */
export type ResponseFor<R extends EtcdRequest> = Extract<EtcdResponse, { type: R['type'] }>;

export type EventType = 'put' | 'delete';

export interface WatchEvent {
  type: EventType;
  /** For a delete: the key with modRevision = delete revision and zero create/version/lease. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface LeaseInfo {
  id: number;
  /** Granted TTL in seconds. */
  ttl: number;
  /** Last checkpointed remaining TTL in seconds, 0 if never checkpointed. */
  remainingTtl: number;
}

export interface LeaseTimeToLive extends LeaseInfo {
  keys: Bytes[];
}
