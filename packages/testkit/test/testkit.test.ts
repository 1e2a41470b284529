import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ChildProc, freePort, waitFor } from '../src/index.js';

test('waitFor returns the first truthy value and names what it waited for on timeout', async () => {
  let n = 0;
  assert.equal(await waitFor('third try', () => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  await assert.rejects(
    waitFor('never', () => false, { timeoutMs: 50, intervalMs: 5 }),
    /timed out after 50 ms waiting for never/,
  );
});

test('a child process logs to its file, and SIGKILL reaches its whole group', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-testkit-'));
  const port = await freePort();
  // The child spawns a grandchild that would outlive a kill of the child alone.
  const script = `console.log('up ${port}'); require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000);`;
  const child = new ChildProc('sleeper', ['-e', script], path.join(dir, 'log'));
  t.after(async () => {
    await child.kill9();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  child.start();
  await waitFor('the child to log', () => child.logs().includes(`up ${port}`));
  const pgid = child.proc!.pid!;
  await child.kill9();
  assert.equal(child.running, false);
  await waitFor('the whole group to be gone', () => {
    try {
      process.kill(-pgid, 0);
      return false;
    } catch {
      return true;
    }
  });
});
