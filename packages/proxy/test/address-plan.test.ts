import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkServiceCidr, clusterAddressPlan, clusterSlot } from '../src/address-plan.js';
import { AddressPlanError } from '../src/errors.js';
import { Ipv4Cidr } from '../src/ipv4.js';

describe('address plan', () => {
  it('gives the default cluster 127.96.0.0/16, kube-dns at .10, node and pod addresses by index', () => {
    const p = clusterAddressPlan(2379);
    assert.equal(p.slot, 0);
    assert.equal(p.serviceCidr, '127.96.0.0/16');
    assert.equal(p.dnsClusterIp, '127.96.0.10');
    assert.equal(p.dnsListen, '127.0.0.1:2422');
    assert.equal(p.nodeIp(0), '127.104.0.10');
    assert.equal(p.nodeIp(3), '127.104.0.13');
    assert.equal(p.nodeIp(240), '127.104.1.10');
    assert.equal(p.podCidr(0), '127.128.0.0/24');
    assert.equal(p.podCidr(257), '127.129.1.0/24');
  });

  it('gives non-overlapping port blocks different slots, and every slot disjoint ranges', () => {
    for (const [a, b] of [
      [2379, 2579],
      [2400, 2600],
      [10000, 10200],
      [2379, 2379 + 200 * 7],
    ] as const) {
      assert.notEqual(clusterSlot(a), clusterSlot(b), `${a} vs ${b}`);
    }
    assert.equal(clusterSlot(2379 + 1600), 0, 'slots repeat every 1600 ports (documented)');
    assert.equal(clusterSlot(1024), clusterSlot(1024 + 1600));
    const ranges: Ipv4Cidr[] = [];
    for (let slot = 0; slot < 8; slot++) {
      const p = clusterAddressPlan(2379 + 200 * slot);
      assert.equal(p.slot, slot);
      ranges.push(new Ipv4Cidr(p.serviceCidr), new Ipv4Cidr(`${p.nodeIp(0)}/24`), new Ipv4Cidr(p.podCidr(0)));
      ranges.push(new Ipv4Cidr(p.podCidr(16 * 256 - 1)));
    }
    for (const [i, a] of ranges.entries()) {
      for (const b of ranges.slice(i + 1)) assert.equal(a.overlaps(b), false, `${a} overlaps ${b}`);
    }
  });

  it('refuses service ranges that cannot carry traffic on one host', () => {
    assert.equal(checkServiceCidr('127.96.0.0/16').toString(), '127.96.0.0/16');
    assert.throws(() => checkServiceCidr('10.96.0.0/16'), AddressPlanError);
    assert.throws(() => checkServiceCidr('127.0.0.0/12'), /overlaps 127.0.0.0\/16/);
    assert.throws(
      () => checkServiceCidr('127.96.0.0'),
      (e: unknown) => e instanceof AddressPlanError && e.code === 'PROXY_BAD_ADDRESS',
    );
    assert.throws(() => clusterAddressPlan(0), AddressPlanError);
    assert.throws(() => clusterAddressPlan(2379).nodeIp(-1), AddressPlanError);
  });
});
