import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSlice, Service } from '@kemu/api';
import { ManualRuntime, silentLogger } from '@kemu/runtime';
import { Proxier } from '../src/proxier.js';
import type { ServiceView } from '../src/service-catalog.js';

class CountingView implements ServiceView {
  reads = 0;
  svcs: Service[] = [];
  services(): Service[] {
    this.reads++;
    return this.svcs;
  }
  service(): Service | undefined {
    return undefined;
  }
  slicesFor(): EndpointSlice[] {
    return [];
  }
}

describe('Proxier sync loop', () => {
  it('coalesces bursts of changes into one sync per min-sync period, and syncs periodically', () => {
    const rt = new ManualRuntime(1000);
    const view = new CountingView();
    const p = new Proxier({
      view,
      nodeName: 'n',
      nodeIps: ['127.104.0.10'],
      runtime: rt,
      log: silentLogger(),
      bindRetryMs: 100,
      connectTimeoutMs: 100,
      udpIdleTimeoutMs: 100,
      minSyncPeriodMs: 50,
      syncPeriodMs: 10_000,
    });
    p.start();
    rt.advance(0);
    assert.equal(p.syncCount, 1);
    for (let i = 0; i < 20; i++) p.requestSync();
    rt.advance(10);
    assert.equal(p.syncCount, 1, 'not before the min sync period');
    rt.advance(40);
    assert.equal(p.syncCount, 2, 'twenty requests, one sync');
    rt.advance(1000);
    assert.equal(p.syncCount, 2);
    rt.advance(10_000);
    assert.equal(p.syncCount, 3, 'periodic full sync');
    p.stop();
    p.requestSync();
    rt.advance(100_000);
    assert.equal(p.syncCount, 3, 'nothing after stop');
  });

  it('opens no socket for a service port without endpoints (clients are refused)', () => {
    const rt = new ManualRuntime();
    const view = new CountingView();
    view.svcs = [{ metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: '127.96.0.7', ports: [{ port: 80 }] } }];
    const p = new Proxier({
      view,
      nodeName: 'n',
      nodeIps: [],
      runtime: rt,
      log: silentLogger(),
      bindRetryMs: 100,
      connectTimeoutMs: 100,
      udpIdleTimeoutMs: 100,
      minSyncPeriodMs: 0,
      syncPeriodMs: 10_000,
    });
    p.sync();
    assert.deepEqual(p.status(), []);
    p.stop();
  });
});
