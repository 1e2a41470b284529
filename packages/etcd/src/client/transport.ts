/**
 * What the etcd client needs from a connection to one member. The production implementation sits on
 * `@kemu/wire` (wire-transport.ts); unit tests can plug in an in-memory one.
 */
export interface StreamHandlers {
  onMessage(msg: unknown): void;
  /** The stream ended: `err` undefined = the server ended it; otherwise the connection failed or it errored. */
  onEnd(err?: Error): void;
}

export interface StreamHandle {
  cancel(): void;
}

export interface MemberConnection {
  /**
   * One request/response. Rejects with the typed server error (an EtcdError) when the member
   * answered with one, or with a ConnectionError when the transport failed.
   */
  call(method: string, body: unknown, timeoutMs: number): Promise<unknown>;
  /** A server-push stream (watch). */
  stream(method: string, body: unknown, handlers: StreamHandlers): StreamHandle;
  close(): Promise<void>;
}

export type ConnectionFactory = (endpoint: string) => MemberConnection;

/**
 * The transport failed. `sent` says whether the request may have reached the member: when false the
 * request certainly had no effect, so even a write may be retried elsewhere.
 */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}
