import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { clearPlantedBugs, plantBug } from '../src/testing/planted-bugs.js';
import { Scenario } from './scenario.js';

afterEach(() => clearPlantedBugs());

test('election: a campaigning member wins, the others follow, and the new term is committed', () => {
  const c = new Scenario(['n1', 'n2', 'n3']);
  c.node('n1').campaign();
  c.stabilize();
  assert.deepEqual(c.leaders(), ['n1']);
  assert.equal(c.term('n1'), 2, 'bootstrap is term 1; the first election is term 2');
  for (const id of ['n2', 'n3']) {
    assert.equal(c.state(id), 'follower');
    assert.equal(c.node(id).status().softState.lead, 'n1');
    assert.equal(c.commit(id), 2, 'the leader’s empty entry of term 2 is committed everywhere');
  }
  c.propose('n1', 'x');
  c.stabilize();
  for (const id of ['n1', 'n2', 'n3']) assert.deepEqual(c.values(id), ['x']);
});

test('election: the timeout campaigns by itself after electionTick ticks', () => {
  const c = new Scenario(['n1', 'n2', 'n3']);
  c.tick(c.electionTick - 1, ['n2']);
  assert.equal(c.state('n2'), 'follower');
  c.tick(1, ['n2']);
  assert.deepEqual(c.leaders(), ['n2']);
});

test('split vote: two candidates in the same term, nobody wins, the next term elects one', () => {
  const c = new Scenario(['n1', 'n2', 'n3'], { preVote: false, checkQuorum: false });
  c.isolate('n3');
  c.node('n1').campaign();
  c.node('n2').campaign();
  c.stabilize();
  assert.equal(c.state('n1'), 'candidate');
  assert.equal(c.state('n2'), 'candidate');
  assert.equal(c.term('n1'), 2);
  assert.equal(c.term('n2'), 2);
  assert.deepEqual(c.leaders(), [], 'each voted for itself: a split vote');
  c.heal();
  c.tick(c.electionTick, ['n1']);
  assert.deepEqual(c.leaders(), ['n1']);
  assert.equal(c.term('n1'), 3);
});

test('a member with a stale log cannot win, and committed entries survive', () => {
  const c = new Scenario(['n1', 'n2', 'n3'], { preVote: false });
  c.node('n1').campaign();
  c.stabilize();
  c.isolate('n3');
  c.propose('n1', 'a');
  c.propose('n1', 'b');
  c.stabilize();
  assert.deepEqual(c.values('n2'), ['a', 'b']);
  assert.deepEqual(c.values('n3'), []);
  // n1 goes away; n3 (stale) campaigns first.
  c.heal();
  c.isolate('n1');
  c.node('n3').campaign();
  c.stabilize();
  assert.equal(c.state('n3'), 'candidate', 'n2 refuses: n3’s log is behind');
  assert.notEqual(c.state('n2'), 'leader');
  c.elect('n2');
  c.propose('n2', 'c');
  c.stabilize();
  assert.deepEqual(c.values('n3'), ['a', 'b', 'c']);
});

/**
 * Figure 8 of the Raft paper, in five members (no pre-vote or check-quorum, as in the paper).
 * (a) n1 leads term 2 and gets 'a' (index 3) onto n2 only. (b) n5 leads term 3 with only its own
 * empty entry at index 3. (c) n1 leads term 4 and copies 'a' (term 2) to n3 and n4, so a majority
 * stores it, while its own term-4 entry is held back. Returns with the cluster at (c).
 */
function figure8(c: Scenario): void {
  c.elect('n1');
  // (a)
  for (const id of ['n3', 'n4', 'n5']) c.cut('n1', id);
  c.propose('n1', 'a');
  c.stabilize();
  assert.deepEqual(c.logOf('n2').slice(-1), ['3@2']);
  assert.deepEqual(c.logOf('n3').slice(-1), ['2@2']);
  // (b)
  c.heal();
  c.isolate('n1');
  c.cut('n5', 'n2');
  c.node('n5').campaign();
  for (let i = 0; i < 10 && c.state('n5') !== 'leader'; i++) c.deliverRound();
  assert.equal(c.state('n5'), 'leader');
  c.isolate('n5');
  c.stabilize();
  assert.equal(c.term('n5'), 3);
  assert.deepEqual(c.logOf('n5').slice(-1), ['3@3']);
  // (c) n1 crashes and restarts (keeping its persisted log), then wins term 4.
  c.restart('n1');
  c.heal();
  c.isolate('n5');
  c.transform = (m) => (m.type === 'MsgApp' ? { ...m, entries: m.entries.filter((e) => e.term !== 4) } : m);
  c.elect('n1');
  assert.equal(c.term('n1'), 4);
  assert.deepEqual(c.logOf('n3').slice(-1), ['3@2'], "'a' is on n1, n2, n3 (and n4): a majority, but from term 2");
}

/** (d) n5 restarts and wins term 5 (its last entry 3@3 beats everyone's 3@2), overwriting index 3. */
function figure8Overwrite(c: Scenario): void {
  c.transform = null;
  c.restart('n5');
  c.heal();
  c.isolate('n1');
  c.elect('n5');
  assert.equal(c.logOf('n3').includes('3@3'), true, 'index 3 now holds n5’s entry of term 3');
}

test('figure 8: an entry of an older term is not committed by counting replicas', () => {
  const c = new Scenario(['n1', 'n2', 'n3', 'n4', 'n5'], { maxSizePerMsg: 0, preVote: false, checkQuorum: false });
  figure8(c);
  assert.equal(c.commit('n1'), 2, 'the leader of term 4 must not commit index 3 by counting');
  assert.deepEqual(c.values('n1'), []);
  figure8Overwrite(c);
  // Harmless: nobody applied 'a', so every state machine still agrees.
  for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) assert.deepEqual(c.values(id), []);
});

test('figure 8 with the planted bug: committing by counting breaks leader completeness', () => {
  plantBug('commitOldTermByCounting');
  const c = new Scenario(['n1', 'n2', 'n3', 'n4', 'n5'], { maxSizePerMsg: 0, preVote: false, checkQuorum: false });
  figure8(c);
  assert.equal(c.commit('n1'), 3, 'the buggy leader committed index 3 (term 2) by counting');
  assert.deepEqual(c.values('n1'), ['a'], 'and applied it (a real server would now acknowledge a)');
  // (d) n5 restarts and campaigns: n2, n3, n4 hold 3@2 without any term-4 entry, so 3@3 is more up to date.
  c.transform = null;
  c.restart('n5');
  c.heal();
  c.isolate('n1');
  for (let attempt = 0; attempt < 3 && c.state('n5') !== 'leader'; attempt++) {
    c.node('n5').campaign();
    for (let i = 0; i < 4; i++) c.deliverRound();
  }
  assert.equal(c.state('n5'), 'leader');
  assert.equal(c.term('n5'), 5);
  assert.deepEqual(c.logOf('n5').slice(1, 2), ['3@3'], 'the new leader lacks the entry n1 applied at index 3');
});

test('pre-vote: a member returning from a partition does not disrupt the leader', () => {
  const c = new Scenario(['n1', 'n2', 'n3']);
  c.node('n1').campaign();
  c.stabilize();
  c.isolate('n3');
  c.tick(5 * c.electionTick, ['n3']);
  assert.equal(c.state('n3'), 'pre-candidate', 'it keeps trying pre-votes');
  assert.equal(c.term('n3'), 2, 'but pre-votes never raise its term');
  c.heal();
  c.tick(c.electionTick);
  assert.deepEqual(c.leaders(), ['n1']);
  assert.equal(c.term('n1'), 2, 'the leader kept its term');
  assert.equal(c.node('n3').status().softState.lead, 'n1');
});

test('without pre-vote the same member would depose the leader (the contrast)', () => {
  const c = new Scenario(['n1', 'n2', 'n3'], { preVote: false, checkQuorum: false });
  c.node('n1').campaign();
  c.stabilize();
  c.isolate('n3');
  c.tick(5 * c.electionTick, ['n3']);
  assert.ok(c.term('n3') > 2);
  c.heal();
  c.tick(2 * c.electionTick, ['n3']);
  assert.ok(c.term('n1') > 2, 'n3’s vote request with its higher term made the leader step down');
  assert.notEqual(c.state('n1'), 'leader');
});

test('check-quorum: a leader that cannot reach a quorum steps down', () => {
  const c = new Scenario(['n1', 'n2', 'n3']);
  c.node('n1').campaign();
  c.stabilize();
  c.isolate('n1');
  c.tick(2 * c.electionTick, ['n1']);
  assert.equal(c.state('n1'), 'follower');
});

test('leader lost: a follower told its leader dropped campaigns early, others still in lease refuse', () => {
  const c = new Scenario(['n1', 'n2', 'n3']);
  c.node('n1').campaign();
  c.stabilize();
  c.node('n2').reportLeaderLost('n1');
  c.tick(1, ['n2']);
  assert.equal(c.state('n2'), 'pre-candidate', 'campaigns without waiting a full election timeout');
  c.stabilize();
  assert.deepEqual(c.leaders(), ['n1'], 'n3 hears from n1, so it refuses the pre-vote');
  assert.equal(c.term('n1'), 2);
  // Now the leader really is gone: both followers report it and elect a new leader at once.
  c.isolate('n1');
  c.node('n2').reportLeaderLost('n1');
  c.node('n3').reportLeaderLost('n1');
  c.tick(1, ['n2', 'n3']);
  assert.equal(c.leaders().filter((id) => id !== 'n1').length, 1);
});
