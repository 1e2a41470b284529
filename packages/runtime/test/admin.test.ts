import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminRequestError, AdminServer } from '../src/admin.js';
import { silentLogger } from '../src/logger.js';

test('admin endpoint serves health, readiness, metrics and added routes', async (t) => {
  const admin = new AdminServer(silentLogger());
  let ready = false;
  admin.addReadinessCheck(() => ready || 'not synced yet');
  admin.route('POST', '/echo', (req) => {
    if (req.body === undefined) throw new AdminRequestError(400, 'body required');
    return { body: { got: req.body } };
  });
  const { port } = await admin.listen(0);
  t.after(() => admin.close());
  const base = `http://127.0.0.1:${port}`;

  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const notReady = await fetch(`${base}/readyz`);
  assert.equal(notReady.status, 503);
  assert.match(await notReady.text(), /not synced yet/);
  ready = true;
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.match(await (await fetch(`${base}/metrics`)).text(), /process_cpu_user_seconds_total/);

  const echo = await fetch(`${base}/echo`, { method: 'POST', body: JSON.stringify({ a: 1 }) });
  assert.deepEqual(await echo.json(), { got: { a: 1 } });
  assert.equal((await fetch(`${base}/echo`, { method: 'POST', body: '{bad' })).status, 400);
  assert.equal((await fetch(`${base}/echo`, { method: 'POST' })).status, 400);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
});
