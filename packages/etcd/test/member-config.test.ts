import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagError, parseMemberFlags } from '../src/member/config.js';

const PEERS = 'etcd-0=ws://127.0.0.1:2380,etcd-1=ws://127.0.0.1:2381,etcd-2=ws://127.0.0.1:2382';
const base = ['--name', 'etcd-0', '--data-dir', '/tmp/x', '--listen', '127.0.0.1:2380', '--peers', PEERS];

test('member flags: defaults and every option', () => {
  const c = parseMemberFlags(base);
  assert.equal(c.name, 'etcd-0');
  assert.equal(c.listenPort, 2380);
  assert.deepEqual(
    c.peers.map((p) => p.url),
    ['ws://127.0.0.1:2380', 'ws://127.0.0.1:2381', 'ws://127.0.0.1:2382'],
  );
  assert.equal(c.heartbeatIntervalMs, 100);
  assert.equal(c.electionTimeoutMs, 1000);
  assert.equal(c.snapshotCount, 100000, "etcd's default");
  assert.equal(c.adminPort, 0);
  assert.equal(c.maxRequestBytes, 1.5 * 1024 * 1024);
  const d = parseMemberFlags([
    ...base,
    '--admin-port=9000',
    '--heartbeat-interval',
    '50',
    '--election-timeout',
    '500',
    '--snapshot-count',
    '20',
    '--snapshot-catchup-entries',
    '100',
  ]);
  assert.equal(d.adminPort, 9000);
  assert.equal(d.heartbeatIntervalMs, 50);
  assert.equal(d.snapshotCount, 20);
  assert.equal(d.snapshotCatchUpEntries, 20, 'catch-up entries are capped to the snapshot count');
});

test('member flags: bad input is a FlagError with a clear message', () => {
  const bad: [string[], RegExp][] = [
    [[], /--name is required/],
    [base.slice(0, 6), /--peers is required/],
    [[...base, '--bogus', '1'], /unknown flag --bogus/],
    [[...base, '--admin-port'], /--admin-port needs a value/],
    [[...base, '--heartbeat-interval', 'fast'], /whole number/],
    [[...base, '--election-timeout', '200'], /at least 5x/],
    [['--name', 'etcd-9', ...base.slice(2)], /must include this member/],
    [[...base.slice(0, 6), '--peers', 'etcd-0=http://x:1'], /ws:\/\/HOST:PORT/],
    [[...base.slice(0, 6), '--peers', 'etcd-0=ws://a:1,etcd-0=ws://b:2'], /twice/],
    [[...base.slice(0, 4), '--listen', 'nohost'], /HOST:PORT/],
    [[...base, '--initial-cluster-state', 'maybe'], /new' or 'existing/],
    [[...base, 'stray'], /unexpected argument/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(
      () => parseMemberFlags(argv),
      (err: unknown) => err instanceof FlagError && err.code === 'ETCD_BAD_FLAG' && re.test(err.message),
      argv.join(' '),
    );
  }
});
