import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeConfChange, encodeConfChange } from '../src/conf-change.js';
import {
  CompactedError,
  InvalidConfChangeError,
  InvalidConfigError,
  InvalidMessageError,
  ProposalDroppedError,
  ReadyProtocolError,
  SnapshotOutOfDateError,
  UnavailableError,
} from '../src/errors.js';
import { RawNode } from '../src/raw-node.js';
import { MemoryStorage } from '../src/storage.js';
import type { Entry } from '../src/types.js';
import { makeMessage } from '../src/types.js';

const enc = new TextEncoder();

function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: 'normal', data: enc.encode(`e${i}`) });
  return out;
}

function node(id = 'n1', storage = MemoryStorage.bootstrap(['n1', 'n2', 'n3'])): RawNode {
  return new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, random: () => 0 });
}

describe('MemoryStorage', () => {
  test('append replaces a conflicting suffix; term and entries respect the bounds', () => {
    const s = MemoryStorage.bootstrap(['n1']);
    assert.equal(s.firstIndex(), 2);
    assert.equal(s.lastIndex(), 1);
    assert.equal(s.term(1), 1, 'the snapshot’s own term is available');
    s.append(ents(2, 5, 2));
    s.append(ents(4, 6, 3));
    assert.deepEqual(
      [2, 3, 4, 5, 6].map((i) => s.term(i)),
      [2, 2, 3, 3, 3],
    );
    assert.throws(() => s.term(0), CompactedError);
    assert.throws(() => s.term(7), UnavailableError);
    assert.throws(
      () => s.entries(1, 3, 1000),
      (e: unknown) => e instanceof CompactedError && e.code === 'raft-compacted',
    );
    assert.throws(
      () => s.entries(2, 8, 1000),
      (e: unknown) => e instanceof UnavailableError && e.code === 'raft-unavailable',
    );
    assert.equal(s.entries(2, 7, 0).length, 1, 'a size limit still returns one entry');
  });

  test('createSnapshot + compact drop the prefix; an older snapshot is refused', () => {
    const s = MemoryStorage.bootstrap(['n1']);
    s.append(ents(2, 10, 2));
    const snap = s.createSnapshot(8, null, enc.encode('state'));
    assert.equal(snap.metadata.term, 2);
    s.compact(6);
    assert.equal(s.firstIndex(), 7);
    assert.throws(() => s.entries(6, 8, 1000), CompactedError);
    assert.throws(() => s.applySnapshot({ ...snap, metadata: { ...snap.metadata, index: 5 } }), SnapshotOutOfDateError);
  });
});

describe('RawNode input checks', () => {
  test('rejects bad configuration with InvalidConfigError', () => {
    const storage = MemoryStorage.bootstrap(['n1']);
    assert.throws(
      () => new RawNode({ id: '', storage, electionTick: 10, heartbeatTick: 1, random: Math.random }),
      InvalidConfigError,
    );
    assert.throws(
      () => new RawNode({ id: 'n1', storage, electionTick: 1, heartbeatTick: 1, random: Math.random }),
      (e: unknown) => e instanceof InvalidConfigError && e.code === 'raft-invalid-config',
    );
  });

  test('rejects local-only and malformed messages from the network, and keeps working', () => {
    const n = node();
    assert.throws(() => n.step(makeMessage({ type: 'MsgHup', from: 'n2', to: 'n1', term: 1 })), InvalidMessageError);
    assert.throws(() => n.step(makeMessage({ type: 'MsgApp', from: 'n2', to: 'n9', term: 2 })), InvalidMessageError);
    assert.throws(() => n.step(makeMessage({ type: 'MsgApp', from: 'n2', to: 'n1', term: 0 })), InvalidMessageError);
    assert.throws(
      () => n.step({ ...makeMessage({ type: 'MsgApp', from: 'n2', to: 'n1', term: 2 }), index: -1 }),
      (e: unknown) => e instanceof InvalidMessageError && e.code === 'raft-invalid-message',
    );
    assert.throws(
      () => n.step({ ...makeMessage({ type: 'MsgSnap', from: 'n2', to: 'n1', term: 2 }), snapshot: null }),
      InvalidMessageError,
    );
    assert.equal(n.status().hardState.term, 1, 'nothing was applied');
    n.step(makeMessage({ type: 'MsgHeartbeat', from: 'n2', to: 'n1', term: 2, commit: 1 }));
    assert.equal(n.status().softState.lead, 'n2');
  });

  test('a proposal with no known leader is dropped with ProposalDroppedError', () => {
    assert.throws(
      () => node().propose(enc.encode('x')),
      (e: unknown) => e instanceof ProposalDroppedError && e.code === 'raft-proposal-dropped',
    );
  });

  test('conf change payloads are validated', () => {
    const cc = { type: 'add-voter' as const, nodeId: 'n4', context: 'addr' };
    assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
    assert.throws(() => decodeConfChange(enc.encode('{"type":"nope","nodeId":"x"}')), InvalidConfChangeError);
    assert.throws(() => decodeConfChange(enc.encode('not json')), InvalidConfChangeError);
  });
});

describe('the Ready contract', () => {
  test('ready() twice without advance() is a protocol error', () => {
    const n = node('n1', MemoryStorage.bootstrap(['n1']));
    n.campaign();
    n.ready();
    assert.throws(() => n.ready(), ReadyProtocolError);
    n.advance();
    assert.throws(() => n.advance(), ReadyProtocolError);
  });

  test('a vote must be synced, and a leader counts its own entries only after advance()', () => {
    const storage = MemoryStorage.bootstrap(['n1']);
    const n = node('n1', storage);
    n.campaign();
    const rd = n.ready();
    assert.equal(rd.softState?.state, 'leader');
    assert.deepEqual(rd.hardState, { term: 2, vote: 'n1', commit: 1 });
    assert.equal(rd.mustSync, true);
    assert.equal(rd.entries.length, 1, 'the empty entry of the new term');
    assert.equal(rd.committedEntries.length, 0, 'not committed before it is persisted');
    storage.append(rd.entries);
    storage.setHardState(rd.hardState as NonNullable<typeof rd.hardState>);
    n.advance();
    const rd2 = n.ready();
    assert.deepEqual(
      rd2.committedEntries.map((e) => e.index),
      [2],
    );
    assert.equal(rd2.hardState?.commit, 2);
    assert.equal(rd2.mustSync, false, 'a commit-only change need not be fsynced');
    n.advance();
  });

  test('a restarted node resumes from the persisted term and vote', () => {
    const storage = MemoryStorage.bootstrap(['n1', 'n2', 'n3']);
    const n = node('n1', storage);
    n.step(makeMessage({ type: 'MsgVote', from: 'n2', to: 'n1', term: 5, index: 1, logTerm: 1 }));
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 5, vote: 'n2', commit: 1 });
    assert.equal(rd.messages[0]?.type, 'MsgVoteResp');
    assert.equal(rd.messages[0]?.reject, false);
    storage.setHardState(rd.hardState as NonNullable<typeof rd.hardState>);
    n.advance();
    const restarted = node('n1', storage);
    assert.deepEqual(restarted.status().hardState, { term: 5, vote: 'n2', commit: 1 });
    restarted.step(makeMessage({ type: 'MsgVote', from: 'n3', to: 'n1', term: 5, index: 1, logTerm: 1 }));
    const again = restarted.ready();
    assert.equal(again.messages[0]?.reject, true, 'it does not vote twice in term 5');
  });
});
