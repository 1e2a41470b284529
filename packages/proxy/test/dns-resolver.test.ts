import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { EndpointSlice, Service } from '@kemu/api';
import { silentLogger } from '@kemu/runtime';
import dnsPacket, { type Answer } from 'dns-packet';
import { ClusterDnsResolver } from '../src/dns/resolver.js';
import { DnsServer } from '../src/dns/server.js';
import type { ServiceView } from '../src/service-catalog.js';

/** A ServiceView over plain arrays (the resolver's only dependency). */
class FakeView implements ServiceView {
  constructor(
    readonly svcs: Service[],
    readonly slices: EndpointSlice[],
  ) {}
  services(): Service[] {
    return this.svcs;
  }
  service(ns: string, name: string): Service | undefined {
    return this.svcs.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
  }
  slicesFor(ns: string, name: string): EndpointSlice[] {
    return this.slices.filter(
      (s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === name,
    );
  }
}

const view = new FakeView(
  [
    {
      metadata: { name: 'web', namespace: 'default' },
      spec: { clusterIP: '127.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    },
    {
      metadata: { name: 'db', namespace: 'data' },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    },
    { metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
  ],
  [
    {
      metadata: { name: 'db-x', namespace: 'data', labels: { 'kubernetes.io/service-name': 'db' } },
      addressType: 'IPv4',
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['127.128.0.5'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['127.128.1.6'], hostname: 'db-1', conditions: { ready: true } },
        { addresses: ['127.128.2.7'], hostname: 'db-2', conditions: { ready: false } },
        { addresses: ['127.128.3.8'], conditions: { ready: true } },
      ],
    },
  ],
);
const resolver = new ClusterDnsResolver({ view });
const data = (as: Answer[]) => as.map((a) => ('data' in a ? a.data : undefined));

describe('cluster DNS answers', () => {
  it('answers a ClusterIP Service with its ClusterIP, TTL 30, case-insensitively', () => {
    const r = resolver.resolve('Web.Default.svc.cluster.local.', 'A');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.authoritative, true);
    assert.deepEqual(data(r.answers), ['127.96.0.20']);
    assert.equal((r.answers[0] as { ttl?: number } | undefined)?.ttl, 30);
    assert.equal(r.answers[0]?.name, 'web.default.svc.cluster.local');
  });

  it('answers a headless Service with its ready endpoints, and each endpoint by hostname or dashed IP', () => {
    assert.deepEqual(data(resolver.resolve('db.data.svc.cluster.local', 'A').answers).sort(), [
      '127.128.0.5',
      '127.128.1.6',
      '127.128.3.8',
    ]);
    assert.deepEqual(data(resolver.resolve('db-1.db.data.svc.cluster.local', 'A').answers), ['127.128.1.6']);
    assert.deepEqual(data(resolver.resolve('127-128-3-8.db.data.svc.cluster.local', 'A').answers), ['127.128.3.8']);
    assert.equal(resolver.resolve('db-2.db.data.svc.cluster.local', 'A').rcode, 'NXDOMAIN', 'not ready: not published');
    assert.equal(resolver.resolve('x.web.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN', 'only headless');
  });

  it('answers SRV for named ports: ClusterIP → the service name, headless → each endpoint with additionals', () => {
    const s = resolver.resolve('_http._tcp.web.default.svc.cluster.local', 'SRV');
    assert.deepEqual(data(s.answers), [
      { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
    ]);
    const h = resolver.resolve('_pg._tcp.db.data.svc.cluster.local', 'SRV');
    assert.deepEqual(
      h.answers
        .map((a) => ('data' in a && typeof a.data === 'object' && a.data && 'target' in a.data ? a.data.target : ''))
        .sort(),
      ['127-128-3-8.db.data.svc.cluster.local', 'db-0.db.data.svc.cluster.local', 'db-1.db.data.svc.cluster.local'],
    );
    assert.equal(h.additionals.length, 3);
    assert.equal(resolver.resolve('_pg._udp.db.data.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
    assert.equal(resolver.resolve('_nope._tcp.web.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
  });

  it('gives NXDOMAIN with the SOA for unknown names, NODATA for known names of another type', () => {
    const nx = resolver.resolve('nope.default.svc.cluster.local', 'A');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.authorities[0]?.type, 'SOA');
    assert.equal(nx.authorities[0]?.name, 'cluster.local');
    const nodata = resolver.resolve('web.default.svc.cluster.local', 'AAAA');
    assert.equal(nodata.rcode, 'NOERROR');
    assert.deepEqual(nodata.answers, []);
    assert.equal(nodata.authorities[0]?.type, 'SOA');
    assert.equal(resolver.resolve('default.svc.cluster.local', 'A').rcode, 'NOERROR', 'namespace: empty non-terminal');
    assert.equal(resolver.resolve('nons.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
    assert.equal(resolver.resolve('foo.cluster.local', 'A').rcode, 'NXDOMAIN');
    assert.equal(resolver.resolve('cluster.local', 'SOA').answers[0]?.type, 'SOA');
  });

  it('answers pod names from their dashed IP, ExternalName with a CNAME, refuses other zones', () => {
    assert.deepEqual(data(resolver.resolve('127-128-0-5.default.pod.cluster.local', 'A').answers), ['127.128.0.5']);
    assert.equal(resolver.resolve('127-999-0-5.default.pod.cluster.local', 'A').rcode, 'NXDOMAIN');
    assert.deepEqual(data(resolver.resolve('ext.default.svc.cluster.local', 'A').answers), ['example.com']);
    assert.equal(resolver.resolve('ext.default.svc.cluster.local', 'A').answers[0]?.type, 'CNAME');
    const other = resolver.resolve('example.com', 'A');
    assert.equal(other.rcode, 'REFUSED');
    assert.equal(other.authoritative, false);
    assert.equal(
      new ClusterDnsResolver({ view, domain: 'kemu.test' }).resolve('web.default.svc.kemu.test', 'A').rcode,
      'NOERROR',
    );
  });

  it('answers SERVFAIL, not NXDOMAIN, until the view is complete', () => {
    let ready = false;
    const r = new ClusterDnsResolver({ view, isReady: () => ready });
    assert.equal(r.resolve('web.default.svc.cluster.local', 'A').rcode, 'SERVFAIL');
    ready = true;
    assert.equal(r.resolve('web.default.svc.cluster.local', 'A').rcode, 'NOERROR');
  });
});

describe('DNS wire handling', () => {
  const server = new DnsServer({ resolver, log: silentLogger(), host: '127.0.0.1', port: 0 });
  const ask = (name: string, type: 'A' | 'SRV', transport: 'udp' | 'tcp' = 'udp') => {
    const q = dnsPacket.encode({
      type: 'query',
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name }],
    });
    const reply = server.answer(q, transport);
    assert.ok(reply);
    return dnsPacket.decode(reply);
  };

  it('echoes id, question and RD, sets AA and the rcode', () => {
    const r = ask('web.default.svc.cluster.local', 'A');
    assert.equal(r.id, 4242);
    assert.equal(r.type, 'response');
    assert.equal(r.flag_aa, true);
    assert.equal(r.flag_rd, true);
    assert.equal((r as unknown as { rcode: string }).rcode, 'NOERROR');
    assert.deepEqual(r.questions, [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }]);
    assert.equal((ask('nope.default.svc.cluster.local', 'A') as unknown as { rcode: string }).rcode, 'NXDOMAIN');
    assert.equal((ask('example.com', 'A') as unknown as { rcode: string }).rcode, 'REFUSED');
  });

  it('answers garbage with FORMERR and ignores responses and runts', () => {
    const junk = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    const r = server.answer(junk, 'udp');
    assert.ok(r);
    const d = dnsPacket.decode(r);
    assert.equal(d.id, 0x1234);
    assert.equal((d as unknown as { rcode: string }).rcode, 'FORMERR');
    assert.equal(server.answer(Buffer.from([1, 2, 3]), 'udp'), null);
    const resp = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x' }] });
    assert.equal(server.answer(resp, 'udp'), null);
  });

  it('truncates an answer too big for UDP and gives it whole over TCP', () => {
    const many: EndpointSlice = {
      metadata: { name: 'big-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } },
      addressType: 'IPv4',
      ports: [{ name: 'p', port: 1, protocol: 'TCP' }],
      endpoints: Array.from({ length: 60 }, (_, i) => ({
        addresses: [`127.128.9.${i + 1}`],
        conditions: { ready: true },
      })),
    };
    const bigView = new FakeView(
      [
        {
          metadata: { name: 'big', namespace: 'default' },
          spec: { clusterIP: 'None', ports: [{ name: 'p', port: 1 }] },
        },
      ],
      [many],
    );
    const s = new DnsServer({
      resolver: new ClusterDnsResolver({ view: bigView }),
      log: silentLogger(),
      host: '127.0.0.1',
      port: 0,
    });
    const q = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ type: 'A', name: 'big.default.svc.cluster.local' }],
    });
    const udp = dnsPacket.decode(s.answer(q, 'udp') as Buffer);
    assert.equal(udp.flag_tc, true);
    assert.equal(udp.answers?.length, 0);
    const tcp = dnsPacket.decode(s.answer(q, 'tcp') as Buffer);
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers?.length, 60);
  });

  it('serves the same answers over real UDP and TCP sockets (TCP: length-prefixed, two queries on one connection)', async () => {
    const live = new DnsServer({ resolver, log: silentLogger(), host: '127.0.0.1', port: 0 });
    const { port } = await live.listen();
    try {
      const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);
      const q = (id: number, name: string) => dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name }] });
      const udp = dgram.createSocket('udp4');
      const udpReply = await new Promise<Buffer>((resolve) => {
        udp.once('message', (m) => resolve(m));
        udp.send(q(1, 'web.default.svc.cluster.local'), port, '127.0.0.1');
      });
      udp.close();
      assert.deepEqual(data(dnsPacket.decode(udpReply).answers ?? []), ['127.96.0.20']);

      const sock = net.connect({ host: '127.0.0.1', port });
      let buf = Buffer.alloc(0);
      const replies: dnsPacket.DecodedPacket[] = [];
      await new Promise<void>((resolve, reject) => {
        sock.on('error', reject);
        sock.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            replies.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
            buf = buf.subarray(2 + buf.readUInt16BE(0));
          }
          if (replies.length === 2) resolve();
        });
        // Both queries in one write: the server must split the stream by the length prefixes.
        sock.write(
          Buffer.concat([frame(q(2, 'web.default.svc.cluster.local')), frame(q(3, 'nope.default.svc.cluster.local'))]),
        );
      });
      sock.destroy();
      assert.deepEqual(
        replies.map((r) => [r.id, (r as unknown as { rcode: string }).rcode]),
        [
          [2, 'NOERROR'],
          [3, 'NXDOMAIN'],
        ],
      );
    } finally {
      await live.close();
    }
  });
});
