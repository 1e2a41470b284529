import type { TimerHandle } from '@kemu/runtime';
import WebSocket from 'ws';
import { Backoff, type BackoffOptions } from './backoff.js';
import { type CallOptions, WireConnection } from './connection.js';
import { Emitter } from './emitter.js';
import { CloseCode, WireDisconnectedError, WireTimeoutError, WireVersionMismatchError } from './errors.js';
import { type ResolvedOptions, resolveOptions, type WireOptions } from './options.js';
import { Router } from './router.js';
import { type StreamOptions, WireStream } from './stream.js';

export interface WireClientOptions extends WireOptions {
  /** e.g. `ws://127.0.0.1:2380/wire`. */
  url: string;
  /** Reconnect policy (default: 100 ms doubling to 5 s, jittered); `false` connects once. */
  reconnect?: BackoffOptions | false;
}

export interface WireClientEvents extends Record<string, unknown[]> {
  /** The hello exchange completed; resume watches here. */
  connected: [conn: WireConnection];
  /** An open connection dropped; its pending calls and streams failed with `err`. */
  disconnected: [err: Error];
}

/**
 * A connection to one server that keeps itself up: it reconnects with jittered exponential backoff,
 * detects a dead peer by heartbeats, and reports `connected`/`disconnected` so callers can resume
 * watches. Calls made while disconnected fail at once with WireDisconnectedError (no hidden
 * queueing: the caller decides whether to retry). It is also a {@link Router}: the server can call
 * methods registered on the client.
 */
export class WireClient extends Router {
  readonly url: string;
  private readonly opts: ResolvedOptions;
  private readonly backoff: Backoff | null;
  private readonly emitter: Emitter<WireClientEvents>;
  private current: WireConnection | null = null;
  private attemptConn: WireConnection | null = null;
  private retryTimer: TimerHandle | null = null;
  private started = false;
  private stopped = false;
  private fatal: Error | null = null;
  private waiters: Array<{ resolve: (c: WireConnection) => void; reject: (e: Error) => void }> = [];

  constructor(options: WireClientOptions) {
    super();
    const u = new URL(options.url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
      throw new RangeError(`wire URL must be ws:// or wss://: ${options.url}`);
    this.url = options.url;
    this.opts = resolveOptions(options);
    this.backoff = options.reconnect === false ? null : new Backoff(this.opts.random, options.reconnect);
    this.emitter = new Emitter(this.opts.log);
  }

  on<K extends keyof WireClientEvents>(event: K, fn: (...args: WireClientEvents[K]) => void): () => void {
    return this.emitter.on(event, fn);
  }

  /** Starts connecting (idempotent). */
  start(): this {
    if (!this.started && !this.stopped) {
      this.started = true;
      this.connect();
    }
    return this;
  }

  /** The open connection, or null while (re)connecting. */
  get connection(): WireConnection | null {
    return this.current;
  }

  get isConnected(): boolean {
    return this.current !== null;
  }

  /** The server's identity once connected. */
  get remote(): string {
    return this.current?.remote ?? '';
  }

  /** Resolves with the open connection (now or once connected); starts the client if needed. */
  whenConnected(timeoutMs?: number): Promise<WireConnection> {
    if (this.current) return Promise.resolve(this.current);
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.stopped) return Promise.reject(new WireDisconnectedError('client closed'));
    this.start();
    return new Promise<WireConnection>((resolve, reject) => {
      let timer: TimerHandle | null = null;
      const waiter = {
        resolve: (c: WireConnection) => {
          timer?.cancel();
          resolve(c);
        },
        reject: (e: Error) => {
          timer?.cancel();
          reject(e);
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = this.opts.runtime.setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new WireTimeoutError(`connect ${this.url}`, timeoutMs));
        }, timeoutMs);
      }
    });
  }

  request<T = unknown>(method: string, data?: unknown, opts?: CallOptions): Promise<T> {
    const c = this.current;
    if (c === null) return Promise.reject(this.notConnected());
    return c.request<T>(method, data, opts);
  }

  notify(method: string, data?: unknown): void {
    const c = this.current;
    if (c === null) throw this.notConnected();
    c.notify(method, data);
  }

  stream<T = unknown>(method: string, data?: unknown, opts?: StreamOptions): WireStream<T> {
    const c = this.current;
    if (c !== null) return c.stream<T>(method, data, opts);
    const s = new WireStream<T>({ grantCredit() {}, cancelStream() {} }, 0, method, opts?.window ?? 1);
    s.finish(this.notConnected());
    return s;
  }

  /** Stops reconnecting and closes the connection; pending calls fail with WireDisconnectedError. */
  async close(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = null;
    const err = new WireDisconnectedError(`client for ${this.url} closed`);
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.attemptConn?.close(CloseCode.NORMAL, 'client closed');
    this.current?.close(CloseCode.NORMAL, 'client closed');
  }

  private notConnected(): WireDisconnectedError {
    return new WireDisconnectedError(`not connected to ${this.url}`);
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.url, {
      perMessageDeflate: false,
      maxPayload: this.opts.maxFrameBytes,
      skipUTF8Validation: true,
    });
    this.attemptConn = new WireConnection(
      ws,
      'client',
      this.opts,
      this,
      {
        onOpen: (conn) => {
          this.attemptConn = null;
          this.current = conn;
          this.backoff?.reset();
          this.opts.log.info({ url: this.url, peer: conn.remote }, 'wire client connected');
          for (const w of this.waiters.splice(0)) w.resolve(conn);
          this.emitter.emit('connected', conn);
        },
        onClose: (conn, err) => this.onConnectionClosed(conn, err),
      },
      this.url,
    );
  }

  private onConnectionClosed(conn: WireConnection, err: Error): void {
    const wasOpen = this.current === conn;
    if (wasOpen) this.current = null;
    if (this.attemptConn === conn) this.attemptConn = null;
    if (wasOpen) {
      this.opts.log.warn(
        { url: this.url, code: (err as { code?: string }).code, err: err.message },
        'wire client disconnected',
      );
      this.emitter.emit('disconnected', err);
    } else {
      this.opts.log.debug({ url: this.url, err: err.message }, 'wire connect attempt failed');
    }
    if (this.stopped) return;
    if (err instanceof WireVersionMismatchError) {
      // Retrying cannot help: the two builds do not speak the same protocol.
      this.fatal = err;
      this.stopped = true;
      this.opts.log.error({ url: this.url, err: err.message }, 'wire version mismatch; giving up');
      for (const w of this.waiters.splice(0)) w.reject(err);
      if (!wasOpen) this.emitter.emit('disconnected', err);
      return;
    }
    if (this.backoff === null) {
      this.stopped = true;
      for (const w of this.waiters.splice(0)) w.reject(err);
      return;
    }
    const delay = this.backoff.next();
    this.retryTimer = this.opts.runtime.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }
}
