import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isKemuError } from '@kemu/runtime';
import { NodeFileSystem, Snapshotter, Wal } from '../src/storage/index.js';
import { hs, makeEntries, plain } from './fixtures/storage-helpers.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kemu-storage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the real file system: handles, dir fsync and typed errors', async (t) => {
  const dir = await tempDir(t);
  const fs = new NodeFileSystem();
  await fs.mkdir(path.join(dir, 'a/b'));
  const f = path.join(dir, 'a/b/f');
  const h = await fs.open(f, 'create-new');
  await h.write(new Uint8Array([1, 2, 3, 4]), 0);
  await h.write(new Uint8Array([9]), 6); // a hole reads back as zeros
  await h.datasync();
  assert.equal(await h.size(), 7);
  assert.deepEqual([...(await h.read(2, 10))], [3, 4, 0, 0, 9]);
  await h.truncate(2);
  await h.sync();
  await h.close();
  assert.deepEqual([...(await fs.readFile(f))], [1, 2]);
  await fs.syncDir(path.join(dir, 'a/b'));
  await fs.rename(f, `${f}2`);
  assert.deepEqual(await fs.readdir(path.join(dir, 'a/b')), ['f2']);
  await assert.rejects(fs.open(`${f}2`, 'create-new'), (e) => isKemuError(e, 'FS_EXISTS'));
  await assert.rejects(fs.readdir(path.join(dir, 'nope')), (e) => isKemuError(e, 'FS_NOT_FOUND'));
  await assert.rejects(fs.unlink(f), (e) => isKemuError(e, 'FS_NOT_FOUND'));
  assert.equal(await fs.exists(`${f}2`), true);
  await fs.unlink(`${f}2`);
  assert.equal(await fs.exists(`${f}2`), false);
});

test('WAL and snapshots on the real disk: cut, purge, reopen', async (t) => {
  const dir = await tempDir(t);
  const fs = new NodeFileSystem();
  const walDir = path.join(dir, 'member/wal');
  const meta = { clusterId: 'c', memberId: 'etcd-1' };
  const wal = await Wal.create(fs, walDir, meta, { segmentBytes: 4096 });
  for (let i = 1; i <= 200; i += 10) {
    const saves: Promise<void>[] = [];
    for (let j = i; j < i + 10; j++) saves.push(wal.save(hs(2, j - 1), makeEntries(j, j, 2, 100)));
    await Promise.all(saves);
  }
  const snaps = new Snapshotter(fs, path.join(dir, 'member/snap'));
  const snap = {
    metadata: { index: 150, term: 2, confState: { voters: ['etcd-1'], learners: [], votersOutgoing: [] } },
    data: new Uint8Array([42]),
  };
  await snaps.save(snap);
  await wal.saveSnapshot({ index: 150, term: 2 });
  assert.ok((await wal.purgeBefore(150)).length > 0);
  await wal.close();
  const markers = await Wal.readSnapshotMarkers(fs, walDir);
  const loaded = await snaps.loadNewestAvailable(markers);
  assert.deepEqual(loaded?.metadata, snap.metadata);
  const r = await Wal.open(fs, walDir, { fromSnapshot: loaded!.metadata, expect: meta });
  assert.deepEqual(plain(r.entries), plain(makeEntries(151, 200, 2, 100)));
  assert.deepEqual(r.hardState, hs(2, 199));
  await r.wal.close();
});
