// Acceptance 4 and the internal wire API: two stateless apiservers over one 3-member etcd; an
// apiserver restart and an etcd leader kill; watches resume from their resourceVersion without
// missing an event; a compacted resourceVersion gives the typed 410 and the client relists.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { silentLogger } from '@kemu/runtime';
import { RemoteError, WireClient } from '@kemu/wire';
import { TestCluster, waitFor } from './helpers/cluster.js';

let c: TestCluster;

before(async () => {
  c = await TestCluster.start({ apiserverArgs: ['--bookmark-interval-ms', '200'] });
  await c.startApiServer(['--bookmark-interval-ms', '200']);
});

// A failure here is usually a timing story across processes: print every component's log tail.
afterEach((t) => {
  // `passed` is on Node 20's TestContext at run time but not in @types/node 20.
  const ctx = t as { passed?: boolean; diagnostic?: (message: string) => void };
  if (ctx.passed === false && c) ctx.diagnostic?.(c.dumpLogs());
});

after(async () => {
  await c?.destroy();
});

interface WatchLine {
  type: string;
  object: { metadata: { name?: string; resourceVersion: string }; code?: number; reason?: string; message?: string };
}

/** An HTTP watch collecting NDJSON events until `stop()`. */
function httpWatch(url: string) {
  const events: WatchLine[] = [];
  const ctl = new AbortController();
  let ended = false;
  const done = (async () => {
    try {
      const res = await fetch(url, { signal: ctl.signal });
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        buf += dec.decode(value, { stream: true });
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as WatchLine);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
      }
    } catch {
      // aborted or connection lost
    } finally {
      ended = true;
    }
  })();
  return {
    events,
    get ended() {
      return ended;
    },
    stop: async () => {
      ctl.abort();
      await done;
    },
  };
}

async function createConfigMap(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name }, data: { n: name } }),
  });
  const body = (await res.json()) as { metadata: { resourceVersion: string }; message?: string };
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${body.message ?? ''}`);
  return body.metadata.resourceVersion;
}

test('an apiserver restart: kubectl cannot connect, then works; a watch resumes from its resourceVersion', async () => {
  const [a, b] = c.apiservers as [NonNullable<(typeof c.apiservers)[0]>, NonNullable<(typeof c.apiservers)[1]>];
  const rv0 = await createConfigMap(a.url, 'before-restart');
  await a.kill9();
  const down = await c.kubectl(['get', 'cm'], { env: {} });
  assert.notEqual(down.code, 0);
  assert.match(down.stderr, /connect: connection refused|was refused/);
  // Writes go on through the other apiserver while this one is down.
  const names = ['during-1', 'during-2', 'during-3'];
  for (const n of names) await createConfigMap(b.url, n);
  const restarted = await c.startApiServer(['--bookmark-interval-ms', '200'], a.port, a.wirePort);
  assert.match(await c.k(['get', 'cm']), /^during-3\s+1\s+/m);
  // The restarted apiserver's cache starts after rv0: it replays the gap from etcd's history.
  const w = httpWatch(`${restarted.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv0}`);
  try {
    await waitFor('the missed events', () => w.events.filter((e) => e.type === 'ADDED').length >= 3);
    assert.deepEqual(
      w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name),
      names,
    );
  } finally {
    await w.stop();
  }
});

test('killing the etcd leader: writes succeed again once etcd has a leader; watches miss nothing', async () => {
  const api = c.api;
  const list = (await (await fetch(`${api.url}/api/v1/namespaces/default/configmaps`)).json()) as {
    metadata: { resourceVersion: string };
  };
  const w = httpWatch(
    `${api.url}/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`,
  );
  try {
    await createConfigMap(api.url, 'leader-0');
    const leader = await c.etcdLeader();
    await leader.kill9();
    // Like a user retrying kubectl: each write is retried until etcd has a new leader.
    const written: string[] = ['leader-0'];
    for (let i = 1; i <= 5; i++) {
      const name = `leader-${i}`;
      await waitFor(
        `create ${name}`,
        async () => {
          const r = await c.kubectl([
            'create',
            'configmap',
            name,
            '--from-literal=k=v',
            '--dry-run=client',
            '-o',
            'json',
          ]);
          const created = await c.kubectl(['create', '-f', '-'], { input: r.stdout });
          if (created.code === 0) return true;
          if (/AlreadyExists/.test(created.stderr)) return true;
          return undefined;
        },
        { timeoutMs: 30000, intervalMs: 200 },
      );
      written.push(name);
    }
    await waitFor(
      'every write seen by the watch',
      () => {
        const seen = w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name);
        return written.every((n) => seen.includes(n));
      },
      { timeoutMs: 30000 },
    );
    const rvs = w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual(
      rvs,
      [...rvs].sort((x, y) => x - y),
      'events arrive in resourceVersion order',
    );
    assert.equal(new Set(rvs).size, rvs.length, 'no event delivered twice');
    assert.ok(
      w.events.some((e) => e.type === 'BOOKMARK'),
      'bookmarks were sent',
    );
    assert.equal(w.ended, false);
  } finally {
    await w.stop();
    // Bring the killed member back for the rest of the file.
    for (const m of c.etcd) if (!m.running) m.start();
  }
});

test('wire API: list, create, watch with bookmarks, typed errors, 410 Expired after compaction', async () => {
  // The restarted apiserver: its watch cache began after the early revisions.
  const api = c.apiservers[c.apiservers.length - 1]!;
  const client = new WireClient({
    identity: 'test/informer',
    log: silentLogger(),
    url: `ws://127.0.0.1:${api.wirePort}/wire`,
  });
  try {
    await client.start().whenConnected(10000);
    const list = await client.request<{ items: { metadata: { name: string } }[]; resourceVersion: string }>(
      'api.list',
      {
        resource: 'configmaps',
        namespace: 'default',
      },
    );
    assert.ok(list.items.some((i) => i.metadata.name === 'during-1'));
    const stream = client.stream<{ type: string; object?: { metadata: { name: string } }; resourceVersion?: string }>(
      'api.watch',
      {
        resource: 'configmaps',
        namespace: 'default',
        resourceVersion: list.resourceVersion,
        allowWatchBookmarks: true,
      },
    );
    await client.request('api.create', {
      resource: 'configmaps',
      namespace: 'default',
      object: { metadata: { name: 'via-wire' }, data: { a: 'b' } },
    });
    const seen: string[] = [];
    let bookmark = false;
    for await (const ev of stream) {
      if (ev.type === 'BOOKMARK') bookmark = true;
      else seen.push(`${ev.type} ${ev.object?.metadata.name}`);
      if (bookmark && seen.includes('ADDED via-wire')) break;
    }
    await assert.rejects(
      client.request('api.get', { resource: 'configmaps', namespace: 'default', name: 'nope' }),
      (err: unknown) => err instanceof RemoteError && err.code === 'API_NOT_FOUND',
    );
    await assert.rejects(
      client.request('api.create', {
        resource: 'configmaps',
        namespace: 'default',
        object: { metadata: { name: 'via-wire' } },
      }),
      (err: unknown) => err instanceof RemoteError && err.code === 'API_ALREADY_EXISTS',
    );
    const target = { resource: 'configmaps', namespace: 'default', name: 'via-wire' };
    const cur = await client.request<{ metadata: { resourceVersion: string } }>('api.get', target);
    const patched = await client.request<{ data: Record<string, string>; metadata: { resourceVersion: string } }>(
      'api.patch',
      { ...target, patchType: 'merge', patch: { data: { c: 'd' } } },
    );
    assert.deepEqual(patched.data, { a: 'b', c: 'd' });
    await assert.rejects(
      client.request('api.update', {
        ...target,
        object: { metadata: { name: 'via-wire', resourceVersion: cur.metadata.resourceVersion }, data: {} },
      }),
      (err: unknown) => err instanceof RemoteError && err.code === 'API_CONFLICT',
    );
    const deleted = await client.request<{ deleted: boolean }>('api.delete', target);
    assert.equal(deleted.deleted, true);
    await assert.rejects(
      client.request('api.list', { resource: 'pods', labelSelector: 'a in (' }),
      (err: unknown) => err instanceof RemoteError && err.code === 'API_BAD_REQUEST',
    );
    await assert.rejects(
      client.request('api.list', { resource: 'widgets' }),
      (err: unknown) => err instanceof RemoteError && err.code === 'API_BAD_REQUEST',
    );
    // Compact etcd, restart the apiserver (its cache starts now): an old resourceVersion is gone.
    const etcd = c.etcdClient();
    const head = (await etcd.range('/registry/', { prefix: true, countOnly: true })).header.revision;
    await etcd.compact(head);
    const expired = client.stream('api.watch', { resource: 'configmaps', namespace: 'default', resourceVersion: '2' });
    await assert.rejects(
      (async () => {
        for await (const _ of expired) {
          // drain
        }
      })(),
      (err: unknown) =>
        err instanceof RemoteError &&
        err.code === 'API_EXPIRED' &&
        /^too old resource version: 2 \(\d+\)$/.test(err.message),
    );
    const http = await fetch(`${api.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2`);
    const first = JSON.parse((await http.text()).split('\n')[0]!) as WatchLine;
    assert.equal(first.type, 'ERROR');
    assert.equal(first.object.code, 410);
    assert.equal(first.object.reason, 'Expired');
  } finally {
    await client.close();
  }
});

test('losing the etcd majority: a clear 503, the apiserver stays up, writes resume once quorum is back', async () => {
  for (const m of c.etcd) if (!m.running) m.start();
  await c.etcdLeader();
  const [m0, m1] = c.etcd as [NonNullable<(typeof c.etcd)[0]>, NonNullable<(typeof c.etcd)[1]>];
  await m0.kill9();
  await m1.kill9();
  const refused = await c.kubectl(['create', 'configmap', 'no-quorum', '--from-literal=a=b'], { timeoutMs: 40000 });
  assert.equal(refused.code, 1);
  // The typed client prints `error: failed to create configmap: <Status message>`.
  // Depending on when the write noticed: 503 (no leader) or 504 (the proposal timed out).
  assert.match(
    refused.stderr,
    /etcd is unavailable: etcdserver: |Timeout: request did not complete within the allowed duration: etcdserver: request timed out/,
  );
  assert.equal((await fetch(`${c.api.url}/healthz`)).status, 200, 'the apiserver process keeps serving');
  m0.start();
  m1.start();
  await waitFor(
    'writes accepted again',
    async () => (await c.kubectl(['create', 'configmap', 'quorum-back', '--from-literal=a=b'])).code === 0,
    { timeoutMs: 40000, intervalMs: 500 },
  );
  assert.match(await c.k(['get', 'cm', 'quorum-back']), /^quorum-back\s+1\s+/m);
});
