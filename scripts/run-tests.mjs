#!/usr/bin/env node
// Runs the built tests with Node's test runner. Unit tests (`*.test.js`) run in parallel across
// files; cross-process tests (`*.e2e.test.js`) start real processes and ports, so they run one file
// at a time to stay within two cores. Usage: node scripts/run-tests.mjs [substring-filter ...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.name.endsWith('.test.js')) out.push(path.relative(root, p));
  }
  return out;
}

const dirs = [
  ...fs.readdirSync(path.join(root, 'packages')).map((p) => path.join(root, 'packages', p, 'dist', 'test')),
  path.join(root, 'test', 'dist'),
];
const all = dirs.flatMap((d) => walk(d, [])).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const unit = all.filter((f) => !f.endsWith('.e2e.test.js'));
const e2e = all.filter((f) => f.endsWith('.e2e.test.js'));

function run(files, concurrency) {
  if (files.length === 0) return 0;
  const args = ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files];
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, KEMU_LOG_LEVEL: process.env.KEMU_LOG_LEVEL ?? 'warn' },
  });
  return r.status ?? 1;
}

const started = Date.now();
const unitStatus = run(unit, Math.max(2, os.availableParallelism()));
const e2eStatus = run(e2e, 1);
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`# kemu: ${unit.length} unit and ${e2e.length} cross-process test files in ${secs}s`);
process.exit(unitStatus || e2eStatus);
