/** Shared Raft data types. Member ids are strings (e.g. `etcd-0`); every message field is a plain value. */

export type EntryType = 'normal' | 'conf-change';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: string | null;
  commit: number;
}

export interface ConfState {
  voters: string[];
  learners: string[];
  /** Always empty: membership changes one voter at a time (no joint consensus). */
  votersOutgoing: string[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export type MessageType =
  // Local messages: produced and consumed inside one node; never valid from the network.
  | 'MsgHup'
  | 'MsgBeat'
  | 'MsgUnreachable'
  | 'MsgSnapStatus'
  | 'MsgCheckQuorum'
  | 'MsgLeaderLost'
  // Messages that may arrive from the network.
  | 'MsgProp'
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgTransferLeader'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp';

export const LOCAL_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  'MsgHup',
  'MsgBeat',
  'MsgUnreachable',
  'MsgSnapStatus',
  'MsgCheckQuorum',
  'MsgLeaderLost',
]);

export const NETWORK_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  'MsgProp',
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgSnap',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgTransferLeader',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
]);

/**
 * One Raft message. Every field is always present (zero values when unused) so the host can encode it
 * with msgpack without a schema.
 */
export interface Message {
  type: MessageType;
  from: string;
  to: string;
  term: number;
  /** MsgApp: term of the entry at `index`. MsgVote/MsgPreVote: term of the candidate's last entry. MsgAppResp reject: term of the hint. */
  logTerm: number;
  /** MsgApp: index preceding `entries`. MsgAppResp: highest matching index (or the rejected index). Vote: candidate's last index. ReadIndexResp: read index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot: Snapshot | null;
  context: Uint8Array;
}

export type StateType = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state the host may want to show or react to (e.g. "am I leader"). Never persisted. */
export interface SoftState {
  lead: string | null;
  state: StateType;
}

/** The answer to a ReadIndex request: serve the read once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/**
 * Everything the host must act on. See README.md "The Ready contract" for the order: persist
 * snapshot + entries + hard state, send messages, apply the snapshot and committed entries, then
 * call `advance()`.
 */
export interface Ready {
  softState: SoftState | null;
  hardState: HardState | null;
  entries: Entry[];
  snapshot: Snapshot | null;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** True when the write must be fsynced: new entries, or the term or vote changed. */
  mustSync: boolean;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  pendingSnapshot: number;
  recentActive: boolean;
  paused: boolean;
  inflight: number;
  isLearner: boolean;
}

export interface Status {
  id: string;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  lastIndex: number;
  confState: ConfState;
  leadTransferee: string | null;
  /** Replication progress of every member; only filled on the leader. */
  progress: Record<string, ProgressStatus>;
}

export type SnapshotStatus = 'finish' | 'failure';

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function emptyHardState(): HardState {
  return { term: 0, vote: null, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === null && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [] };
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: EMPTY_BYTES };
}

/** A message with every field at its zero value, overridden by `fields`. */
export function makeMessage(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: '',
    to: '',
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: EMPTY_BYTES,
    ...fields,
  };
}
