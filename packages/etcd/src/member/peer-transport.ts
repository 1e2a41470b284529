import { type Message, NETWORK_MESSAGE_TYPES } from '@kemu/raft';
import type { Logger, Random, Runtime } from '@kemu/runtime';
import { type FaultTable, type Router, WireClient, type WireConnection } from '@kemu/wire';
import type { Registry } from 'prom-client';
import type { EtcdServer, RaftSender } from './etcd-server.js';

export const RAFT_MESSAGES = 'Raft.Messages';
export const RAFT_SNAPSHOT = 'Raft.Snapshot';

export interface PeerTransportOptions {
  self: string;
  log: Logger;
  runtime: Runtime;
  random: Random;
  faults: FaultTable;
  metrics?: Registry;
  heartbeatIntervalMs: number;
  /** Resolves a member name to its ws:// URL (membership can change at run time). */
  urlOf: (name: string) => string | undefined;
}

/**
 * Raft messages between members, over the wire. Each member dials every peer (one reconnecting
 * WireClient per peer) and sends batches of messages as one-way notifies; snapshots go as a request
 * so the leader learns whether the follower took it. The wire's heartbeats (at the Raft heartbeat
 * interval) detect a dead or frozen peer within a few intervals; a dropped link to the leader makes
 * the follower campaign at once through pre-vote instead of waiting out its election timeout.
 */
export class PeerTransport implements RaftSender {
  private readonly clients = new Map<string, WireClient>();
  private server: EtcdServer | undefined;
  private closed = false;

  constructor(private readonly opts: PeerTransportOptions) {}

  /** Serves inbound Raft traffic on the member's wire server. */
  register(router: Router, server: EtcdServer): void {
    this.server = server;
    router.handleNotify<unknown>(RAFT_MESSAGES, (data, from) => this.receive(data, from));
    router.handle<unknown, boolean>(RAFT_SNAPSHOT, (data, ctx) => {
      this.receive([data], ctx.conn);
      return true;
    });
  }

  private receive(data: unknown, from: WireConnection): void {
    if (!Array.isArray(data)) {
      this.opts.log.warn({ from: from.remote }, 'raft: message batch is not a list; ignored');
      return;
    }
    const sender = from.remote.startsWith('etcd/') ? from.remote.slice('etcd/'.length) : '';
    for (const m of data) {
      if (!isMessage(m) || m.from !== sender || m.to !== this.opts.self) {
        this.opts.log.warn({ from: from.remote }, 'raft: malformed or misaddressed message; ignored');
        continue;
      }
      // Entries decoded from a frame are views into that whole frame; the Raft log keeps entries
      // until compaction, so copy each one out rather than pin every batch it arrived in.
      for (const e of m.entries) if (e.data.byteLength !== e.data.buffer.byteLength) e.data = new Uint8Array(e.data);
      this.server?.step(m);
    }
  }

  private client(peer: string): WireClient | undefined {
    let c = this.clients.get(peer);
    if (c || this.closed) return c;
    const url = this.opts.urlOf(peer);
    if (!url) return undefined;
    c = new WireClient({
      url: `${url}/wire`,
      identity: `etcd/${this.opts.self}`,
      log: this.opts.log,
      runtime: this.opts.runtime,
      random: this.opts.random,
      faults: this.opts.faults,
      ...(this.opts.metrics ? { metrics: this.opts.metrics } : {}),
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      heartbeatMissedLimit: 3,
      maxFrameBytes: 256 * 1024 * 1024,
      reconnect: { initialDelayMs: 20, maxDelayMs: Math.max(100, this.opts.heartbeatIntervalMs * 2) },
    });
    c.on('disconnected', () => this.server?.peerUnreachable(peer));
    c.start();
    this.clients.set(peer, c);
    return c;
  }

  isConnected(peer: string): boolean {
    return this.clients.get(peer)?.isConnected === true;
  }

  /** Makes sure a link to `peer` exists (called for the leader so its loss is noticed at once). */
  watchPeer(peer: string): void {
    if (peer !== this.opts.self) this.client(peer);
  }

  send(messages: Message[]): void {
    const byPeer = new Map<string, Message[]>();
    for (const m of messages) {
      if (m.type === 'MsgSnap') {
        this.sendSnapshot(m);
        continue;
      }
      let list = byPeer.get(m.to);
      if (!list) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [peer, list] of byPeer) {
      const c = this.client(peer);
      if (!c?.isConnected) {
        for (const m of list) if (m.type === 'MsgProp') this.server?.proposalsUndeliverable(m);
        this.server?.peerUnreachable(peer);
        continue;
      }
      try {
        c.notify(RAFT_MESSAGES, list);
      } catch (err) {
        this.opts.log.debug({ err, peer }, 'raft: send failed');
        for (const m of list) if (m.type === 'MsgProp') this.server?.proposalsUndeliverable(m);
        this.server?.peerUnreachable(peer);
      }
    }
  }

  private sendSnapshot(m: Message): void {
    const c = this.client(m.to);
    if (!c?.isConnected) {
      this.server?.reportSnapshot(m.to, false);
      return;
    }
    this.opts.log.info({ to: m.to, index: m.snapshot?.metadata.index }, 'sending a snapshot to a lagging follower');
    const withData = async (): Promise<Message> => {
      const snap = m.snapshot;
      if (!snap || snap.data.length > 0 || !this.server) return m;
      return { ...m, snapshot: { metadata: snap.metadata, data: await this.server.snapshotData(snap.metadata) } };
    };
    withData()
      .then((full) => c.request(RAFT_SNAPSHOT, full, { timeoutMs: 60_000 }))
      .then(
        () => this.server?.reportSnapshot(m.to, true),
        (err) => {
          this.opts.log.warn({ err, to: m.to }, 'snapshot send failed');
          this.server?.reportSnapshot(m.to, false);
        },
      );
  }

  /** Sends a request to a peer's client service (used to reach the leader's lease clock). */
  async request(peer: string, method: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const c = this.client(peer);
    if (!c) throw new Error(`unknown peer ${peer}`);
    await c.whenConnected(Math.min(timeoutMs, 1000));
    return c.request(method, body, { timeoutMs });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}

function isMessage(m: unknown): m is Message {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return (
    typeof o.type === 'string' &&
    (NETWORK_MESSAGE_TYPES as ReadonlySet<string>).has(o.type as string) &&
    typeof o.from === 'string' &&
    typeof o.to === 'string' &&
    typeof o.term === 'number' &&
    typeof o.index === 'number' &&
    typeof o.logTerm === 'number' &&
    typeof o.commit === 'number' &&
    Array.isArray(o.entries)
  );
}
