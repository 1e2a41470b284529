import type * as mvcc from '../mvcc/types.js';

/**
 * The etcd member's client protocol: method names and message shapes, modelled on etcd's v3 gRPC
 * API (KV, Watch, Lease, Cluster, Maintenance). Field names are etcd's, in camelCase. Keys and values
 * are bytes (`Uint8Array`; msgpack carries them as binary). KV requests are the MVCC store's own
 * request types (tagged with `type`), so a member proposes exactly what the client sent. Revisions, ids and counts are numbers:
 * they stay far below 2^53 in an emulator.
 */

export const Methods = {
  range: 'KV.Range',
  put: 'KV.Put',
  deleteRange: 'KV.DeleteRange',
  txn: 'KV.Txn',
  compact: 'KV.Compact',
  /** Server-push stream of WatchResponse; the request is a WatchCreateRequest. Cancel = cancel the stream. */
  watch: 'Watch.Watch',
  /** Asks the member to send a progress notification on every open watch stream of this connection. */
  watchProgress: 'Watch.Progress',
  leaseGrant: 'Lease.LeaseGrant',
  leaseRevoke: 'Lease.LeaseRevoke',
  leaseKeepAlive: 'Lease.LeaseKeepAlive',
  leaseTimeToLive: 'Lease.LeaseTimeToLive',
  leaseLeases: 'Lease.LeaseLeases',
  memberList: 'Cluster.MemberList',
  memberAdd: 'Cluster.MemberAdd',
  memberRemove: 'Cluster.MemberRemove',
  status: 'Maintenance.Status',
} as const;

export type MethodName = (typeof Methods)[keyof typeof Methods];

/** Same limit and meaning as etcd's `--max-request-bytes` default. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export interface ResponseHeader {
  /** 16-hex-digit ids, as etcdctl prints them. */
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

/** A store response as a client sees it: the member fills in the whole header. */
export type WithHeader<R> = Omit<R, 'header'> & { header: ResponseHeader };

export type KeyValue = mvcc.KeyValue;
export type Compare = mvcc.Compare;
export type RequestOp = mvcc.RequestOp;
export type ResponseOp = mvcc.ResponseOp;

/** `serializable` reads are served from the local store without a ReadIndex round (may be stale). */
export type RangeRequest = mvcc.RangeRequest & { serializable?: boolean };
export type RangeResponse = WithHeader<mvcc.RangeResponse>;
export type PutRequest = mvcc.PutRequest;
export type PutResponse = WithHeader<mvcc.PutResponse>;
export type DeleteRangeRequest = mvcc.DeleteRangeRequest;
export type DeleteRangeResponse = WithHeader<mvcc.DeleteRangeResponse>;
export type TxnRequest = mvcc.TxnRequest;
export type TxnResponse = WithHeader<mvcc.TxnResponse>;
export type CompactionRequest = mvcc.CompactRequest;
export type CompactionResponse = WithHeader<mvcc.CompactResponse>;

export interface WatchCreateRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  /** First revision to deliver (0 = changes after the current revision). */
  startRevision?: number;
  progressNotify?: boolean;
  prevKv?: boolean;
  filters?: ('noput' | 'nodelete')[];
}

export type WatchEvent = mvcc.WatchEvent;

/**
 * One message on a watch stream. The first has `created: true`; a progress notification has no
 * events and a header revision saying "you have seen everything up to here"; a compacted watch ends
 * with `compactRevision` set and `canceled: true`.
 */
export interface WatchResponse {
  header: ResponseHeader;
  watchId: number;
  created?: boolean;
  canceled?: boolean;
  cancelReason?: string;
  compactRevision?: number;
  events: WatchEvent[];
}

export interface LeaseGrantRequest {
  ttl: number;
  /** 0 or absent = the leader picks one. */
  id?: number;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  id: number;
  ttl: number;
}

export interface LeaseRevokeRequest {
  id: number;
}

export interface LeaseRevokeResponse {
  header: ResponseHeader;
}

export interface LeaseKeepAliveRequest {
  id: number;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  id: number;
  ttl: number;
}

export interface LeaseTimeToLiveRequest {
  id: number;
  keys?: boolean;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  id: number;
  /** Remaining seconds; -1 when the lease does not exist (etcd's convention). */
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}

export interface LeaseLeasesResponse {
  header: ResponseHeader;
  leases: { id: number }[];
}

export interface Member {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface MemberListResponse {
  header: ResponseHeader;
  members: Member[];
}

export interface MemberAddRequest {
  name: string;
  peerUrls: string[];
  isLearner?: boolean;
}

export interface MemberAddResponse {
  header: ResponseHeader;
  member: Member;
  members: Member[];
}

export interface MemberRemoveRequest {
  /** The 16-hex-digit id (as printed by `member list`) or the member name. */
  id: string;
}

export interface MemberRemoveResponse {
  header: ResponseHeader;
  members: Member[];
}

export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  dbSize: number;
  /** Id of the leader as this member knows it ('' = none). */
  leader: string;
  leaderName: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  isLearner: boolean;
  errors: string[];
  /** The member's name and the client URL of the leader (so clients can go straight to it). */
  name: string;
  leaderClientUrl: string;
}

/** The emulated etcd version reported by Status (the API generation kemu follows). */
export const ETCD_VERSION = '3.4.0-kemu';
