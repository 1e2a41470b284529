import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProposalDroppedError } from '../src/errors.js';
import { Scenario } from './scenario.js';

const decoder = new TextDecoder();

function cluster3(): Scenario {
  const c = new Scenario(['n1', 'n2', 'n3']);
  c.elect('n1');
  return c;
}

test('snapshot install: a follower behind the compacted log catches up from the leader’s snapshot', () => {
  const c = cluster3();
  c.isolate('n3');
  for (const v of ['a', 'b', 'c', 'd']) c.propose('n1', v);
  c.stabilize();
  const snapIndex = c.compact('n1');
  assert.equal(c.m('n1').storage.firstIndex(), snapIndex + 1, 'the leader’s log starts after the snapshot');
  c.heal();
  c.tick(2);
  const n3 = c.m('n3').storage.snapshot();
  assert.equal(n3.metadata.index, snapIndex, 'n3 installed the leader’s snapshot');
  assert.deepEqual(JSON.parse(decoder.decode(n3.data)), ['a', 'b', 'c', 'd']);
  assert.deepEqual(n3.metadata.confState.voters, ['n1', 'n2', 'n3']);
  c.propose('n1', 'e');
  c.stabilize();
  assert.deepEqual(c.values('n3'), ['e'], 'and replicates normally afterwards');
  assert.equal(c.node('n1').status().progress.n3?.state, 'replicate');
});

test('leadership transfer: the leader catches the transferee up, then hands over with MsgTimeoutNow', () => {
  const c = cluster3();
  c.isolate('n3');
  c.propose('n1', 'x');
  c.stabilize();
  c.heal();
  c.node('n1').transferLeadership('n3');
  c.stabilize();
  assert.deepEqual(c.leaders(), ['n3']);
  assert.equal(c.term('n3'), 3, 'the transferee campaigns at once in the next term');
  assert.equal(c.state('n1'), 'follower');
  c.propose('n3', 'y');
  c.stabilize();
  for (const id of ['n1', 'n2', 'n3']) assert.deepEqual(c.values(id), ['x', 'y']);
});

test('leadership transfer: proposals are refused while a transfer is under way', () => {
  const c = cluster3();
  c.isolate('n2');
  c.node('n1').transferLeadership('n2');
  assert.throws(() => c.propose('n1', 'z'), ProposalDroppedError);
  // It is abandoned after an election timeout, and the leader takes proposals again.
  c.tick(c.electionTick, ['n1']);
  c.propose('n1', 'z');
  c.stabilize();
  assert.deepEqual(c.values('n3'), ['z']);
});

test('membership: add a voter (it joins from a snapshot), then remove one', () => {
  const c = cluster3();
  c.propose('n1', 'a');
  c.stabilize();
  c.addMember('n4');
  c.node('n1').proposeConfChange({ type: 'add-voter', nodeId: 'n4', context: '' });
  assert.throws(
    () => c.node('n1').proposeConfChange({ type: 'remove-node', nodeId: 'n2', context: '' }),
    ProposalDroppedError,
    'one change at a time',
  );
  c.stabilize();
  c.tick(2);
  for (const id of ['n1', 'n2', 'n3', 'n4']) assert.deepEqual(c.m(id).confState.voters, ['n1', 'n2', 'n3', 'n4'], id);
  assert.equal(c.m('n4').storage.snapshot().metadata.index, 1, 'n4 started from the bootstrap snapshot');
  c.propose('n1', 'b');
  c.stabilize();
  assert.deepEqual(c.values('n4'), ['a', 'b']);

  c.node('n1').proposeConfChange({ type: 'remove-node', nodeId: 'n2', context: '' });
  c.stabilize();
  for (const id of ['n1', 'n3', 'n4']) assert.deepEqual(c.m(id).confState.voters, ['n1', 'n3', 'n4'], id);
  // Three voters now: n2 is not needed for a quorum.
  c.isolate('n2');
  c.propose('n1', 'c');
  c.stabilize();
  assert.deepEqual(c.values('n3'), ['a', 'b', 'c']);
});

test('membership: a removed leader steps down and the remaining voters elect a leader', () => {
  const c = cluster3();
  c.node('n1').proposeConfChange({ type: 'remove-node', nodeId: 'n1', context: '' });
  c.stabilize();
  assert.equal(c.state('n1'), 'follower', 'a leader that is no longer a voter steps down');
  c.randomness.set('n3', 0.5); // different election timeouts, so n2 and n3 do not split the vote forever
  c.tick(3 * c.electionTick);
  assert.equal(c.state('n1'), 'follower', 'and, not being a voter, never campaigns');
  const leaders = c.leaders();
  assert.equal(leaders.length, 1);
  assert.ok(leaders[0] === 'n2' || leaders[0] === 'n3');
  assert.deepEqual(c.m(leaders[0] as string).confState.voters, ['n2', 'n3']);
});

test('membership: a learner receives the log but does not vote or count toward commit', () => {
  const c = cluster3();
  c.addMember('n4');
  c.node('n1').proposeConfChange({ type: 'add-learner', nodeId: 'n4', context: '' });
  c.stabilize();
  c.tick(2);
  assert.deepEqual(c.m('n1').confState.learners, ['n4']);
  c.propose('n1', 'a');
  c.stabilize();
  assert.deepEqual(c.values('n4'), ['a']);
  c.isolate('n1');
  c.tick(3 * c.electionTick, ['n4']);
  assert.equal(c.state('n4'), 'follower', 'a learner never campaigns');
});

test('ReadIndex: one heartbeat round confirms every waiting read, at the commit index', () => {
  const c = cluster3();
  c.readIndex('n1', 'r1');
  c.readIndex('n1', 'r2');
  c.processReadys();
  const heartbeats = c.outbox.filter((m) => m.type === 'MsgHeartbeat');
  assert.equal(heartbeats.length, 2, 'one round (one heartbeat per follower) for both reads');
  assert.deepEqual(c.m('n1').reads, [], 'no answer before a quorum confirmed the leadership');
  c.stabilize();
  const commit = c.commit('n1');
  assert.deepEqual(c.m('n1').reads, [`r1@${commit}`, `r2@${commit}`]);
});

test('ReadIndex: a follower’s read is forwarded to the leader and answered to the follower', () => {
  const c = cluster3();
  c.propose('n1', 'a');
  c.stabilize();
  c.readIndex('n2', 'f1');
  c.stabilize();
  assert.deepEqual(c.m('n2').reads, [`f1@${c.commit('n1')}`]);
});

test('ReadIndex: a partitioned leader cannot confirm leadership and answers nothing', () => {
  const c = cluster3();
  c.isolate('n1');
  c.readIndex('n1', 'r1');
  c.tick(3, ['n1']);
  assert.deepEqual(c.m('n1').reads, []);
});

test('ReadIndex: a new leader answers no read before it commits an entry of its term', () => {
  const c = cluster3();
  c.propose('n1', 'a');
  c.stabilize();
  c.restart('n1');
  // n2 wins term 3, but its empty entry of term 3 is held back.
  c.transform = (m) => (m.type === 'MsgApp' && m.from === 'n2' ? null : m);
  c.elect('n2');
  c.readIndex('n2', 'r1');
  c.tick(2, ['n2']);
  assert.deepEqual(c.m('n2').reads, [], 'its commit index may still lag the previous leader’s');
  c.transform = null;
  c.tick(2, ['n2']);
  assert.equal(c.m('n2').reads.length, 1);
  assert.equal(c.m('n2').reads[0], `r1@${c.commit('n2')}`);
});
