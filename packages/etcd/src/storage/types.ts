// The Raft log shapes the WAL and snapshotter persist are packages/raft's own.
export type { ConfState, Entry, EntryType, HardState, Snapshot, SnapshotMetadata } from '@kemu/raft';

import type { HardState } from '@kemu/raft';

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
