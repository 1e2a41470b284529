import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bitset } from '../src/index.js';

test('set, clear, has and popcount across word boundaries', () => {
  const b = new Bitset(100);
  for (const i of [0, 31, 32, 63, 64, 99]) b.set(i);
  b.set(31);
  assert.equal(b.popcount, 6);
  assert.ok(b.has(32) && b.has(99) && !b.has(33));
  b.clear(32);
  b.clear(33);
  assert.equal(b.popcount, 5);
  assert.ok(!b.has(32));
  assert.throws(() => b.set(100), RangeError);
  assert.throws(() => b.set(-1), RangeError);
});

test('the hash depends only on the members, however they were reached', () => {
  const a = new Bitset(70);
  const b = new Bitset(70);
  a.set(1);
  a.set(40);
  a.set(65);
  b.set(65);
  b.set(3);
  b.set(40);
  b.clear(3);
  b.set(1);
  assert.equal(a.hash(), b.hash());
  assert.ok(a.equals(b));
  b.clear(65);
  assert.ok(!a.equals(b));
  assert.notEqual(a.hash(), b.hash());
  const empty = new Bitset(70);
  assert.equal(empty.hash(), 0);
});

test('a clone is independent of its original', () => {
  const a = new Bitset(10);
  a.set(2);
  const c = a.clone();
  c.set(3);
  assert.ok(!a.has(3));
  assert.ok(c.has(2) && c.equals(c.clone()));
  assert.ok(!a.equals(c));
});
