import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes } from '../src/client/bytes.js';
import { parseEtcdctl, UsageError } from '../src/etcdctl/command.js';
import {
  formatEndpointStatus,
  formatGet,
  formatMemberList,
  formatWatchEvent,
  humanizeBytes,
} from '../src/etcdctl/format.js';
import type { ResponseHeader, StatusResponse } from '../src/server/protocol.js';

const header: ResponseHeader = {
  clusterId: 'cdf818194e3a8c32',
  memberId: '8e9e05c52164694d',
  revision: 5,
  raftTerm: 2,
};

test('etcdctl parses etcdctl 3.4 command lines', () => {
  const g = parseEtcdctl(['--endpoints=a:1,b:2', 'get', 'foo', '--prefix', '-w', 'json']);
  assert.deepEqual(g.global.endpoints, ['a:1', 'b:2']);
  assert.equal(g.global.format, 'json');
  assert.deepEqual(g.command, {
    kind: 'get',
    key: 'foo',
    prefix: true,
    limit: 0,
    rev: 0,
    keysOnly: false,
    countOnly: false,
    serializable: false,
  });
  assert.equal(parseEtcdctl(['get', 'a', '--consistency=s']).command.kind, 'get');
  assert.deepEqual(parseEtcdctl(['put', 'k', 'v']).command, {
    kind: 'put',
    key: 'k',
    value: 'v',
    lease: 0,
    prevKv: false,
  });
  assert.deepEqual(parseEtcdctl(['member', 'add', 'etcd-3', '--peer-urls=ws://h:1']).command, {
    kind: 'member-add',
    name: 'etcd-3',
    peerUrls: ['ws://h:1'],
    learner: false,
  });
  assert.equal(parseEtcdctl(['endpoint', 'status', '-w', 'table']).global.format, 'table');
  assert.deepEqual(parseEtcdctl(['get', 'k'], { ETCDCTL_ENDPOINTS: 'x:9' }).global.endpoints, ['x:9']);
});

test('etcdctl rejects bad command lines with UsageError', () => {
  for (const argv of [
    ['frob'],
    ['put', 'k'],
    ['get'],
    ['-w', 'yaml', 'get', 'k'],
    ['get', 'a', 'b', '--prefix'],
    ['member', 'add', 'x'],
    ['--nope', 'get', 'k'],
  ]) {
    assert.throws(() => parseEtcdctl(argv), UsageError, argv.join(' '));
  }
  assert.throws(() => parseEtcdctl([]), /no command given/);
});

test('output matches etcdctl 3.4: simple, json and table', () => {
  const kv = { key: toBytes('foo'), value: toBytes('bar'), createRevision: 2, modRevision: 5, version: 3, lease: 0 };
  assert.equal(formatGet({ type: 'range', header, kvs: [kv], more: false, count: 1 }, 'simple'), 'foo\nbar\n');
  assert.equal(
    formatGet({ type: 'range', header, kvs: [kv], more: false, count: 1 }, 'json'),
    '{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":5,"raft_term":2},' +
      '"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":5,"version":3,"value":"YmFy"}],"count":1}\n',
  );
  assert.equal(
    formatWatchEvent({ type: 'delete', kv: { ...kv, value: new Uint8Array(0) } }, 'simple', header),
    'DELETE\nfoo\n\n',
  );
  assert.equal(
    formatMemberList(
      [{ id: '8e9e05c52164694d', name: 'etcd-0', peerUrls: ['ws://a:1'], clientUrls: ['ws://a:1'], isLearner: false }],
      header,
      'simple',
    ),
    '8e9e05c52164694d, started, etcd-0, ws://a:1, ws://a:1, false\n',
  );
  const status: StatusResponse = {
    header,
    version: '3.4.0-kemu',
    dbSize: 20480,
    leader: '8e9e05c52164694d',
    leaderName: 'etcd-0',
    raftIndex: 9,
    raftTerm: 2,
    raftAppliedIndex: 9,
    isLearner: false,
    errors: [],
    name: 'etcd-0',
    leaderClientUrl: 'ws://a:1',
  };
  assert.equal(
    formatEndpointStatus([{ endpoint: 'a:1', status }], 'simple'),
    'a:1, 8e9e05c52164694d, 3.4.0-kemu, 20 kB, true, false, 2, 9, 9, \n',
  );
  const table = formatEndpointStatus([{ endpoint: 'a:1', status }], 'table').split('\n');
  assert.equal(
    table[1],
    '| ENDPOINT |        ID        |  VERSION   | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |',
  );
  assert.equal(
    table[3],
    '|      a:1 | 8e9e05c52164694d | 3.4.0-kemu |   20 kB |      true |      false |         2 |          9 |                  9 |        |',
  );
  assert.equal(humanizeBytes(5), '5 B');
  assert.equal(humanizeBytes(21500), '22 kB', 'Go rounds half to even: 21.5 -> 22');
  assert.equal(humanizeBytes(1500), '1.5 kB');
  assert.equal(humanizeBytes(25_000_000), '25 MB');
});
