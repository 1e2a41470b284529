import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { ViolationKind } from '../src/sim/checker.js';
import { defaultMembersForSeed, runSeed, type SimProfile } from '../src/sim/simulation.js';
import { clearPlantedBugs, type PlantedBugName, plantBug } from '../src/testing/planted-bugs.js';

/**
 * Each planted bug must be caught by the simulator's checkers within a bounded number of seeds, with
 * the kind of violation that bug causes; the same seed must pass once the bug is removed (so it is
 * the bug that was caught, not noise).
 */
const CASES: { bug: PlantedBugName; profile: SimProfile; maxSeeds: number; kinds: ViolationKind[] }[] = [
  {
    bug: 'doubleCountVotes',
    profile: 'mixed',
    maxSeeds: 400,
    kinds: ['election-safety', 'leader-completeness', 'log-matching', 'state-machine-safety'],
  },
  {
    bug: 'commitOldTermByCounting',
    profile: 'leader-churn',
    maxSeeds: 600,
    kinds: ['leader-completeness', 'state-machine-safety', 'lost-acknowledged-write'],
  },
  { bug: 'forgetToPersistVote', profile: 'mixed', maxSeeds: 400, kinds: ['double-vote', 'election-safety'] },
  { bug: 'readIndexWithoutQuorum', profile: 'mixed', maxSeeds: 400, kinds: ['stale-read'] },
];

describe('planted bugs are caught by the simulator', () => {
  afterEach(() => clearPlantedBugs());

  for (const c of CASES) {
    test(`${c.bug} is caught within ${c.maxSeeds} seeds (${c.profile})`, () => {
      plantBug(c.bug);
      let caught: { seed: number; members: number; kind: ViolationKind } | null = null;
      for (let seed = 1; seed <= c.maxSeeds && caught === null; seed++) {
        const members = defaultMembersForSeed(seed);
        const r = runSeed({ seed, members, profile: c.profile });
        if (r.violation !== null) caught = { seed, members, kind: r.violation.kind };
      }
      assert.ok(caught !== null, `${c.bug} was not caught within ${c.maxSeeds} seeds`);
      assert.ok(
        c.kinds.includes(caught.kind),
        `${c.bug} caught as ${caught.kind}, expected one of ${c.kinds.join(', ')}`,
      );

      clearPlantedBugs();
      const clean = runSeed({ seed: caught.seed, members: caught.members, profile: c.profile });
      assert.equal(clean.violation, null, `seed ${caught.seed} also fails without the bug`);
    });
  }
});
