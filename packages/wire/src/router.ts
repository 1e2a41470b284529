import type { WireConnection } from './connection.js';
import type { StreamSink } from './stream.js';

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** The connection the call arrived on; `conn.remote` is the caller's identity. */
  readonly conn: WireConnection;
  readonly method: string;
  /** Aborts when the caller cancels (AbortSignal, timeout) or the connection drops. */
  readonly signal: AbortSignal;
}

/**
 * Serves one request. `data` comes off the wire untrusted: validate it. Throw a `KemuError` to send
 * its `code` and message back (plus its `data` property, if any); the caller gets a `RemoteError`.
 */
export type RequestHandler<Req = unknown, Res = unknown> = (data: Req, ctx: CallContext) => Res | Promise<Res>;

/**
 * Produces a server-push stream. Send items with `await sink.send(item)` (it waits for the consumer's
 * credit) and finish with `sink.end()` or `sink.fail(err)`. Returning does not end the stream (a watch
 * handler may register a watcher and return); a thrown error or rejected promise fails it.
 */
export type StreamHandler<Req = unknown, Item = unknown> = (
  data: Req,
  sink: StreamSink<Item>,
  ctx: CallContext,
) => void | Promise<void>;

/** Handles a one-way message. Errors are logged; nothing is sent back. */
export type NotifyHandler<Msg = unknown> = (data: Msg, from: WireConnection) => void;

/** The methods one endpoint serves. Servers share one router across all their connections. */
export class Router {
  /** @internal */ readonly requests = new Map<string, RequestHandler>();
  /** @internal */ readonly streams = new Map<string, StreamHandler>();
  /** @internal */ readonly notes = new Map<string, NotifyHandler>();

  handle<Req = unknown, Res = unknown>(method: string, handler: RequestHandler<Req, Res>): this {
    this.requests.set(method, handler as RequestHandler);
    return this;
  }

  handleStream<Req = unknown, Item = unknown>(method: string, handler: StreamHandler<Req, Item>): this {
    this.streams.set(method, handler as StreamHandler);
    return this;
  }

  handleNotify<Msg = unknown>(method: string, handler: NotifyHandler<Msg>): this {
    this.notes.set(method, handler as NotifyHandler);
    return this;
  }
}
