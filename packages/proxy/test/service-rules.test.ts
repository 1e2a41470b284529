import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSlice, Service } from '@kemu/api';
import { desiredListeners, endpointsForPort, listenersForService, usableEndpoints } from '../src/service-rules.js';

const ctx = { nodeName: 'node-a', nodeIps: ['127.104.0.11'] };

function svc(name: string, spec: Service['spec'], created = '2026-01-01T00:00:00Z'): Service {
  return { metadata: { name, namespace: 'ns', creationTimestamp: created }, spec };
}

function slice(
  name: string,
  endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean; node?: string }[],
  ports: EndpointSlice['ports'] = [{ name: 'http', port: 8080, protocol: 'TCP' }],
): EndpointSlice {
  return {
    metadata: { name, namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports,
    endpoints: endpoints.map((e) => {
      const conditions: { ready?: boolean; serving?: boolean; terminating?: boolean } = {};
      if (e.ready !== undefined) conditions.ready = e.ready;
      if (e.serving !== undefined) conditions.serving = e.serving;
      if (e.terminating !== undefined) conditions.terminating = e.terminating;
      return { addresses: [e.ip], conditions, ...(e.node ? { nodeName: e.node } : {}) };
    }),
  };
}

describe('service rules', () => {
  it('matches slice ports by name and protocol and merges slices without duplicates', () => {
    const s1 = slice('a', [{ ip: '127.1.0.2' }, { ip: '127.1.0.3', ready: false }]);
    const s2 = slice('b', [{ ip: '127.1.0.2' }, { ip: '127.1.0.4' }]);
    const other = slice('c', [{ ip: '127.1.0.9' }], [{ name: 'metrics', port: 9090, protocol: 'TCP' }]);
    const eps = endpointsForPort([s1, s2, other], 'http', 'TCP');
    assert.deepEqual(
      eps.map((e) => `${e.ip}:${e.port}:${e.ready}`),
      ['127.1.0.2:8080:true', '127.1.0.3:8080:false', '127.1.0.4:8080:true'],
    );
    assert.deepEqual(endpointsForPort([s1], 'http', 'UDP'), []);
  });

  it('uses ready endpoints, else serving-terminating ones; Local keeps only this node', () => {
    const eps = endpointsForPort(
      [
        slice('a', [
          { ip: '127.1.0.2', ready: true, node: 'node-b' },
          { ip: '127.1.0.3', ready: false, serving: true, terminating: true, node: 'node-a' },
          { ip: '127.1.0.4', ready: false, serving: false, node: 'node-a' },
        ]),
      ],
      'http',
      'TCP',
    );
    assert.deepEqual(usableEndpoints(eps, false, 'node-a'), ['127.1.0.2:8080']);
    assert.deepEqual(
      usableEndpoints(eps, true, 'node-a'),
      ['127.1.0.3:8080'],
      'local: the terminating one as fallback',
    );
    assert.deepEqual(usableEndpoints(eps, true, 'node-c'), []);
  });

  it('opens ClusterIP, NodePort (on the node IPs) and external IP listeners with the right policies', () => {
    const s = svc('web', {
      type: 'NodePort',
      clusterIP: '127.96.0.5',
      clusterIPs: ['127.96.0.5'],
      externalIPs: ['127.200.0.1'],
      externalTrafficPolicy: 'Local',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' },
        { name: 'sctp', port: 99, protocol: 'SCTP' },
      ],
    });
    const sl = slice('a', [
      { ip: '127.1.0.2', node: 'node-a' },
      { ip: '127.1.0.3', node: 'node-b' },
    ]);
    const ls = listenersForService(s, [sl], ctx);
    const byKey = Object.fromEntries(ls.map((l) => [l.key, l]));
    assert.deepEqual(Object.keys(byKey).sort(), ['TCP/127.104.0.11:30080', 'TCP/127.200.0.1:80', 'TCP/127.96.0.5:80']);
    assert.deepEqual(byKey['TCP/127.96.0.5:80']?.endpoints, ['127.1.0.2:8080', '127.1.0.3:8080']);
    assert.deepEqual(byKey['TCP/127.104.0.11:30080']?.endpoints, ['127.1.0.2:8080'], 'externalTrafficPolicy Local');
    assert.equal(byKey['TCP/127.96.0.5:80']?.affinityTimeoutMs, 30_000);
    assert.equal(byKey['TCP/127.96.0.5:80']?.servicePort, 'ns/web:http');
  });

  it('gives headless and ExternalName services no listener, and UDP ports UDP listeners', () => {
    assert.deepEqual(listenersForService(svc('h', { clusterIP: 'None', ports: [{ port: 80 }] }), [], ctx), []);
    assert.deepEqual(listenersForService(svc('e', { type: 'ExternalName', externalName: 'example.com' }), [], ctx), []);
    const dns = listenersForService(
      svc('dns', {
        clusterIP: '127.96.0.10',
        internalTrafficPolicy: 'Local',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      }),
      [
        slice(
          'd',
          [{ ip: '127.0.0.1', node: 'node-a' }],
          [
            { name: 'dns', port: 2422, protocol: 'UDP' },
            { name: 'dns-tcp', port: 2422, protocol: 'TCP' },
          ],
        ),
      ],
      ctx,
    );
    assert.deepEqual(
      dns.map((l) => [l.key, l.endpoints]),
      [
        ['UDP/127.96.0.10:53', ['127.0.0.1:2422']],
        ['TCP/127.96.0.10:53', ['127.0.0.1:2422']],
      ],
    );
  });

  it('gives a socket claimed twice to the older Service', () => {
    const older = svc(
      'old',
      { clusterIP: '127.96.0.5', externalIPs: ['127.200.0.1'], ports: [{ port: 80 }] },
      '2026-01-01T00:00:00Z',
    );
    const newer = svc(
      'new',
      { clusterIP: '127.96.0.6', externalIPs: ['127.200.0.1'], ports: [{ port: 80 }] },
      '2026-01-02T00:00:00Z',
    );
    const m = desiredListeners([newer, older], () => [], ctx);
    assert.equal(m.get('TCP/127.200.0.1:80')?.servicePort, 'ns/old:');
    assert.equal(m.size, 3);
  });
});
