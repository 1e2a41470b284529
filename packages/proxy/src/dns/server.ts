// DNS over UDP and TCP (RFC 1035 §4.2; TCP with the two-byte length prefix) on one address,
// answering from a ClusterDnsResolver. Malformed queries get FORMERR (if they carry an id) and a
// log line at debug; the server keeps running.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '@kemu/runtime';
import dnsPacket, { type Packet, type Question } from 'dns-packet';
import { type ClusterDnsResolver, RCODE_VALUES, type Rcode } from './resolver.js';

const QR_RESPONSE_BITS = 0x8000;
const OPCODE_MASK = 0x7800;
const RD_FLAG = 0x0100;
const TC_FLAG = 0x0200;
/** Largest UDP answer without EDNS (RFC 1035); longer answers are truncated and retried over TCP. */
const UDP_LIMIT = 512;

export interface DnsServerObserver {
  query(rcode: Rcode, transport: 'udp' | 'tcp', qtype: string): void;
}

export interface DnsServerOptions {
  resolver: ClusterDnsResolver;
  log: Logger;
  host: string;
  port: number;
  observer?: DnsServerObserver;
}

export class DnsServer {
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;
  private readonly conns = new Set<net.Socket>();

  constructor(private readonly opts: DnsServerOptions) {}

  /**
   * Binds UDP and TCP on the same port. With port 0 UDP picks one and TCP follows it; if TCP finds
   * that port taken, both are released and another port is tried (a few times).
   */
  async listen(): Promise<{ host: string; port: number }> {
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(this.opts.port);
      const port = udp.address().port;
      try {
        this.tcp = await this.bindTcp(port);
      } catch (err) {
        udp.close();
        if (this.opts.port !== 0 || attempt >= 4 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        continue;
      }
      udp.on('error', (err) => this.opts.log.error({ err }, 'dns udp socket error'));
      udp.on('message', (msg, rinfo) => {
        const reply = this.answer(msg, 'udp');
        if (reply) udp.send(reply, rinfo.port, rinfo.address);
      });
      this.udp = udp;
      return { host: this.opts.host, port };
    }
  }

  private bindUdp(port: number): Promise<dgram.Socket> {
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      udp.once('error', (err) => {
        udp.close();
        reject(err);
      });
      udp.bind({ address: this.opts.host, port, exclusive: true }, () => {
        udp.removeAllListeners('error');
        resolve(udp);
      });
    });
  }

  private bindTcp(port: number): Promise<net.Server> {
    const tcp = net.createServer((s) => this.serveTcp(s));
    return new Promise((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: this.opts.host, port, exclusive: true }, () => {
        tcp.off('error', reject);
        resolve(tcp);
      });
    });
  }

  async close(): Promise<void> {
    this.udp?.close();
    this.udp = null;
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    this.tcp = null;
  }

  private serveTcp(s: net.Socket): void {
    this.conns.add(s);
    s.once('close', () => this.conns.delete(s));
    s.on('error', () => s.destroy());
    s.setTimeout(10_000, () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const reply = this.answer(msg, 'tcp');
        if (reply) {
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          s.write(framed);
        }
      }
    });
  }

  /** The encoded reply to one message, or null when it deserves none (a response, or too short). */
  answer(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    if (msg.length < 12) return null;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    if (flags & QR_RESPONSE_BITS) return null;
    const rd = flags & RD_FLAG;
    const fail = (rcode: Rcode, questions: Question[] = []): Buffer => {
      this.opts.observer?.query(rcode, transport, questions[0]?.type ?? '-');
      return dnsPacket.encode({
        type: 'response',
        id,
        flags: rd | RCODE_VALUES[rcode] | (flags & OPCODE_MASK),
        questions,
      });
    };
    if ((flags & OPCODE_MASK) !== 0) return fail('NOTIMP');
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message, transport }, 'malformed dns query');
      return fail('FORMERR');
    }
    const questions = query.questions ?? [];
    const q = questions[0];
    if (questions.length !== 1 || q === undefined) return fail('FORMERR', questions);
    const r = this.opts.resolver.resolve(q.name, q.type);
    this.opts.observer?.query(r.rcode, transport, q.type);
    const response: Packet = {
      type: 'response',
      id,
      flags: rd | (r.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE_VALUES[r.rcode],
      questions: [q],
      answers: r.answers,
      authorities: r.authorities,
      additionals: r.additionals,
    };
    let out = dnsPacket.encode(response);
    if (transport === 'udp' && out.length > UDP_LIMIT) {
      // Too big for plain UDP: say so (TC) and let the client retry over TCP, as RFC 1035 asks.
      out = dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | TC_FLAG, answers: [], additionals: [] });
    }
    return out;
  }
}
