#!/usr/bin/env node
// Committed entries per second through a 3-member in-memory Raft cluster (packages/raft) with no
// I/O: storage is MemoryStorage, the network is a function call. A "batch" is the number of
// proposals made before each Ready cycle; a cycle pumps Readys and messages until the cluster is
// quiet, so every cycle commits and applies its whole batch on all three members.
// Usage: node scripts/bench-raft.mjs [--seconds S]   (npm run bench:raft)
import { MemoryStorage, RawNode } from '../packages/raft/dist/src/index.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;
const BATCHES = [1, 16, 256];
const PAYLOAD = new Uint8Array(128).fill(7);

function makeCluster() {
  const ids = ['m1', 'm2', 'm3'];
  const nodes = new Map();
  let seed = 1;
  for (const id of ids) {
    const storage = MemoryStorage.bootstrap(ids);
    let s = seed++;
    const random = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    nodes.set(id, {
      storage,
      node: new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, random }),
      applied: 0,
    });
  }
  return nodes;
}

/** Handles Readys and delivers messages until nothing is left. Returns entries applied on the leader. */
function pump(nodes, leaderId) {
  let appliedOnLeader = 0;
  let queue = [];
  for (;;) {
    let busy = false;
    for (const [id, m] of nodes) {
      while (m.node.hasReady()) {
        busy = true;
        const rd = m.node.ready();
        if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
        if (rd.entries.length > 0) m.storage.append(rd.entries);
        if (rd.hardState) m.storage.setHardState(rd.hardState);
        for (const msg of rd.messages) queue.push(msg);
        m.applied += rd.committedEntries.length;
        if (id === leaderId) appliedOnLeader += rd.committedEntries.length;
        m.node.advance();
      }
    }
    if (queue.length === 0 && !busy) return appliedOnLeader;
    const batch = queue;
    queue = [];
    for (const msg of batch) nodes.get(msg.to).node.step(msg);
  }
}

function electLeader(nodes) {
  nodes.get('m1').node.campaign();
  pump(nodes, 'm1');
  if (nodes.get('m1').node.status().softState.state !== 'leader') throw new Error('m1 did not become leader');
}

function run(batch) {
  const nodes = makeCluster();
  electLeader(nodes);
  const leader = nodes.get('m1').node;
  let committed = 0;
  let cycles = 0;
  // Warm up the JIT, then measure.
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) {
    for (let i = 0; i < batch; i++) leader.propose(PAYLOAD);
    pump(nodes, 'm1');
  }
  const start = performance.now();
  const end = start + SECONDS * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < batch; i++) leader.propose(PAYLOAD);
    committed += pump(nodes, 'm1');
    cycles++;
    if (cycles % 64 === 0) {
      // Keep memory flat: compact the applied prefix like a host would after a snapshot.
      for (const m of nodes.values()) {
        const applied = m.node.status().applied;
        if (applied > m.storage.snapshot().metadata.index + 1000) {
          m.storage.createSnapshot(applied, null, new Uint8Array(0));
          m.storage.compact(applied);
        }
      }
    }
  }
  const secs = (performance.now() - start) / 1000;
  const followers = [...nodes.values()].slice(1).map((m) => m.applied);
  return { batch, committed, secs, cycles, followersApplied: Math.min(...followers) };
}

const rows = BATCHES.map(run);
console.log(
  `raft: 3 members in one process, MemoryStorage, no I/O, ${PAYLOAD.length}-byte entries, ${SECONDS}s per row`,
);
console.log('');
console.log('| batch (proposals per Ready cycle) | committed entries/s | Ready cycles/s | µs per entry |');
console.log('|---:|---:|---:|---:|');
for (const r of rows) {
  const perSec = r.committed / r.secs;
  console.log(
    `| ${r.batch} | ${Math.round(perSec).toLocaleString('en-US')} | ${Math.round(r.cycles / r.secs).toLocaleString('en-US')} | ${(1e6 / perSec).toFixed(2)} |`,
  );
}
