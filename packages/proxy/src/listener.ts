// One socket a Service needs (ClusterIP:port, nodeIP:nodePort, externalIP:port) and the userspace
// proxying behind it. On one host several kube-proxies want the same socket: the first to bind holds
// it, the others stand by and retry binding every `bindRetryMs`, so when the holder dies (the kernel
// frees its sockets) one of them takes over. No SO_REUSEPORT is involved: Node's `net` has none, and
// sharing would split connections between proxies that may briefly disagree about endpoints.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger, Random, Runtime, TimerHandle } from '@kemu/runtime';
import { EndpointPicker } from './endpoint-picker.js';
import type { DesiredListener } from './service-rules.js';

export type ListenerState = 'binding' | 'holding' | 'standby' | 'closed';

export type ConnectionResult = 'proxied' | 'no-endpoint' | 'all-refused';

/** What listeners report, kept free of prom-client so they can be tested alone. */
export interface ListenerObserver {
  connection(result: ConnectionResult, protocol: 'TCP' | 'UDP'): void;
  /** +1 when a proxied connection (or UDP session) opens, -1 when it ends. */
  active(delta: number, protocol: 'TCP' | 'UDP'): void;
}

export interface ListenerDeps {
  runtime: Runtime;
  log: Logger;
  /** How often a standby listener tries to bind again (±20% jitter from `random`). */
  bindRetryMs: number;
  random?: Random;
  /** How long a connect to one endpoint may take before the next endpoint is tried. */
  connectTimeoutMs: number;
  /** A UDP session (client address:port ↔ endpoint) ends after this long without packets. */
  udpIdleTimeoutMs: number;
  observer?: ListenerObserver;
}

/** Bind errors that mean "not now", as opposed to a bug: stand by and retry. */
const STANDBY_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES']);

export abstract class ServiceListener {
  state: ListenerState = 'binding';
  /** Why the last bind failed (`EADDRINUSE`, …), for the admin view. */
  lastBindError: string | undefined;
  /** Bind attempts so far (a standby keeps counting). */
  bindAttempts = 0;
  readonly picker: EndpointPicker;
  protected readonly log: Logger;
  private retryTimer: TimerHandle | null = null;
  private failures = 0;

  constructor(
    public spec: DesiredListener,
    protected readonly deps: ListenerDeps,
  ) {
    this.log = deps.log.child({ listener: spec.key, service: spec.servicePort });
    this.picker = new EndpointPicker(deps.runtime, spec.affinityTimeoutMs);
    this.picker.update(spec.endpoints, spec.affinityTimeoutMs);
  }

  start(): void {
    void this.attempt();
  }

  /** New endpoints or affinity for the same socket; established connections are not touched. */
  update(spec: DesiredListener): void {
    this.spec = spec;
    this.picker.update(spec.endpoints, spec.affinityTimeoutMs);
  }

  /** Gives the socket up (Service or port deleted). Established connections run to their end. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.retryTimer?.cancel();
    this.retryTimer = null;
    this.unbind();
  }

  /** Also ends every proxied connection (process shutdown). */
  destroy(): void {
    this.close();
    this.dropConnections();
  }

  abstract get activeConnections(): number;

  /** (A method, so TypeScript does not narrow `state` across the awaits that can change it.) */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  protected abstract bind(): Promise<void>;
  protected abstract unbind(): void;
  protected abstract dropConnections(): void;

  private async attempt(): Promise<void> {
    this.retryTimer = null;
    if (this.state === 'closed') return;
    this.bindAttempts++;
    try {
      await this.bind();
    } catch (err) {
      if (this.isClosed()) return;
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      const first = this.lastBindError !== code;
      this.lastBindError = code;
      this.state = 'standby';
      this.failures++;
      if (first) {
        const level = code === 'EADDRINUSE' ? 'info' : 'warn';
        this.log[level](
          { code, retryMs: this.deps.bindRetryMs },
          code === 'EADDRINUSE'
            ? 'socket held by another process (another kube-proxy on this host); standing by'
            : code === 'EACCES'
              ? 'no permission to bind this port (ports below 1024 need root or net.ipv4.ip_unprivileged_port_start); retrying'
              : STANDBY_CODES.has(code)
                ? 'cannot bind this address (is it a loopback address on this host?); retrying'
                : 'bind failed; retrying',
        );
      }
      this.retryTimer = this.deps.runtime.setTimeout(() => void this.attempt(), this.retryDelay());
      return;
    }
    if (this.isClosed()) {
      this.unbind();
      return;
    }
    if (this.failures > 0) this.log.info({ afterAttempts: this.failures }, 'took over the socket');
    else this.log.debug('listening');
    this.state = 'holding';
    this.lastBindError = undefined;
    this.failures = 0;
  }

  /** A held socket failed after binding: give it up and compete for it again. */
  protected lost(err: Error): void {
    if (this.state === 'closed') return;
    this.log.warn({ err: err.message }, 'listener failed; binding again');
    this.unbind();
    this.state = 'standby';
    this.retryTimer = this.deps.runtime.setTimeout(() => void this.attempt(), this.retryDelay());
  }

  /** bindRetryMs ± 20%, so the standbys of many sockets do not all wake in the same tick. */
  private retryDelay(): number {
    const r = this.deps.random?.next() ?? 0.5;
    return Math.round(this.deps.bindRetryMs * (0.8 + 0.4 * r));
  }
}

function splitHostPort(ep: string): { host: string; port: number } {
  const i = ep.lastIndexOf(':');
  return { host: ep.slice(0, i), port: Number(ep.slice(i + 1)) };
}

/** Errors on connecting to an endpoint after which the next endpoint is tried. */
const RETRY_NEXT_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

export class TcpServiceListener extends ServiceListener {
  private server: net.Server | null = null;
  private readonly open = new Set<net.Socket>();
  private activeCount = 0;

  get activeConnections(): number {
    return this.activeCount;
  }

  protected bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => this.accept(s));
      server.once('error', reject);
      // exclusive: never share the handle through the cluster module; one holder per socket.
      server.listen({ host: this.spec.ip, port: this.spec.port, exclusive: true, backlog: 511 }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.lost(err));
        this.server = server;
        resolve();
      });
    });
  }

  protected unbind(): void {
    this.server?.close();
    this.server = null;
  }

  protected dropConnections(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
  }

  private accept(client: net.Socket): void {
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    const clientIp = client.remoteAddress ?? '';
    const tried = new Set<string>();
    let clientGone = false;
    client.on('error', () => {
      clientGone = true;
    });
    client.once('close', () => {
      clientGone = true;
    });
    const tryNext = (): void => {
      if (clientGone) return;
      const ep = this.picker.pick(clientIp, tried);
      if (ep === undefined) {
        this.deps.observer?.connection(tried.size === 0 ? 'no-endpoint' : 'all-refused', 'TCP');
        this.log.debug({ client: clientIp, tried: [...tried] }, 'no endpoint accepted the connection');
        client.resetAndDestroy();
        return;
      }
      tried.add(ep);
      const { host, port } = splitHostPort(ep);
      const upstream = net.connect({ host, port, allowHalfOpen: true });
      this.open.add(upstream);
      upstream.once('close', () => this.open.delete(upstream));
      const timer = this.deps.runtime.setTimeout(() => {
        const err: NodeJS.ErrnoException = new Error(`connect to ${ep} timed out`);
        err.code = 'ETIMEDOUT';
        upstream.destroy(err);
      }, this.deps.connectTimeoutMs);
      const onConnectError = (err: NodeJS.ErrnoException): void => {
        timer.cancel();
        upstream.destroy();
        if (clientGone) return;
        if (RETRY_NEXT_CODES.has(err.code ?? '')) {
          this.log.debug({ endpoint: ep, code: err.code }, 'endpoint refused; trying the next');
          tryNext();
        } else {
          this.deps.observer?.connection('all-refused', 'TCP');
          client.resetAndDestroy();
        }
      };
      upstream.once('error', onConnectError);
      upstream.once('connect', () => {
        timer.cancel();
        upstream.off('error', onConnectError);
        if (clientGone) {
          upstream.destroy();
          return;
        }
        this.splice(client, upstream);
      });
    };
    tryNext();
  }

  /** Pipes both ways until both sides are closed; an error on either side ends both. */
  private splice(client: net.Socket, upstream: net.Socket): void {
    this.deps.observer?.connection('proxied', 'TCP');
    this.activeCount++;
    this.deps.observer?.active(1, 'TCP');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 2) {
        this.activeCount--;
        this.deps.observer?.active(-1, 'TCP');
      }
    };
    client.once('close', onClose);
    upstream.once('close', onClose);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}

interface UdpSession {
  socket: dgram.Socket;
  endpoint: string;
  idle: TimerHandle;
  queue: Buffer[] | null;
}

/**
 * UDP as the userspace proxier did it: one session per client address:port, with its own upstream
 * socket connected to the chosen endpoint; replies go back from the service socket; the session ends
 * after `udpIdleTimeoutMs` without packets or when the endpoint answers with ICMP unreachable.
 */
export class UdpServiceListener extends ServiceListener {
  private socket: dgram.Socket | null = null;
  private readonly sessions = new Map<string, UdpSession>();

  get activeConnections(): number {
    return this.sessions.size;
  }

  protected bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
      socket.once('error', (err) => {
        // A dgram socket keeps its descriptor after a failed bind; a standby retrying every half
        // second would otherwise leak one per attempt.
        socket.close();
        reject(err);
      });
      socket.bind({ address: this.spec.ip, port: this.spec.port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.lost(err));
        socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
        this.socket = socket;
        resolve();
      });
    });
  }

  protected unbind(): void {
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = null;
  }

  protected dropConnections(): void {
    for (const key of [...this.sessions.keys()]) this.endSession(key);
  }

  /** Sessions whose endpoint left the set end now, so the next packet picks a live endpoint. */
  override update(spec: DesiredListener): void {
    super.update(spec);
    const present = new Set(spec.endpoints);
    for (const [key, s] of this.sessions) if (!present.has(s.endpoint)) this.endSession(key);
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      const ep = this.picker.pick(rinfo.address);
      if (ep === undefined) {
        this.deps.observer?.connection('no-endpoint', 'UDP');
        return;
      }
      session = this.openSession(key, ep, rinfo);
    }
    this.touch(key, session);
    if (session.queue) session.queue.push(msg);
    else this.sendUpstream(key, session, msg);
  }

  private sendUpstream(key: string, session: UdpSession, msg: Buffer): void {
    session.socket.send(msg, (err) => {
      // ECONNREFUSED here is the endpoint's ICMP port unreachable: end the session, pick anew next time.
      if (err) this.endSession(key);
    });
  }

  private openSession(key: string, endpoint: string, client: dgram.RemoteInfo): UdpSession {
    const { host, port } = splitHostPort(endpoint);
    const socket = dgram.createSocket('udp4');
    const session: UdpSession = {
      socket,
      endpoint,
      queue: [],
      idle: this.deps.runtime.setTimeout(() => this.endSession(key), this.deps.udpIdleTimeoutMs),
    };
    this.sessions.set(key, session);
    this.deps.observer?.connection('proxied', 'UDP');
    this.deps.observer?.active(1, 'UDP');
    socket.on('error', (err) => {
      this.log.debug({ endpoint, err: err.message }, 'udp session failed');
      this.endSession(key);
    });
    socket.on('message', (reply) => {
      this.touch(key, session);
      // With a callback a failed send is reported there, not as an 'error' that would drop the socket.
      this.socket?.send(reply, client.port, client.address, (err) => {
        if (err) this.log.debug({ err: err.message }, 'udp reply not delivered');
      });
    });
    socket.connect(port, host, () => {
      const queued = session.queue ?? [];
      session.queue = null;
      for (const m of queued) this.sendUpstream(key, session, m);
    });
    return session;
  }

  private touch(key: string, s: UdpSession): void {
    s.idle.cancel();
    s.idle = this.deps.runtime.setTimeout(() => this.endSession(key), this.deps.udpIdleTimeoutMs);
  }

  private endSession(key: string): void {
    const s = this.sessions.get(key);
    if (!s) return;
    this.sessions.delete(key);
    s.idle.cancel();
    try {
      s.socket.close();
    } catch {
      // already closed
    }
    this.deps.observer?.active(-1, 'UDP');
  }
}

export function createListener(spec: DesiredListener, deps: ListenerDeps): ServiceListener {
  return spec.protocol === 'UDP' ? new UdpServiceListener(spec, deps) : new TcpServiceListener(spec, deps);
}
