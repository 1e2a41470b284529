import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | undefined;

/**
 * V8 flags every member process runs with, set by `memberMain` from inside the process so that they
 * apply however the member is launched (`kemu etcd`, `main.js`, the test harness, the benchmark).
 * `--optimize-for-size` makes V8 grow the heap more reluctantly and collect more eagerly: after
 * 10,000 × 1 KiB puts a member's RSS drops from ~125–137 MiB to ~100–105 MiB (real etcd 3.4:
 * 65–90 MiB) — measured with `node scripts/bench-etcd.mjs --only rss`. The young generation's
 * size is fixed when the isolate is created, so `--max-semi-space-size` cannot be set this way.
 */
const MEMBER_V8_FLAGS = ['--expose-gc', '--optimize-for-size'];

/**
 * Lets the member ask V8 for a full collection after it dropped a large buffer (a snapshot is
 * serialized two or three times over; V8 only collects external memory after it has grown by tens
 * of MiB, so without this a member sits on that garbage until the next big allocation). Only the
 * member process turns this on; library users are left alone.
 */
export function enableExplicitGc(): void {
  for (const flag of MEMBER_V8_FLAGS) v8.setFlagsFromString(flag);
  collect = vm.runInNewContext('gc') as () => void;
}

export function collectGarbage(): void {
  collect?.();
}
