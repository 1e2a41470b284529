import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKemuError, SeededRandom } from '@kemu/runtime';
import { MemoryFileSystem, type Snapshot, Snapshotter } from '../src/storage/index.js';
import { capturingLogger, entryData } from './fixtures/storage-helpers.js';

const DIR = '/data/member/snap';

function snap(index: number, term: number, size = 100): Snapshot {
  return {
    metadata: { index, term, confState: { voters: ['etcd-0', 'etcd-1', 'etcd-2'], learners: [], votersOutgoing: [] } },
    data: entryData(index, term, size),
  };
}

function same(a: Snapshot | null, b: Snapshot): void {
  assert.ok(a !== null);
  assert.deepEqual(a.metadata, b.metadata);
  assert.deepEqual([...a.data], [...b.data]);
}

test('save then load round-trips the newest snapshot; no snapshot loads as null', async () => {
  const fs = new MemoryFileSystem();
  const s = new Snapshotter(fs, DIR);
  assert.equal(await s.load(), null);
  assert.equal(await s.save(snap(10, 2)), '0000000000000002-000000000000000a.snap');
  await s.save(snap(20, 3));
  same(await s.load(), snap(20, 3));
  // It survives a crash: written to a temp file, fsynced, renamed, dir fsynced.
  same(await new Snapshotter(fs.crash(), DIR).load(), snap(20, 3));
});

test('a corrupt newest snapshot is set aside with a warning and an older one is used', async () => {
  const fs = new MemoryFileSystem();
  const { logger, lines } = capturingLogger();
  const s = new Snapshotter(fs, DIR, { logger });
  await s.save(snap(10, 2));
  const newest = await s.save(snap(20, 3));
  const path = `${DIR}/${newest}`;
  const bytes = await fs.readFile(path);
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 1;
  const h = await fs.open(path, 'create');
  await h.write(bytes, 0);
  await h.close();
  same(await s.load(), snap(10, 2));
  assert.ok(lines().some((l) => l.level === 40 && /corrupt/.test(l.msg)));
  assert.deepEqual(await s.list(), ['0000000000000002-000000000000000a.snap']);
  assert.ok(await fs.exists(`${path}.broken`));
});

test('a truncated snapshot file is corrupt, not served', async () => {
  const fs = new MemoryFileSystem();
  const s = new Snapshotter(fs, DIR);
  const name = await s.save(snap(5, 1, 3000));
  const bytes = await fs.readFile(`${DIR}/${name}`);
  const h = await fs.open(`${DIR}/${name}`, 'create');
  await h.write(bytes.subarray(0, 2000), 0);
  await h.close();
  assert.equal(await s.load(), null);
});

test('only the newest N snapshots are kept', async () => {
  const fs = new MemoryFileSystem();
  const s = new Snapshotter(fs, DIR, { keep: 2 });
  for (let i = 1; i <= 5; i++) await s.save(snap(i * 10, 1));
  assert.equal((await s.list()).length, 5, 'save never purges: the WAL marker may not be durable yet');
  assert.equal((await s.purge()).length, 3);
  assert.deepEqual(await s.list(), [
    '0000000000000001-0000000000000032.snap',
    '0000000000000001-0000000000000028.snap',
  ]);
});

test('loadNewestAvailable skips snapshots the WAL has no marker for', async () => {
  const fs = new MemoryFileSystem();
  const s = new Snapshotter(fs, DIR);
  await s.save(snap(10, 2));
  await s.save(snap(20, 3));
  same(
    await s.loadNewestAvailable([
      { index: 0, term: 0 },
      { index: 10, term: 2 },
    ]),
    snap(10, 2),
  );
  assert.equal(await s.loadNewestAvailable([{ index: 20, term: 4 }]), null);
});

test('a crash during save leaves the old snapshot or the new one, never a broken one', async () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new SeededRandom(seed);
    let fs = new MemoryFileSystem();
    await new Snapshotter(fs, DIR).save(snap(10, 2, 700));
    let ops = 0;
    const crashAt = rng.int(1, 12);
    let crashed: MemoryFileSystem | null = null;
    fs.beforeOperation = () => {
      if (++ops === crashAt && crashed === null) crashed = fs.crash({ tear: rng });
    };
    await new Snapshotter(fs, DIR).save(snap(20, 3, 700)).catch((e: unknown) => {
      if (!isKemuError(e, 'FS_CRASHED')) throw e;
    });
    fs = crashed ?? fs.crash({ tear: rng });
    const got = await new Snapshotter(fs, DIR).load();
    assert.ok(got !== null, `seed ${seed}`);
    assert.ok(got.metadata.index === 10 || got.metadata.index === 20, `seed ${seed}`);
    same(got, snap(got.metadata.index, got.metadata.term, 700));
  }
});
