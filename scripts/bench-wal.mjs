// WAL save throughput and latency at 1, 16 and 64 concurrent writers (256-byte entries, real disk),
// showing how group commit turns many saves into one fsync. Usage: npm run bench:wal
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeFileSystem, Wal } from '../packages/etcd/dist/src/storage/index.js';

const fs = new NodeFileSystem();
const rows = [];
for (const conc of [1, 16, 64]) {
  const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'walbench-'));
  const wal = await Wal.create(fs, dir, { clusterId: 'b', memberId: 'm' });
  let next = 1;
  const lat = [];
  const durationMs = 3000;
  const t0 = performance.now();
  const data = new Uint8Array(256).fill(7);
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() - t0 < durationMs) {
        const i = next++;
        const s = performance.now();
        await wal.save({ term: 1, vote: 'm', commit: i - 1 }, [{ index: i, term: 1, type: 'normal', data }]);
        lat.push(performance.now() - s);
      }
    }),
  );
  const el = (performance.now() - t0) / 1000;
  const st = wal.stats();
  await wal.close();
  rmSync(dir, { recursive: true });
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
  rows.push({
    concurrency: conc,
    'saves/s': Math.round(st.saves / el),
    'fsyncs/save': (st.fsyncs / st.saves).toFixed(3),
    'p50 ms': q(0.5),
    'p99 ms': q(0.99),
    'fsync ms (mean)': ((el * 1000) / st.fsyncs).toFixed(2),
  });
}
console.table(rows);
