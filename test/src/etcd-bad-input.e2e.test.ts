/**
 * Bad input against a real (single-member) etcd process: malformed and oversize requests, unknown
 * methods, invalid ranges and garbage frames get typed errors, and the member keeps serving.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  bytesToString,
  CompactedError,
  EtcdError,
  FutureRevisionError,
  Methods,
  RequestTooLargeError,
  toBytes,
} from '@kemu/etcd';
import { silentLogger } from '@kemu/runtime';
import { RemoteError, WireClient } from '@kemu/wire';
import WebSocket from 'ws';
import { EtcdTestCluster, REPO_ROOT } from './etcd-harness.js';

const CLI = path.join(REPO_ROOT, 'packages', 'cli', 'dist', 'src', 'bin.js');

function etcdctl(endpoint: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'etcdctl', `--endpoints=${endpoint}`, ...args], {
    encoding: 'utf8',
    timeout: 20000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('etcd: bad input gets typed errors and the member keeps serving', () => {
  let cluster: EtcdTestCluster;
  let raw: WireClient;

  before(async () => {
    cluster = await EtcdTestCluster.start({ size: 1 });
    await cluster.waitForLeader();
    raw = new WireClient({
      url: `ws://${cluster.members[0]!.endpoint}/wire`,
      identity: 'test/raw',
      log: silentLogger(),
      reconnect: false,
    }).start();
    await raw.whenConnected(5000);
  });
  after(async () => {
    await raw?.close();
    await cluster?.destroy();
  });

  async function remoteCode(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof RemoteError, `expected a RemoteError, got ${String(err)}`);
      return `${err.code}: ${err.message}`;
    }
    assert.fail('request unexpectedly succeeded');
  }

  test('malformed requests', async () => {
    assert.match(
      await remoteCode(raw.request(Methods.put, 'garbage')),
      /ETCD_INVALID_ARGUMENT: etcdserver: put: request must be an object/,
    );
    assert.match(await remoteCode(raw.request(Methods.put, { key: 'not-bytes', value: 1 })), /key must be bytes/);
    assert.match(
      await remoteCode(raw.request(Methods.range, { key: new Uint8Array(0) })),
      /ErrEmptyKey: etcdserver: key is not provided/,
    );
    assert.match(await remoteCode(raw.request(Methods.txn, { compare: 'x', success: [], failure: [] })), /compare/);
    assert.match(await remoteCode(raw.request(Methods.leaseGrant, { ttl: -5 })), /ttl must be an integer/);
    assert.match(
      await remoteCode(raw.request(Methods.memberAdd, { name: 'x', peerUrls: ['http://nope'] })),
      /peer URL/,
    );
  });

  test('unknown methods', async () => {
    assert.match(await remoteCode(raw.request('KV.Nope', {})), /WIRE_UNKNOWN_METHOD/);
  });

  test('oversize requests get etcd’s error', async () => {
    const c = cluster.client();
    await assert.rejects(c.put('big', new Uint8Array(1.6 * 1024 * 1024)), (err: unknown) => {
      assert.ok(err instanceof RequestTooLargeError);
      assert.equal(err.message, 'etcdserver: request is too large');
      return true;
    });
    // Just under the limit is fine.
    await c.put('almost-big', new Uint8Array(1024 * 1024));
  });

  test('invalid ranges: future and compacted revisions', async () => {
    const c = cluster.client();
    const r1 = await c.put('rev/a', '1');
    await c.put('rev/a', '2');
    const r3 = await c.put('rev/a', '3');
    await assert.rejects(c.range('rev/a', { revision: r3.header.revision + 1000 }), FutureRevisionError);
    await c.compact(r3.header.revision);
    await assert.rejects(c.range('rev/a', { revision: r1.header.revision }), (err: unknown) => {
      assert.ok(err instanceof CompactedError);
      assert.equal(err.message, 'mvcc: required revision has been compacted');
      return true;
    });
    await assert.rejects(c.compact(1), CompactedError);
    const w = c.watch('rev/a', { startRevision: r1.header.revision });
    await assert.rejects(async () => {
      for await (const _ of w) {
        // a compacted start revision ends the watch with CompactedError, never with events
      }
    }, CompactedError);
    await assert.rejects(
      c.delete(''),
      (err: unknown) => err instanceof EtcdError && /key is not provided/.test(err.message),
    );
    await assert.rejects(
      c.leaseRevoke(424242),
      (err: unknown) => err instanceof EtcdError && /lease not found/.test(err.message),
    );
  });

  test('garbage frames and forged raft messages do not hurt the member', async () => {
    const ws = new WebSocket(`ws://${cluster.members[0]!.endpoint}/wire`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]));
    ws.send('not even binary');
    await closed;
    // A client pretending to be a peer, sending nonsense Raft traffic.
    raw.notify('Raft.Messages', [{ type: 'MsgApp', from: 'etcd-9', to: 'etcd-0' }, 'junk']);
    raw.notify('Raft.Messages', 'junk');

    const c = cluster.client();
    await c.put('still/serving', 'yes');
    assert.equal(bytesToString((await c.get('still/serving'))!.value), 'yes');
    assert.equal(bytesToString(toBytes('x')), 'x');
  });

  test('kemu etcdctl talks to the member and prints like etcdctl 3.4', () => {
    const ep = cluster.members[0]!.endpoint;
    assert.deepEqual(etcdctl(ep, 'put', 'ctl/k', 'hello'), { status: 0, stdout: 'OK\n', stderr: '' });
    assert.equal(etcdctl(ep, 'get', 'ctl/k').stdout, 'ctl/k\nhello\n');
    const json = JSON.parse(etcdctl(ep, 'get', 'ctl/', '--prefix', '-w', 'json').stdout) as {
      kvs: { key: string; value: string; version: number }[];
      count: number;
    };
    assert.equal(json.count, 1);
    assert.equal(Buffer.from(json.kvs[0]!.key, 'base64').toString(), 'ctl/k');
    assert.equal(Buffer.from(json.kvs[0]!.value, 'base64').toString(), 'hello');
    const table = etcdctl(ep, 'endpoint', 'status', '-w', 'table').stdout.split('\n');
    assert.match(
      table[1]!,
      /\| +ENDPOINT +\| +ID +\| +VERSION +\| +DB SIZE +\| +IS LEADER +\| +IS LEARNER +\| +RAFT TERM +\| +RAFT INDEX +\| +RAFT APPLIED INDEX +\| +ERRORS +\|/,
    );
    assert.match(
      table[3]!,
      new RegExp(
        `\\| +${ep.replace(/\./g, '\\.')} \\| [0-9a-f]{16} \\| +3\\.4\\.0-kemu \\| .* \\| +true \\| +false \\|`,
      ),
    );
    assert.match(
      etcdctl(ep, 'member', 'list').stdout,
      /^[0-9a-f]{16}, started, etcd-0, ws:\/\/127\.0\.0\.1:\d+, ws:\/\/127\.0\.0\.1:\d+, false\n$/,
    );
    assert.equal(etcdctl(ep, 'del', 'ctl/k').stdout, '1\n');
    const bad = etcdctl(ep, 'get');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^Error: get command needs one argument/);
  });
});
