import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualRuntime } from '@kemu/runtime';
import { EndpointPicker } from '../src/endpoint-picker.js';

describe('EndpointPicker', () => {
  it('rotates over the endpoints and skips the excluded ones', () => {
    const p = new EndpointPicker(new ManualRuntime());
    p.update(['a:1', 'b:1', 'c:1'], null);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => p.pick('10.0.0.1')),
      ['a:1', 'b:1', 'c:1', 'a:1', 'b:1', 'c:1'],
    );
    assert.equal(p.pick('x', new Set(['a:1'])), 'b:1');
    assert.equal(p.pick('x', new Set(['a:1', 'b:1', 'c:1'])), undefined);
    p.update([], null);
    assert.equal(p.pick('x'), undefined);
  });

  it('continues the rotation across updates instead of restarting at the first endpoint', () => {
    const p = new EndpointPicker(new ManualRuntime());
    p.update(['a:1', 'b:1', 'c:1'], null);
    assert.equal(p.pick('x'), 'a:1');
    p.update(['a:1', 'b:1', 'c:1', 'd:1'], null);
    assert.equal(p.pick('x'), 'b:1');
    p.update(['a:1', 'c:1', 'd:1'], null); // b left; next is whatever followed
    const next = p.pick('x');
    assert.ok(next === 'c:1' || next === 'd:1', `got ${next}`);
  });

  it('keeps ClientIP affinity until the client has been idle for the timeout', () => {
    const rt = new ManualRuntime();
    const p = new EndpointPicker(rt, 10_000);
    p.update(['a:1', 'b:1', 'c:1'], 10_000);
    const first = p.pick('10.0.0.1');
    const other = p.pick('10.0.0.2');
    assert.notEqual(first, other);
    for (let i = 0; i < 5; i++) {
      rt.advance(9_000); // each use refreshes the affinity
      assert.equal(p.pick('10.0.0.1'), first);
    }
    rt.advance(10_001);
    p.sweep();
    assert.equal(p.affinityCount, 0, 'idle affinities are swept');
    const after = p.pick('10.0.0.1');
    assert.ok(after !== undefined);
  });

  it('moves an affine client when its endpoint leaves or refuses, and drops affinity when it is turned off', () => {
    const p = new EndpointPicker(new ManualRuntime(), 60_000);
    p.update(['a:1', 'b:1'], 60_000);
    const first = p.pick('c1') as string;
    assert.notEqual(p.pick('c1', new Set([first])), first, 'a refusing endpoint is skipped');
    const now = p.pick('c1') as string;
    p.update(
      ['a:1', 'b:1'].filter((e) => e !== now),
      60_000,
    );
    assert.notEqual(p.pick('c1'), now);
    p.update(['a:1', 'b:1'], null);
    assert.equal(p.affinityCount, 0);
    const spread = new Set([p.pick('c1'), p.pick('c1')]);
    assert.equal(spread.size, 2, 'without affinity one client is spread');
  });
});
