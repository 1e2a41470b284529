import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SeededRandom, silentLogger, systemRuntime } from '@kemu/runtime';
import { FaultTable, WireServer } from '@kemu/wire';
import { Registry } from 'prom-client';
import { ApiserverConnection, wireEndpoint } from '../src/apiserver-connection.js';

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ApiserverConnection', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('wireEndpoint adds the /wire path only when none is given', () => {
    assert.equal(wireEndpoint('ws://127.0.0.1:6444'), 'ws://127.0.0.1:6444/wire');
    assert.equal(wireEndpoint('ws://127.0.0.1:6444/'), 'ws://127.0.0.1:6444/wire');
    assert.equal(wireEndpoint('ws://127.0.0.1:6444/custom'), 'ws://127.0.0.1:6444/custom');
  });

  it('sends calls to a connected apiserver and moves to the other one when it goes away', async () => {
    const servers = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const s = new WireServer({ identity: `kube-apiserver/${name}`, log: silentLogger() });
        s.handle('api.get', () => name);
        await s.listen(0);
        return s;
      }),
    );
    const [a, b] = servers as [WireServer, WireServer];
    let aOpen = true;
    closers.push(async () => {
      if (aOpen) await a.close();
      await b.close();
    });
    const conn = new ApiserverConnection({
      urls: [a.url, b.url],
      identity: 'kube-controller-manager/test',
      log: silentLogger(),
      runtime: systemRuntime,
      random: new SeededRandom(3),
      faults: new FaultTable(),
      metrics: new Registry(),
    }).start();
    closers.push(() => conn.close());
    await until(() => conn.connected, 'a connection');
    const first = await conn.request<string>('api.get');
    assert.ok(first === 'a' || first === 'b');
    const survivor = first === 'a' ? 'b' : 'a';
    await (first === 'a' ? a : b).close();
    if (first === 'a') aOpen = false;
    await until(
      async () => (await conn.request<string>('api.get').catch(() => '')) === survivor,
      `calls to ${survivor}`,
    );
    assert.equal(conn.connected, true);
  });
});
