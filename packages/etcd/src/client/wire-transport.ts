import { type Logger, silentLogger } from '@kemu/runtime';
import { RemoteError, WireClient, WireDisconnectedError, WireTimeoutError } from '@kemu/wire';
import { etcdErrorFromCode } from '../server/errors.js';
import { ConnectionError, type ConnectionFactory, type MemberConnection, type StreamHandlers } from './transport.js';

export interface WireTransportOptions {
  /** The client's identity on the wire, e.g. `etcdctl/1234` or `kube-apiserver/apiserver-0`. */
  identity: string;
  log?: Logger;
  /** How long a call waits for a (re)connection before the endpoint counts as down (default 1 s). */
  connectTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

function toClientError(err: unknown, sent: boolean): Error {
  if (err instanceof RemoteError) {
    const data = typeof err.data === 'object' && err.data !== null ? (err.data as Record<string, unknown>) : {};
    return etcdErrorFromCode(err.code, err.message, data);
  }
  if (err instanceof WireTimeoutError) return new ConnectionError(err.message, sent, true);
  if (err instanceof WireDisconnectedError) return new ConnectionError(err.message, sent);
  return err instanceof Error ? err : new Error(String(err));
}

class WireMemberConnection implements MemberConnection {
  private readonly client: WireClient;

  constructor(
    endpoint: string,
    private readonly opts: WireTransportOptions,
  ) {
    this.client = new WireClient({
      url: `${endpoint}/wire`,
      identity: opts.identity,
      log: opts.log ?? silentLogger(),
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 500,
      reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
      maxFrameBytes: 64 * 1024 * 1024,
    });
    this.client.on('connected', () => {
      this.down = false;
    });
    this.client.on('disconnected', () => {
      this.down = true;
    });
    this.client.start();
  }

  /** Set when an open connection dropped; calls then fail at once until it is back (fast failover). */
  private down = false;

  private async connected(): Promise<void> {
    if (this.client.isConnected) return;
    if (this.down) throw new ConnectionError(`${this.client.url} is down (reconnecting)`, false);
    try {
      await this.client.whenConnected(this.opts.connectTimeoutMs ?? 1000);
    } catch (err) {
      throw new ConnectionError(`cannot connect to ${this.client.url}: ${(err as Error).message}`, false);
    }
  }

  async call(method: string, body: unknown, timeoutMs: number): Promise<unknown> {
    await this.connected();
    try {
      return await this.client.request(method, body, { timeoutMs });
    } catch (err) {
      throw toClientError(err, true);
    }
  }

  stream(method: string, body: unknown, handlers: StreamHandlers): { cancel(): void } {
    let cancelled = false;
    let active: { cancel(): void } | undefined;
    void (async () => {
      try {
        await this.connected();
      } catch (err) {
        handlers.onEnd(err as Error);
        return;
      }
      if (cancelled) return;
      const s = this.client.stream(method, body);
      active = s;
      try {
        for await (const item of s) handlers.onMessage(item);
        if (!cancelled) handlers.onEnd();
      } catch (err) {
        if (!cancelled) handlers.onEnd(toClientError(err, true));
      }
    })();
    return {
      cancel: () => {
        cancelled = true;
        active?.cancel();
      },
    };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Connections to etcd members over `@kemu/wire` (one reconnecting WireClient per endpoint). */
export function wireConnectionFactory(opts: WireTransportOptions): ConnectionFactory {
  return (endpoint) => new WireMemberConnection(endpoint, opts);
}
