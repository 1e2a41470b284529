import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { WireConnection } from './connection.js';
import { Emitter } from './emitter.js';
import { CloseCode } from './errors.js';
import { type ResolvedOptions, resolveOptions, type WireOptions } from './options.js';
import { Router } from './router.js';

export interface WireServerOptions extends WireOptions {
  /** URL path WebSocket upgrades are accepted on (default `/wire`). */
  path?: string;
}

export interface WireServerEvents extends Record<string, unknown[]> {
  /** A peer completed the hello exchange. */
  connection: [conn: WireConnection];
  /** An open connection closed (the error says why). */
  disconnect: [conn: WireConnection, err: Error];
}

/**
 * Accepts wire connections, either on its own HTTP listener (`listen`) or on an existing
 * `http.Server` (`attach`, e.g. the apiserver's). Handlers registered on the server (it is a
 * {@link Router}) serve every connection; connections can also call back into their peers.
 */
export class WireServer extends Router {
  readonly path: string;
  private readonly opts: ResolvedOptions;
  private readonly wss: WebSocketServer;
  private readonly open = new Set<WireConnection>();
  private readonly all = new Set<WireConnection>();
  private readonly emitter: Emitter<WireServerEvents>;
  private ownServer: http.Server | null = null;
  private address: AddressInfo | null = null;

  constructor(options: WireServerOptions) {
    super();
    this.opts = resolveOptions(options);
    this.path = options.path ?? '/wire';
    this.emitter = new Emitter(this.opts.log);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.maxFrameBytes,
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
  }

  on<K extends keyof WireServerEvents>(event: K, fn: (...args: WireServerEvents[K]) => void): () => void {
    return this.emitter.on(event, fn);
  }

  /** Connections that completed the hello exchange. */
  get connections(): ReadonlySet<WireConnection> {
    return this.open;
  }

  /** The newest open connection from `identity`, if any. */
  connectionTo(identity: string): WireConnection | undefined {
    let found: WireConnection | undefined;
    for (const c of this.open) if (c.remote === identity) found = c;
    return found;
  }

  /** `ws://host:port/path` once listening. */
  get url(): string {
    if (!this.address) throw new Error('WireServer is not listening');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `ws://${host}:${this.address.port}${this.path}`;
  }

  /** Listens on its own HTTP server; port 0 picks a free port. */
  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('wire endpoint: WebSocket upgrade required\n');
    });
    this.attach(server);
    this.ownServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.address = server.address() as AddressInfo;
    return this.address;
  }

  /**
   * Serves upgrades to `path` on an existing server. Upgrades to other paths are left to the
   * server's other `upgrade` listeners (and refused with 400 if there are none).
   */
  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.matches(req)) this.handleUpgrade(req, socket, head);
      else if (server.listenerCount('upgrade') === 1) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      }
    });
    const addr = server.address();
    if (addr !== null && typeof addr === 'object') this.address = addr;
    else server.once('listening', () => (this.address = server.address() as AddressInfo));
  }

  /** For callers that route upgrades themselves. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}); // resets during the upgrade are not our problem to crash on
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new WireConnection(
        ws,
        'server',
        this.opts,
        this,
        {
          onOpen: (c) => {
            this.open.add(c);
            this.emitter.emit('connection', c);
          },
          onClose: (c, err) => {
            this.all.delete(c);
            if (this.open.delete(c)) this.emitter.emit('disconnect', c, err);
          },
        },
        req.socket.remoteAddress ?? 'unknown client',
      );
      this.all.add(conn);
      conn.onClose(() => this.all.delete(conn));
    });
  }

  /** Closes every connection (1001 going away) and the listener it owns. */
  async close(): Promise<void> {
    for (const c of [...this.all]) c.close(CloseCode.GOING_AWAY, 'server shutting down');
    this.wss.close();
    const server = this.ownServer;
    if (server) {
      this.ownServer = null;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private matches(req: http.IncomingMessage): boolean {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return (q < 0 ? url : url.slice(0, q)) === this.path;
  }
}
