import assert from 'node:assert/strict';
import { defaultMembersForSeed, replayCommand, runSeed, type SimProfile } from '../src/sim/simulation.js';

/** Runs a seed range through the simulator and fails with every violation and its replay command. */
export function assertSeedsClean(seedStart: number, seeds: number, profile: SimProfile = 'mixed'): void {
  const failures: string[] = [];
  let three = 0;
  let five = 0;
  for (let seed = seedStart; seed < seedStart + seeds; seed++) {
    const members = defaultMembersForSeed(seed);
    if (members === 3) three++;
    else five++;
    const r = runSeed({ seed, members, profile });
    if (r.violation !== null) {
      failures.push(
        `seed ${seed}: ${r.violation.kind} at step ${r.violation.step}: ${r.violation.message}\n  replay: ${replayCommand(seed, members, { profile })}`,
      );
    }
  }
  assert.ok(three > 0 && five > 0, 'the range mixes 3- and 5-member clusters');
  assert.deepEqual(failures, [], `violations:\n${failures.join('\n')}`);
}
