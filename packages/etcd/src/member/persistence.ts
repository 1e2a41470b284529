import type { Entry, HardState, Snapshot } from '@kemu/raft';
import type { Logger } from '@kemu/runtime';
import { type FileSystem, joinPath, Snapshotter, Wal, type WalMetadata } from '../storage/index.js';

export interface RecoveredState {
  wal: Wal;
  snapshotter: Snapshotter;
  /** The newest snapshot the WAL vouches for, or null on a fresh data dir. */
  snapshot: Snapshot | null;
  hardState: HardState;
  entries: Entry[];
  /** True when the data dir was empty and a new WAL was created. */
  fresh: boolean;
}

/**
 * Opens a member's data dir: `<dir>/wal` (the log) and `<dir>/snap` (snapshot files). On restart it
 * loads the newest snapshot whose marker the WAL holds, then replays the WAL from there — the same
 * recovery etcd performs after kill -9.
 */
export async function openDataDir(
  fs: FileSystem,
  dataDir: string,
  metadata: WalMetadata,
  log: Logger,
): Promise<RecoveredState> {
  const walDir = joinPath(dataDir, 'wal');
  const snapDir = joinPath(dataDir, 'snap');
  await fs.mkdir(dataDir);
  const snapshotter = new Snapshotter(fs, snapDir, { logger: log });
  if (!(await Wal.exists(fs, walDir))) {
    const wal = await Wal.create(fs, walDir, metadata, { logger: log });
    return {
      wal,
      snapshotter,
      snapshot: null,
      hardState: { term: 0, vote: null, commit: 0 },
      entries: [],
      fresh: true,
    };
  }
  const markers = await Wal.readSnapshotMarkers(fs, walDir);
  const snapshot = await snapshotter.loadNewestAvailable(markers);
  const from = snapshot ? { index: snapshot.metadata.index, term: snapshot.metadata.term } : { index: 0, term: 0 };
  const r = await Wal.open(fs, walDir, { fromSnapshot: from, expect: metadata, logger: log });
  return { wal: r.wal, snapshotter, snapshot, hardState: r.hardState, entries: r.entries, fresh: false };
}
