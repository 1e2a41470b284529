import type http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { PortForwardError, StreamRequestError } from './errors.js';
import { parsePodSubresourcePath } from './exec-options.js';
import { RstStatus, type SpdyHeaders } from './spdy/frames.js';
import { SpdySession, type SpdyStream } from './spdy/session.js';
import { assertWebSocketUpgrade, offeredProtocols, rejectUpgrade } from './upgrade.js';

/** kubectl offers this subprotocol: a SPDY/3.1 session carried as the WebSocket's byte stream. */
export const PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

const WS_PROTOCOL_TOKEN = 'kemu-spdy-portforward';

/** Target output is paused while more than this waits in the WebSocket's send buffer. */
const SEND_BUFFER_HIGH_WATER = 1 << 20;

export interface PortForwardTarget {
  namespace: string;
  pod: string;
}

export interface PortForwardBackend {
  /**
   * Opens a TCP connection to `port` of the pod (the kubelet points it at the pod IP). The socket may
   * still be connecting; a connect failure is reported to the client on the pair's error stream.
   */
  connect(port: number, target: PortForwardTarget): net.Socket | Promise<net.Socket>;
}

export interface PortForwardOptions {
  target?: PortForwardTarget;
  onError?: (err: unknown) => void;
}

export type PortForwardOutcome =
  | { kind: 'rejected'; error: StreamRequestError }
  | { kind: 'closed'; connections: number; failedConnections: number };

/**
 * Serves `GET …/pods/{pod}/portforward` upgraded to WebSocket with `SPDY/3.1+portforward.k8s.io`:
 * runs a SPDY/3.1 server session over the WebSocket's binary messages. Every forwarded connection is a
 * pair of streams sharing a `requestid` header — `streamtype: error` and `streamtype: data` with the
 * `port` — and its data stream is relayed to `backend.connect(port)`.
 */
export async function acceptPortForwardWebSocket(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  backend: PortForwardBackend,
  options: PortForwardOptions = {},
): Promise<PortForwardOutcome> {
  let target: PortForwardTarget;
  try {
    assertWebSocketUpgrade(req);
    const parsed = options.target ?? parsePodSubresourcePath(req.url ?? '');
    if (parsed === undefined) throw new StreamRequestError('STREAM_BAD_REQUEST', `cannot find the pod in ${req.url}`);
    target = { namespace: parsed.namespace, pod: parsed.pod };
    const offered = offeredProtocols(req);
    if (!offered.includes(PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL)) {
      throw new StreamRequestError(
        'STREAM_PROTOCOL_UNSUPPORTED',
        `none of the offered subprotocols [${offered.join(', ')}] is supported; use ${PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL}`,
      );
    }
  } catch (err) {
    if (!(err instanceof StreamRequestError)) throw err;
    rejectUpgrade(socket, err);
    return { kind: 'rejected', error: err };
  }
  // `SPDY/3.1+portforward.k8s.io` is not an RFC 7230 token ('/' is a separator), so `ws` would refuse
  // the handshake with 400. Hand ws a token in its place; the 101 still names the real subprotocol
  // (ws writes whatever handleProtocols returns).
  req.headers['sec-websocket-protocol'] = WS_PROTOCOL_TOKEN;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: () => PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL,
  });
  const ws = await new Promise<WebSocket>((resolve) => wss.handleUpgrade(req, socket, head, resolve));
  return new PortForwardConnection(ws, target, backend, options.onError ?? (() => {})).run();
}

interface StreamPair {
  error?: SpdyStream;
  data?: SpdyStream;
  socket?: net.Socket;
  /** Error text waiting for the error stream, when the data stream's failure came first. */
  pendingError?: string;
  /** The data stream is over: the error stream must end too (kubectl reads it to EOF). */
  dataDone?: boolean;
}

class PortForwardConnection {
  private readonly session: SpdySession;
  private readonly pairs = new Map<string, StreamPair>();
  private readonly sockets = new Set<net.Socket>();
  private connections = 0;
  private failedConnections = 0;
  private readonly pausedSockets = new Set<net.Socket>();

  constructor(
    private readonly ws: WebSocket,
    private readonly target: PortForwardTarget,
    private readonly backend: PortForwardBackend,
    private readonly onError: (err: unknown) => void,
  ) {
    this.session = new SpdySession({
      write: (bytes) => {
        if (this.ws.readyState !== this.ws.OPEN) return;
        this.ws.send(bytes, () => this.resumeIfDrained());
      },
      onStream: (stream) => this.onStream(stream),
      onError: (err) => this.onError(err),
      onClose: () => {
        if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
      },
    });
  }

  run(): Promise<PortForwardOutcome> {
    this.ws.on('message', (data: Buffer) => this.session.receive(data));
    this.ws.on('error', (err) => this.onError(err));
    return new Promise((resolve) => {
      this.ws.on('close', () => {
        this.session.destroy();
        for (const socket of this.sockets) socket.destroy();
        resolve({ kind: 'closed', connections: this.connections, failedConnections: this.failedConnections });
      });
    });
  }

  private onStream(stream: SpdyStream): void {
    const { streamtype, port, requestid } = stream.headers as SpdyHeaders & {
      streamtype?: string;
      port?: string;
      requestid?: string;
    };
    const portNumber = Number(port);
    if (
      (streamtype !== 'error' && streamtype !== 'data') ||
      requestid === undefined ||
      !Number.isInteger(portNumber) ||
      portNumber < 1 ||
      portNumber > 65535
    ) {
      this.onError(
        new PortForwardError(
          'PORTFORWARD_BAD_HEADERS',
          `stream ${stream.id}: need streamtype error|data, a port and a requestid, got ${JSON.stringify(stream.headers)}`,
        ),
      );
      stream.reset(RstStatus.PROTOCOL_ERROR);
      return;
    }
    let pair = this.pairs.get(requestid);
    if (pair === undefined) {
      pair = {};
      this.pairs.set(requestid, pair);
    }
    const current = pair;
    if (current[streamtype] !== undefined) {
      stream.reset(RstStatus.STREAM_IN_USE);
      return;
    }
    current[streamtype] = stream;
    stream.reply();
    stream.on('close', () => {
      if (current.error?.isClosed !== false && current.data?.isClosed !== false) this.pairs.delete(requestid);
    });
    if (streamtype === 'error') {
      // The client only reads this stream; it half-closes its side at once.
      stream.on('data', (d) => stream.consumed(d.length));
      if (current.pendingError !== undefined) this.reportError(current, current.pendingError);
      else if (current.dataDone === true) stream.end();
    } else {
      this.connections += 1;
      stream.on('close', () => {
        current.dataDone = true;
        // No error to report: an empty error stream tells kubectl the connection ended cleanly.
        if (current.pendingError === undefined) current.error?.end();
      });
      void this.relay(current, stream, portNumber);
    }
  }

  private async relay(pair: StreamPair, stream: SpdyStream, port: number): Promise<void> {
    // The client sends its bytes right after SYN_STREAM; hold them while the target connects.
    const early: Buffer[] = [];
    let earlyEnd = false;
    const holdData = (chunk: Buffer) => early.push(chunk);
    const holdEnd = () => {
      earlyEnd = true;
    };
    stream.on('data', holdData);
    stream.on('end', holdEnd);

    let socket: net.Socket;
    try {
      socket = await this.backend.connect(port, this.target);
    } catch (err) {
      this.failPair(pair, stream, port, err);
      return;
    }
    stream.off('data', holdData);
    stream.off('end', holdEnd);
    if (stream.isClosed && !earlyEnd) {
      socket.destroy();
      return;
    }
    pair.socket = socket;
    this.sockets.add(socket);
    let connected = !socket.connecting;
    socket.once('connect', () => {
      connected = true;
    });
    socket.on('error', (err) => {
      if (!connected) this.failPair(pair, stream, port, err);
      else stream.reset(RstStatus.CANCEL);
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.pausedSockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      const more = stream.write(chunk);
      if (!more || this.ws.bufferedAmount > SEND_BUFFER_HIGH_WATER) {
        socket.pause();
        this.pausedSockets.add(socket);
        if (!more) stream.once('drain', () => this.resumeIfDrained());
      }
    });
    socket.on('end', () => stream.end());
    const forward = (chunk: Buffer) => {
      socket.write(chunk, () => stream.consumed(chunk.length));
    };
    for (const chunk of early) forward(chunk);
    if (earlyEnd) socket.end();
    stream.on('data', forward);
    stream.on('end', () => socket.end());
    stream.on('close', () => {
      // Give queued bytes a chance to reach the target when the client finished cleanly.
      if (stream.remoteClosed) socket.end();
      else socket.destroy();
    });
  }

  private resumeIfDrained(): void {
    if (this.ws.bufferedAmount > SEND_BUFFER_HIGH_WATER / 2) return;
    for (const socket of this.pausedSockets) {
      this.pausedSockets.delete(socket);
      socket.resume();
    }
  }

  /** The target could not be reached: say why on the error stream and drop the data stream only. */
  private failPair(pair: StreamPair, stream: SpdyStream, port: number, err: unknown): void {
    this.failedConnections += 1;
    const reason = err instanceof Error ? err.message : String(err);
    const failure = new PortForwardError(
      'PORTFORWARD_CONNECT_FAILED',
      `error forwarding port ${port} to pod ${this.target.pod} in namespace ${this.target.namespace}: ${reason}`,
      { cause: err },
    );
    this.onError(failure);
    this.reportError(pair, failure.message);
    stream.reset(RstStatus.CANCEL);
  }

  private reportError(pair: StreamPair, message: string): void {
    if (pair.error === undefined || pair.error.isClosed) {
      pair.pendingError = message;
      return;
    }
    pair.pendingError = undefined;
    pair.error.end(Buffer.from(message, 'utf8'));
  }
}
