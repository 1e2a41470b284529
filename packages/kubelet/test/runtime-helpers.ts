import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { silentLogger, systemRuntime } from '@kemu/runtime';
import { ProcessRuntime, type ProcessRuntimeOptions } from '../src/runtime/process-runtime.js';

export async function waitFor<T>(
  cond: () => T | Promise<T>,
  opts: { timeoutMs?: number; what?: string; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

export function tempDir(t: TestContext, prefix = 'kemu-rt-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let rangeSeq = 0;
/**
 * A pod range of its own for every runtime a test makes (a /24 keyed by this process's pid), so
 * test processes running at the same time never bind the same pod IP and port.
 */
export function uniquePodCidr(): string {
  return `127.${20 + (process.pid % 200)}.${++rangeSeq % 256}.0/24`;
}

/** A process runtime whose children are all killed when the test ends, pass or fail. */
export function processRuntime(t: TestContext, opts: Partial<ProcessRuntimeOptions> = {}): ProcessRuntime {
  const rt = new ProcessRuntime({
    runtime: systemRuntime,
    logger: silentLogger(),
    stateDir: tempDir(t),
    podCidr: uniquePodCidr(),
    ...opts,
  });
  t.after(() => rt.close());
  return rt;
}

export async function readAll(stream: Readable): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += String(chunk);
  return s;
}

let podSeq = 0;
export function podMeta(name: string) {
  return { name, namespace: 'default', uid: `uid-${name}-${++podSeq}` };
}
