import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKemuError } from '@kemu/runtime';
import { MemoryFileSystem, Wal, WalClosedError, WalCorruptError } from '../src/storage/index.js';
import { capturingLogger, hs, makeEntries, plain } from './fixtures/storage-helpers.js';

const META = { clusterId: 'c-1', memberId: 'etcd-0' };
const DIR = '/data/member/wal';

async function fileBytes(fs: MemoryFileSystem, path: string): Promise<Uint8Array> {
  return fs.readFile(path);
}

async function overwrite(fs: MemoryFileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const h = await fs.open(path, 'create');
  await h.write(bytes, 0);
  await h.sync();
  await h.close();
}

function lastSegmentPath(wal: Wal): string {
  return `${DIR}/${wal.segmentNames[wal.segmentNames.length - 1]}`;
}

test('round trip: metadata, hard state and entries come back as saved', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 0, null), makeEntries(1, 3, 1));
  await wal.save(hs(2, 3, 'etcd-2'), makeEntries(4, 9, 2));
  await wal.close();
  const r = await Wal.open(fs, DIR, { expect: META });
  assert.deepEqual(r.metadata, META);
  assert.deepEqual(r.hardState, hs(2, 3, 'etcd-2'));
  assert.deepEqual(plain(r.entries), plain([...makeEntries(1, 3, 1), ...makeEntries(4, 9, 2)]));
  assert.equal(r.wal.lastEntryIndex, 9);
  assert.equal(Object.getPrototypeOf(r.entries[0]!.data), Uint8Array.prototype, 'plain Uint8Array, not Buffer');
  // The reopened log keeps appending where it left off.
  await r.wal.save(hs(2, 9, 'etcd-2'), makeEntries(10, 10, 2));
  await r.wal.close();
  const again = await Wal.open(fs, DIR);
  assert.equal(again.entries.length, 10);
  assert.equal(again.hardState.commit, 9);
});

test('a missing or empty dir is "not initialized"; create refuses an existing log', async () => {
  const fs = new MemoryFileSystem();
  assert.equal(await Wal.exists(fs, DIR), false);
  await assert.rejects(Wal.open(fs, DIR), (e) => isKemuError(e, 'WAL_NOT_INITIALIZED'));
  await fs.mkdir(DIR);
  await assert.rejects(Wal.open(fs, DIR), (e) => isKemuError(e, 'WAL_NOT_INITIALIZED'));
  const wal = await Wal.create(fs, DIR, META);
  await wal.close();
  assert.equal(await Wal.exists(fs, DIR), true);
  await assert.rejects(Wal.create(fs, DIR, META), (e) => isKemuError(e, 'WAL_EXISTS'));
});

test('a data dir of another cluster or member is refused with WAL_CLUSTER_MISMATCH', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 0), makeEntries(1, 2, 1));
  await wal.close();
  await assert.rejects(Wal.open(fs, DIR, { expect: { clusterId: 'c-2', memberId: 'etcd-0' } }), (e) => {
    assert.ok(isKemuError(e, 'WAL_CLUSTER_MISMATCH'));
    assert.match(e.message, /cluster c-1 member etcd-0.*cluster c-2 member etcd-0/);
    return true;
  });
  await assert.rejects(Wal.open(fs, DIR, { expect: { clusterId: 'c-1', memberId: 'etcd-1' } }), (e) =>
    isKemuError(e, 'WAL_CLUSTER_MISMATCH'),
  );
});

test('a rewritten tail replaces the conflicting suffix (raft truncation)', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 2), makeEntries(1, 10, 1));
  await wal.save(hs(2, 2), makeEntries(6, 8, 2));
  await wal.save(hs(3, 2), makeEntries(8, 9, 3));
  await wal.close();
  const r = await Wal.open(fs, DIR);
  assert.deepEqual(
    plain(r.entries),
    plain([...makeEntries(1, 5, 1), ...makeEntries(6, 7, 2), ...makeEntries(8, 9, 3)]),
  );
  assert.equal(r.wal.lastEntryIndex, 9);
});

test('a rewrite at or below the snapshot index still drops the stale tail written before it', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 4), makeEntries(1, 9, 1));
  await wal.save(hs(2, 5), makeEntries(5, 5, 2)); // term 2 leader rewrites from 5 and commits it
  await wal.saveSnapshot({ index: 5, term: 2 });
  await wal.close();
  const r = await Wal.open(fs, DIR, { fromSnapshot: { index: 5, term: 2 } });
  assert.deepEqual(r.entries, [], 'entries 6..9 of term 1 were cut off by the rewrite of 5');
  assert.equal(r.wal.lastEntryIndex, 5);
});

test('entries that leave a gap or are not contiguous are rejected before anything is written', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  const bad = [...makeEntries(1, 2, 1), ...makeEntries(4, 4, 1)];
  await assert.rejects(wal.save(hs(1, 0), bad), (e) => isKemuError(e, 'WAL_INVALID_ARGUMENT'));
  await wal.save(hs(1, 0), makeEntries(1, 1, 1));
  await wal.close();
  assert.equal((await Wal.open(fs, DIR)).entries.length, 1);
});

test('a torn last record is truncated with a warning, at every byte offset of the record', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 1), makeEntries(1, 4, 1));
  await wal.save(hs(1, 3), makeEntries(5, 6, 1));
  const path = lastSegmentPath(wal);
  const before = (await fileBytes(fs, path)).length;
  const torn = makeEntries(7, 9, 2);
  // Header (9) + count (4) + per entry 21 bytes + data: where the entries record ends and the hard state starts.
  const entriesEnd = before + 13 + torn.reduce((n, e) => n + 21 + e.data.length, 0);
  await wal.save(hs(2, 6), torn); // the records we tear: entries, then hard state
  await wal.close();
  const full = await fileBytes(fs, path);
  const expected = plain(makeEntries(1, 6, 1));
  let checked = 0;
  for (let cut = before; cut < full.length; cut++) {
    for (const fill of ['truncate', 'zeros'] as const) {
      const zeroed = new Uint8Array(full.length);
      zeroed.set(full.subarray(0, cut));
      await overwrite(fs, path, fill === 'truncate' ? full.subarray(0, cut) : zeroed);
      const { logger, lines } = capturingLogger();
      const r = await Wal.open(fs, DIR, { logger });
      // A cut between the entries record and the hard state record keeps the entries: both are valid.
      const got = plain(r.entries);
      if (got.length === 9) assert.deepEqual(got, plain([...makeEntries(1, 6, 1), ...makeEntries(7, 9, 2)]));
      else assert.deepEqual(got, expected, `cut at ${cut} (${fill})`);
      assert.equal(r.hardState.commit, 3, `cut at ${cut} (${fill})`);
      const warned = lines().some((l) => l.level === 40 && /torn/.test(l.msg));
      const atBoundary = cut === before || cut === entriesEnd;
      assert.equal(warned, fill === 'zeros' || !atBoundary, `warning for cut at ${cut} (${fill})`);
      // Repaired: the file now ends at a record boundary and appending works.
      await r.wal.save(hs(3, 6), makeEntries(got.length + 1, got.length + 1, 3));
      await r.wal.close();
      const again = await Wal.open(fs, DIR);
      assert.equal(again.entries.length, got.length + 1);
      assert.equal(again.hardState.term, 3);
      await again.wal.close();
      checked++;
    }
  }
  assert.ok(checked > 100, `checked ${checked} cut points`);
});

test('a corrupt record with valid data after it is WAL_CORRUPT naming file and offset', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 0), makeEntries(1, 3, 1));
  const path = lastSegmentPath(wal);
  const mid = (await fileBytes(fs, path)).length;
  await wal.save(hs(1, 3), makeEntries(4, 6, 1));
  await wal.save(hs(1, 6), makeEntries(7, 9, 1));
  await wal.close();
  const good = await fileBytes(fs, path);
  const bad = good.slice();
  bad[mid + 20] = bad[mid + 20]! ^ 0x40; // inside the entries record of the second save
  await overwrite(fs, path, bad);
  await assert.rejects(Wal.open(fs, DIR), (e) => {
    assert.ok(e instanceof WalCorruptError);
    assert.equal(e.code, 'WAL_CORRUPT');
    assert.equal(e.file, path);
    assert.equal(e.offset, mid);
    assert.match(e.message, new RegExp(`${path} at offset ${mid}`));
    return true;
  });
  // The damaged file was left alone for an operator to inspect.
  assert.deepEqual(await fileBytes(fs, path), bad);
});

test('a zeroed sector is a torn write only when no valid record follows it', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 0), makeEntries(1, 1, 1));
  const path = lastSegmentPath(wal);
  const start = (await fileBytes(fs, path)).length;
  // Entry data of 1500 zero bytes: the record spans whole sectors that are legitimately all zero.
  const zeros = [{ index: 2, term: 1, type: 'normal' as const, data: new Uint8Array(1500) }];
  await wal.save(hs(1, 1), zeros);
  const afterZeros = start + 13 + 21 + 1500; // header + count + entry header + data; the hard state follows
  await wal.save(hs(1, 2), makeEntries(3, 3, 1));
  await wal.close();
  const good = await fileBytes(fs, path);
  const flipped = good.slice();
  flipped[start + 30] = flipped[start + 30]! ^ 0x01; // inside the zero record, before its zero sector
  await overwrite(fs, path, flipped);
  await assert.rejects(Wal.open(fs, DIR), (e) => e instanceof WalCorruptError && e.offset === start);
  // The same damage with nothing after it is a torn tail (the zero sectors say the write was cut).
  await overwrite(fs, path, flipped.subarray(0, afterZeros));
  const r = await Wal.open(fs, DIR);
  assert.deepEqual(plain(r.entries), plain(makeEntries(1, 1, 1)));
  await r.wal.close();
});

test('damage in a segment that is not the last is WAL_CORRUPT even at its tail', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META, { segmentBytes: 300 });
  for (let i = 1; i <= 30; i++) await wal.save(hs(1, i - 1), makeEntries(i, i, 1));
  const names = wal.segmentNames;
  await wal.close();
  assert.ok(names.length >= 3, `segments: ${names.join(',')}`);
  const first = `${DIR}/${names[0]}`;
  const bytes = await fileBytes(fs, first);
  await overwrite(fs, first, bytes.subarray(0, bytes.length - 1));
  await assert.rejects(Wal.open(fs, DIR), (e) => isKemuError(e, 'WAL_CORRUPT') && /not the last/.test(e.message));
  await overwrite(fs, first, bytes);
  assert.equal((await Wal.open(fs, DIR)).entries.length, 30);
  // A missing segment in the middle is corruption too.
  await fs.unlink(`${DIR}/${names[1]}`);
  await assert.rejects(Wal.open(fs, DIR), (e) => isKemuError(e, 'WAL_CORRUPT') && /missing/.test(e.message));
});

test('segments are cut past the size limit and purged below a snapshot', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META, { segmentBytes: 512 });
  for (let i = 1; i <= 60; i++) await wal.save(hs(1, i - 1), makeEntries(i, i, 1));
  assert.ok(wal.stats().segmentsCut >= 4, `cut ${wal.stats().segmentsCut}`);
  const all = wal.segmentNames;
  assert.equal(all[0], '0000000000000000-0000000000000000.wal');
  for (const [i, n] of all.entries()) assert.ok(n.startsWith(i.toString(16).padStart(16, '0')));
  await wal.saveSnapshot({ index: 40, term: 1 });
  const deleted = await wal.purgeBefore(40);
  assert.ok(deleted.length > 0);
  // Exactly the segments whose successor starts at or below 40 went.
  for (const n of deleted) {
    const next = all[all.indexOf(n) + 1]!;
    assert.ok(Number.parseInt(next.split('-')[1]!, 16) <= 40);
  }
  assert.deepEqual(wal.segmentNames, all.slice(deleted.length));
  await wal.save(hs(1, 60), makeEntries(61, 62, 1));
  await wal.close();
  const r = await Wal.open(fs, DIR, { fromSnapshot: { index: 40, term: 1 }, expect: META });
  assert.deepEqual(plain(r.entries), plain(makeEntries(41, 62, 1)));
  assert.equal(r.hardState.commit, 60, 'hard state survives the purge: every segment head repeats it');
  await r.wal.close();
  await assert.rejects(Wal.open(fs, DIR), (e) => isKemuError(e, 'WAL_SNAPSHOT_NOT_FOUND'));
  await assert.rejects(Wal.open(fs, DIR, { fromSnapshot: { index: 40, term: 2 } }), (e) =>
    isKemuError(e, 'WAL_SNAPSHOT_NOT_FOUND'),
  );
  await assert.rejects(Wal.open(fs, DIR, { fromSnapshot: { index: 45, term: 1 } }), (e) =>
    isKemuError(e, 'WAL_SNAPSHOT_NOT_FOUND'),
  );
});

test('a snapshot installed past the end of the log: replay resumes after it', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META, { segmentBytes: 200 });
  await wal.save(hs(1, 3), makeEntries(1, 5, 1));
  await wal.saveSnapshot({ index: 100, term: 4 }); // a leader sent us its snapshot
  await wal.save(hs(4, 100), []);
  assert.equal(wal.lastEntryIndex, 100);
  for (let i = 101; i <= 110; i++) await wal.save(hs(4, i - 1), makeEntries(i, i, 4));
  // Segments cut after the install are named after it, so a purge below 100 drops the old ones.
  const starts = wal.segmentNames.map((n) => Number.parseInt(n.split('-')[1]!, 16));
  assert.ok(starts.at(-1)! >= 101);
  assert.ok(
    starts.every((s) => s <= 6 || s >= 101),
    `segment starts ${starts.join(',')}`,
  );
  await wal.purgeBefore(100);
  await wal.close();
  assert.deepEqual((await Wal.readSnapshotMarkers(fs, DIR)).at(-1), { index: 100, term: 4 });
  const r = await Wal.open(fs, DIR, { fromSnapshot: { index: 100, term: 4 } });
  assert.deepEqual(plain(r.entries), plain(makeEntries(101, 110, 4)));
});

test('snapshot markers count only once committed', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 5), makeEntries(1, 10, 1));
  await wal.saveSnapshot({ index: 5, term: 1 });
  await wal.saveSnapshot({ index: 8, term: 1 });
  await wal.close();
  assert.deepEqual(await Wal.readSnapshotMarkers(fs, DIR), [
    { index: 0, term: 0 },
    { index: 5, term: 1 },
  ]);
});

test('group commit: concurrent saves share fsyncs and keep their order', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  const saves: Promise<void>[] = [];
  for (let i = 1; i <= 64; i++) saves.push(wal.save(hs(1, i - 1), makeEntries(i, i, 1)));
  // A later save that truncates must apply after the earlier ones, as issued.
  saves.push(wal.save(hs(2, 63), makeEntries(60, 60, 2)));
  await Promise.all(saves);
  const stats = wal.stats();
  assert.equal(stats.saves, 65);
  assert.ok(stats.fsyncs <= 3, `fsyncs ${stats.fsyncs} for 65 concurrent saves`);
  await wal.close();
  const r = await Wal.open(fs, DIR);
  assert.deepEqual(plain(r.entries), plain([...makeEntries(1, 59, 1), ...makeEntries(60, 60, 2)]));
});

test('an fsync failure rejects the waiting saves and every later one', async () => {
  const fs = new MemoryFileSystem();
  const wal = await Wal.create(fs, DIR, META);
  await wal.save(hs(1, 0), makeEntries(1, 1, 1));
  fs.beforeOperation = (op) => {
    if (op === 'datasync') throw new Error('EIO');
  };
  const a = wal.save(hs(1, 1), makeEntries(2, 2, 1));
  const b = wal.save(hs(1, 1), makeEntries(3, 3, 1));
  await assert.rejects(a, (e) => e instanceof WalClosedError && e.cause instanceof Error);
  await assert.rejects(b, (e) => isKemuError(e, 'WAL_CLOSED'));
  fs.beforeOperation = undefined;
  await assert.rejects(wal.save(hs(1, 1), []), (e) => isKemuError(e, 'WAL_CLOSED'));
  await wal.close();
  await assert.rejects(wal.saveSnapshot({ index: 1, term: 1 }), (e) => isKemuError(e, 'WAL_CLOSED'));
});

test('group commit: looping writers that re-issue on acknowledgement share one fsync per round', async (t) => {
  for (const writers of [1, 16, 64]) {
    const fs = new MemoryFileSystem();
    const wal = await Wal.create(fs, DIR, META);
    let next = 1;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let k = 0; k < 10; k++) {
          const i = next++;
          await wal.save(hs(1, i - 1), makeEntries(i, i, 1));
        }
      }),
    );
    const { saves, fsyncs } = wal.stats();
    t.diagnostic(`${writers} writers: ${fsyncs} fsyncs for ${saves} saves`);
    assert.equal(saves, writers * 10);
    // Every round after the first carries all writers: about 10 fsyncs whatever the concurrency.
    assert.ok(fsyncs <= 11, `${writers} writers: ${fsyncs} fsyncs for ${saves} saves`);
    assert.equal(fs.counts.get('datasync'), fsyncs);
    await wal.close();
    const r = await Wal.open(fs, DIR);
    assert.equal(r.entries.length, writers * 10);
  }
});
