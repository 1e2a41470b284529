import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKemuError, SeededRandom } from '@kemu/runtime';
import { MemoryFileSystem } from '../src/storage/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('a crash keeps synced bytes and synced dir entries only', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/d');
  const h = await fs.open('/d/a', 'create-new');
  await h.write(bytes('hello'), 0);
  await h.sync();
  await fs.syncDir('/d');
  await h.write(bytes(' world'), 5);
  assert.equal(text(await fs.readFile('/d/a')), 'hello world');
  const b = await fs.open('/d/b', 'create');
  await b.write(bytes('unsynced entry'), 0);
  await b.sync(); // data synced, but the dir entry is not
  const after = fs.crash();
  assert.equal(text(await after.readFile('/d/a')), 'hello');
  assert.deepEqual(await after.readdir('/d'), ['a']);
});

test('an unsynced rename or unlink is undone by a crash; a synced one is not', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/d');
  for (const n of ['x.tmp', 'y']) {
    const h = await fs.open(`/d/${n}`, 'create');
    await h.write(bytes(n), 0);
    await h.sync();
  }
  await fs.syncDir('/d');
  await fs.rename('/d/x.tmp', '/d/x');
  await fs.unlink('/d/y');
  assert.deepEqual(await fs.readdir('/d'), ['x']);
  const lost = fs.crash();
  assert.deepEqual(await lost.readdir('/d'), ['x.tmp', 'y']);
  await lost.rename('/d/x.tmp', '/d/x');
  await lost.syncDir('/d');
  const kept = lost.crash();
  assert.deepEqual(await kept.readdir('/d'), ['x', 'y']);
  assert.equal(text(await kept.readFile('/d/x')), 'x.tmp');
});

test('a torn crash keeps an in-order prefix of the unsynced writes', async () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= 60; seed++) {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/d');
    const h = await fs.open('/d/f', 'create');
    await fs.syncDir('/d');
    await h.write(bytes('base'), 0);
    await h.sync();
    await h.write(bytes('AAAA'), 4);
    await h.write(bytes('BBBB'), 8);
    const got = text(await fs.crash({ tear: new SeededRandom(seed) }).readFile('/d/f'));
    assert.ok('baseAAAABBBB'.startsWith(got) && got.startsWith('base'), `seed ${seed}: ${got}`);
    seen.add(got);
  }
  assert.ok(seen.size >= 6, `only ${[...seen].join('|')}`);
});

test('the dead view and its handles refuse every operation after a crash', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/d');
  const h = await fs.open('/d/f', 'create');
  fs.crash();
  await assert.rejects(h.write(bytes('x'), 0), (e) => isKemuError(e, 'FS_CRASHED'));
  await assert.rejects(fs.readdir('/d'), (e) => isKemuError(e, 'FS_CRASHED'));
});

test('missing paths and exclusive creates give typed errors', async () => {
  const fs = new MemoryFileSystem();
  await assert.rejects(fs.readdir('/nope'), (e) => isKemuError(e, 'FS_NOT_FOUND'));
  await fs.mkdir('/d');
  await assert.rejects(fs.open('/d/f', 'read'), (e) => isKemuError(e, 'FS_NOT_FOUND'));
  await (await fs.open('/d/f', 'create')).close();
  await assert.rejects(fs.open('/d/f', 'create-new'), (e) => isKemuError(e, 'FS_EXISTS'));
  assert.equal(await fs.exists('/d/f'), true);
  assert.equal(await fs.exists('/d/g'), false);
});
