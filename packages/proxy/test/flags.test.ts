import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advertisedAddress } from '../src/dns-cli.js';
import { ProxyFlagError } from '../src/errors.js';
import { apiserverUrls, ipFlag, portFlag } from '../src/flags.js';
import { parseIPv4 } from '../src/ipv4.js';
import { proxyTimings } from '../src/timings.js';

describe('flags', () => {
  it('sends path-less apiserver URLs to /wire and keeps explicit paths', () => {
    assert.deepEqual(apiserverUrls('ws://127.0.0.1:6444, ws://127.0.0.1:6445/wire,wss://h:1/x'), [
      'ws://127.0.0.1:6444/wire',
      'ws://127.0.0.1:6445/wire',
      'wss://h:1/x',
    ]);
    for (const bad of ['', 'http://127.0.0.1:1', 'nonsense']) assert.throws(() => apiserverUrls(bad), ProxyFlagError);
  });

  it('checks ports, addresses and profiles with the flag name in the message', () => {
    assert.equal(portFlag('admin-port', undefined, 0), 0);
    assert.equal(portFlag('admin-port', '10256', 0), 10256);
    assert.throws(() => portFlag('admin-port', '70000', 0), /--admin-port must be a port number/);
    assert.throws(() => portFlag('admin-port', '-1', 0), ProxyFlagError);
    assert.equal(ipFlag('node-ip', '127.104.0.10'), '127.104.0.10');
    assert.throws(() => ipFlag('node-ip', '127.104.0'), /--node-ip must be an IPv4 address/);
    assert.equal(proxyTimings('real').minSyncPeriodMs, 1000);
    assert.throws(
      () => proxyTimings('slow'),
      (e: unknown) => e instanceof ProxyFlagError && e.code === 'PROXY_BAD_FLAG',
    );
  });

  it('advertises the DNS at its listen address, or at a reachable address when listening on 0.0.0.0', () => {
    assert.equal(advertisedAddress('127.0.0.1'), '127.0.0.1');
    const a = advertisedAddress('0.0.0.0');
    assert.notEqual(a, '0.0.0.0');
    assert.ok(parseIPv4(a) !== undefined, a);
  });
});
