import { test } from 'node:test';
import { assertSeedsClean } from './sim-seeds.js';

test('simulator: seeds 1201-1800 (mixed faults, 3 and 5 members) find no violation', () => {
  assertSeedsClean(1201, 600);
});
