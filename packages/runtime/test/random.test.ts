import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../src/random.js';

test('the same seed gives the same sequence; another seed a different one', () => {
  const seq = (seed: number) => {
    const r = new SeededRandom(seed);
    return Array.from({ length: 8 }, () => r.int(0, 1000));
  };
  assert.deepEqual(seq(42), seq(42));
  assert.notDeepEqual(seq(42), seq(43));
});

test('values are uniform enough and within range', () => {
  const r = new SeededRandom(7);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    buckets[Math.floor(v * 10)]!++;
  }
  for (const b of buckets) assert.ok(b > 9_000 && b < 11_000, `bucket ${b}`);
});
