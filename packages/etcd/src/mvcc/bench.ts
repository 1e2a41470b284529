/**
 * Benchmark of the MVCC store, printed as a table. Not part of the library API.
 *   npx tsc -b && node --expose-gc packages/etcd/dist/src/mvcc/bench.js [keys] [valueBytes]
 * Memory figures are taken after a GC with only the store alive, so they compare against
 * real etcd's RSS holding the same keys (the project target is ≤ 1.5× etcd at 10,000 × 1 KiB).
 */
import { bytesToKey, utf8 } from './bytes.js';
import { MvccStore } from './store.js';
import { WatchHub } from './watch.js';

const keys = Number(process.argv[2] ?? 10_000);
const valueBytes = Number(process.argv[3] ?? 1024);
const rows: [string, string][] = [];
const gc = (globalThis as { gc?: () => void }).gc;

function time(label: string, ops: number, fn: () => void): void {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  rows.push([label, `${ops} ops in ${ms.toFixed(1)} ms = ${Math.round((ops / ms) * 1000).toLocaleString('en')} ops/s`]);
}

function mem(label: string): void {
  gc?.();
  const m = process.memoryUsage();
  rows.push([
    label,
    `rss ${(m.rss / 2 ** 20).toFixed(1)} MiB, heap ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB, external+buffers ${((m.external + m.arrayBuffers) / 2 ** 20).toFixed(1)} MiB`,
  ]);
}

const name = (i: number): Uint8Array => utf8(`/registry/pods/ns-${i % 20}/pod-${i.toString().padStart(6, '0')}`);
const value = new Uint8Array(valueBytes).fill(0x61);

mem('baseline (empty process)');
const store = new MvccStore();
let delivered = 0;
const hub = new WatchHub(store, (r) => {
  delivered += r.events.length;
  return true;
});
hub.watch({ key: utf8('/registry/pods/'), rangeEnd: utf8('/registry/pods0') });
for (let i = 0; i < 20; i++)
  hub.watch({ key: utf8(`/registry/pods/ns-${i}/`), rangeEnd: utf8(`/registry/pods/ns-${i}0`) });

time(`put new keys (${valueBytes} B values, 21 watchers)`, keys, () => {
  for (let i = 0; i < keys; i++) store.apply({ type: 'put', key: name(i), value });
});
mem(`after ${keys} keys × ${valueBytes} B, 1 version each`);
time('put updates (same keys)', keys, () => {
  for (let i = 0; i < keys; i++) store.apply({ type: 'put', key: name(i), value });
});
time('compact (drop the first versions)', 1, () => {
  store.apply({ type: 'compact', revision: store.revision });
});
mem(`after update + compact: ${keys} keys × 1 version`);
time('get (point read)', keys, () => {
  for (let i = 0; i < keys; i++) store.get(name(i));
});
const prefix = { type: 'range' as const, key: utf8('/registry/pods/'), rangeEnd: utf8('/registry/pods0') };
time(`range whole prefix (${keys} kvs)`, 20, () => {
  for (let i = 0; i < 20; i++) store.range(prefix);
});
time('range prefix, limit 500', 200, () => {
  for (let i = 0; i < 200; i++) store.range({ ...prefix, limit: 500 });
});
time('range one namespace (1/20 of keys)', 200, () => {
  for (let i = 0; i < 200; i++) {
    const ns = `/registry/pods/ns-${i % 20}/`;
    store.range({ type: 'range', key: utf8(ns), rangeEnd: utf8(`/registry/pods/ns-${i % 20}0`) });
  }
});
time('count_only whole prefix', 200, () => {
  for (let i = 0; i < 200; i++) store.range({ ...prefix, countOnly: true });
});
time('txn CAS on mod_revision', keys, () => {
  for (let i = 0; i < keys; i++) {
    const key = name(i);
    const mod = store.get(key)!.modRevision;
    store.apply({
      type: 'txn',
      compare: [{ key, target: 'mod', result: 'equal', modRevision: mod }],
      success: [{ type: 'put', key, value }],
      failure: [{ type: 'range', key }],
    });
  }
});
let bytes: Uint8Array = new Uint8Array(0);
time('serialize', 1, () => {
  bytes = store.serialize();
});
rows.push(['snapshot size', `${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB`]);
time('restore', 1, () => {
  MvccStore.restore(bytes);
});
time('hash', 1, () => {
  store.hash();
});
const catchUp = new WatchHub(store, () => true);
time(`watch catch-up from compacted rev (${store.revision - store.compactRevision} revisions)`, 1, () => {
  catchUp.watch({ key: utf8('/'), rangeEnd: utf8('0'), startRevision: store.compactRevision });
  while (catchUp.syncUnsynced() > 0);
});
rows.push(['events delivered to live watchers', delivered.toLocaleString('en')]);
rows.push(['keys in index', `${store.indexedKeys} (sample ${bytesToKey(name(0))})`]);

const width = Math.max(...rows.map(([l]) => l.length));
console.log(`| ${'measure'.padEnd(width)} | result |`);
console.log(`| ${'-'.repeat(width)} | --- |`);
for (const [label, result] of rows) console.log(`| ${label.padEnd(width)} | ${result} |`);
