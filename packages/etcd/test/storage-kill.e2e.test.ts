import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '@kemu/runtime';
import { NodeFileSystem, Wal } from '../src/storage/index.js';
import { entryData } from './fixtures/storage-helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/storage-kill-writer.js', import.meta.url));
const ROUNDS = 5;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Writer {
  child: ChildProcess;
  acked: number[];
  ready: number | null;
  exited: boolean;
  stderr: string[];
}

function startWriter(dir: string, term: number): Writer {
  const child = spawn(process.execPath, [WRITER, dir, String(term), '16'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so the kill reaches everything it started
  });
  const w: Writer = { child, acked: [], ready: null, exited: false, stderr: [] };
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const [kind, n] = buf.slice(0, nl).split(' ');
      if (kind === 'ack') w.acked.push(Number(n));
      if (kind === 'ready') w.ready = Number(n);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => w.stderr.push(chunk));
  child.on('exit', () => {
    w.exited = true;
  });
  return w;
}

function killGroup(w: Writer): void {
  if (w.exited || w.child.pid === undefined) return;
  try {
    process.kill(-w.child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

test('every acknowledged write survives SIGKILL of the writing process', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kemu-wal-kill-'));
  const writers: Writer[] = [];
  t.after(async () => {
    for (const w of writers) killGroup(w);
    await rm(dir, { recursive: true, force: true });
  });
  const rng = new SeededRandom(Number(process.env.KEMU_SEED ?? 42));
  const fs = new NodeFileSystem();
  const walDir = path.join(dir, 'wal');
  let maxAckedEver = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const w = startWriter(walDir, round);
    writers.push(w);
    await waitFor(() => w.ready !== null || w.exited, `writer ${round} to start`);
    assert.equal(w.exited, false, `writer exited early: ${w.stderr.join('')}`);
    assert.ok(w.ready! >= maxAckedEver, `round ${round}: reopened at ${w.ready}, below acknowledged ${maxAckedEver}`);
    const target = rng.int(20, 600);
    await waitFor(() => w.acked.length >= target || w.exited, `${target} acknowledgements`);
    assert.equal(w.exited, false, `writer died on its own: ${w.stderr.join('')}`);
    killGroup(w);
    await waitFor(() => w.exited, 'the killed writer to exit');

    const { entries, hardState, wal } = await Wal.open(fs, walDir, {
      expect: { clusterId: 'kill-test', memberId: 'etcd-0' },
    });
    await wal.close();
    const acked = w.acked;
    // Acknowledgements come in save order, and every one of them is on disk.
    for (let i = 1; i < acked.length; i++) assert.ok(acked[i]! > acked[i - 1]!, 'acks out of order');
    const lastAcked = acked[acked.length - 1] ?? 0;
    maxAckedEver = Math.max(maxAckedEver, lastAcked);
    assert.ok(entries.length >= maxAckedEver, `round ${round}: ${entries.length} entries, acked up to ${maxAckedEver}`);
    for (const [i, e] of entries.entries()) {
      assert.equal(e.index, i + 1, `round ${round}: log is not contiguous at ${i + 1}`);
      assert.ok(e.term >= 1 && e.term <= round);
      assert.deepEqual([...e.data], [...entryData(e.index, e.term, 50 + (e.index % 200))], `entry ${e.index} bytes`);
    }
    assert.ok(hardState.commit <= entries.length);
    t.diagnostic(`round ${round}: ${acked.length} acks seen, log ends at ${entries.length}`);
  }
});
