import { silentLogger } from '@kemu/runtime';
import { WireClient, type WireClientOptions } from '../src/client.js';
import { WireServer, type WireServerOptions } from '../src/server.js';

/** Polls `cond` until it holds or the deadline passes (generous: the machine is shared). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A server and a connected client in this process, over real loopback sockets. */
export async function pair(
  serverOpts: Partial<WireServerOptions> = {},
  clientOpts: Partial<WireClientOptions> = {},
): Promise<{ server: WireServer; client: WireClient; close: () => Promise<void> }> {
  const server = new WireServer({ identity: 'test/server', log: silentLogger(), ...serverOpts });
  await server.listen(0);
  const client = new WireClient({ identity: 'test/client', log: silentLogger(), url: server.url, ...clientOpts });
  await client.start().whenConnected(10_000);
  return {
    server,
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}
