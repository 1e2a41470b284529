import { test } from 'node:test';
import { assertSeedsClean } from './sim-seeds.js';

test('simulator: seeds 1-300 under the leader-churn nemesis (3 and 5 members) find no violation', () => {
  assertSeedsClean(1, 300, 'leader-churn');
});
