import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '@kemu/runtime';
import { ServiceIpRange, ServiceIpRangeError } from '../src/service-ips.js';

test('ClusterIPs come from the range, skip network/first/broadcast and used ones, and run out', () => {
  const r = new ServiceIpRange('10.0.0.7/29');
  assert.equal(r.cidr, '10.0.0.0/29');
  assert.equal(r.contains('10.0.0.0'), false);
  assert.equal(r.contains('10.0.0.7'), false);
  assert.equal(r.contains('10.0.0.3'), true);
  assert.equal(r.contains('10.0.1.3'), false);
  const used = new Set<string>();
  const random = new SeededRandom(7);
  for (let i = 0; i < 5; i++) {
    const ip = r.pick(used, random);
    assert.ok(ip !== undefined && r.contains(ip) && ip !== '10.0.0.1' && !used.has(ip), String(ip));
    used.add(ip);
  }
  assert.equal(r.pick(used, random), undefined);
  assert.throws(() => new ServiceIpRange('10.0.0.0'), ServiceIpRangeError);
  assert.throws(() => new ServiceIpRange('300.0.0.0/16'), ServiceIpRangeError);
});
