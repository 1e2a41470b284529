import { test } from 'node:test';
import { assertSeedsClean } from './sim-seeds.js';

test('simulator: seeds 601-1200 (mixed faults, 3 and 5 members) find no violation', () => {
  assertSeedsClean(601, 600);
});
