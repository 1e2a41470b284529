import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '@kemu/runtime';
import { MvccStore, prefixRangeEnd, utf8, WatchHub } from '../src/mvcc/index.js';
import { KeyIndex } from '../src/mvcc/key-index.js';
import { KeyTree } from '../src/mvcc/key-tree.js';

function collect(tree: KeyTree, start: string, end: string | null): string[] {
  const out: string[] = [];
  tree.forEachInRange(start, end, (ki) => {
    out.push(ki.key);
  });
  return out;
}

test('key tree: ordered scans stay exact across chunk splits and bulk removal', () => {
  const rnd = new SeededRandom(5);
  const tree = new KeyTree();
  const model = new Set<string>();
  // Random byte strings, including 0x00 and 0xff, inserted in random order.
  while (model.size < 3000) {
    const len = rnd.int(1, 6);
    let key = '';
    for (let i = 0; i < len; i++) key += String.fromCharCode(rnd.next() < 0.1 ? 0xff : rnd.int(0, 256));
    if (model.has(key)) continue;
    model.add(key);
    tree.insert(new KeyIndex(key));
  }
  const check = () => {
    const sorted = [...model].sort();
    assert.equal(tree.size, sorted.length);
    assert.deepEqual(collect(tree, '', null), sorted);
    assert.deepEqual(
      [...tree.all()].map((ki) => ki.key),
      sorted,
    );
    for (let i = 0; i < 50; i++) {
      const a = sorted[rnd.int(0, sorted.length)]!;
      const b = String.fromCharCode(rnd.int(0, 256), rnd.int(0, 256));
      const [lo, hi] = a < b ? [a, b] : [b, a];
      assert.deepEqual(
        collect(tree, lo, hi),
        sorted.filter((k) => k >= lo && k < hi),
      );
      assert.equal(tree.get(a)?.key, a);
    }
    // Early stop.
    const firstTen: string[] = [];
    tree.forEachInRange('', null, (ki) => firstTen.push(ki.key) < 10);
    assert.deepEqual(firstTen, sorted.slice(0, 10));
  };
  check();
  const dropped = new Set([...model].filter(() => rnd.next() < 0.6));
  tree.removeWhere((ki) => dropped.has(ki.key));
  for (const k of dropped) model.delete(k);
  check();
  for (let i = 0; i < 500; i++) {
    const key = `z${i}`;
    model.add(key);
    tree.insert(new KeyIndex(key));
  }
  check();

  // A bulk-built tree (snapshot restore) behaves the same, including later inserts.
  const rebuilt = KeyTree.fromSorted([...tree.all()]);
  assert.deepEqual(collect(rebuilt, '', null), collect(tree, '', null));
  for (const key of ['\0', 'm', '\xff\xff\xff\xff\xff\xff']) {
    if (rebuilt.get(key)) continue;
    rebuilt.insert(new KeyIndex(key));
    model.add(key);
  }
  assert.deepEqual(collect(rebuilt, '', null), [...model].sort());
});

test('store at scale: 5,000 Kubernetes-style keys, paged prefix lists, compaction, watch sink failure', () => {
  const s = new MvccStore();
  const errors: number[] = [];
  const hub = new WatchHub(
    s,
    (r) => {
      if (r.events.length > 0) throw new Error('consumer crashed');
      return true;
    },
    { onSinkError: (id) => errors.push(id) },
  );
  const broken = hub.watch({ key: utf8('/registry/'), rangeEnd: utf8('/registry0') });
  const namespaces = ['default', 'kube-system', 'team-a', 'team-b', 'zeta'];
  for (let i = 0; i < 5000; i++) {
    const ns = namespaces[i % namespaces.length];
    s.apply({ type: 'put', key: utf8(`/registry/pods/${ns}/pod-${i}`), value: utf8(`{"i":${i}}`) });
  }
  assert.deepEqual(errors, [broken], 'a throwing sink cancels its watcher, and writes carry on');
  assert.equal(hub.stats().synced, 0);
  assert.equal(s.revision, 5001);

  // Page through one namespace the way the apiserver does: limit + continue from the last key.
  const ns = utf8('/registry/pods/team-a/');
  const end = prefixRangeEnd(ns);
  let start: Uint8Array = ns;
  const seen: string[] = [];
  for (;;) {
    const page = s.range({ type: 'range', key: start, rangeEnd: end, limit: 300, revision: 4000 });
    seen.push(...page.kvs.map((kv) => Buffer.from(kv.key).toString()));
    if (!page.more) break;
    start = new Uint8Array([...page.kvs.at(-1)!.key, 0]);
  }
  const expected = [];
  for (let i = 0; i < 3999; i++) if (i % 5 === 2) expected.push(`/registry/pods/team-a/pod-${i}`);
  assert.deepEqual(seen, expected.sort());

  s.apply({
    type: 'deleteRange',
    key: utf8('/registry/pods/kube-system/'),
    rangeEnd: utf8('/registry/pods/kube-system0'),
  });
  s.apply({ type: 'compact', revision: s.revision });
  assert.equal(s.indexedKeys, 5000, 'tombstones written at the compact revision stay (watchers may start there)');
  s.apply({ type: 'put', key: utf8('/registry/pods/default/late'), value: utf8('x') });
  s.apply({ type: 'compact', revision: s.revision });
  assert.equal(s.indexedKeys, 4001);
  assert.equal(s.range({ type: 'range', key: utf8('/registry/pods/'), rangeEnd: utf8('/registry/pods0') }).count, 4001);
});
