// Structural copies of the shared Raft types (see BRIEF "Shared types"). packages/raft is written
// concurrently; these shapes are identical so the coordinator can swap them for imports later.

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

/** Identity of the member that owns a data dir; written at the head of every WAL segment. */
export interface WalMetadata {
  clusterId: string;
  memberId: string;
}

/** What the WAL remembers about a snapshot: enough to find where replay starts. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({ term: 0, vote: null, commit: 0 });

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === null && hs.commit === 0;
}
