import type http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  CHANNEL_CLOSE,
  CHANNEL_ERROR,
  CHANNEL_PROTOCOL_V5,
  CHANNEL_RESIZE,
  type CHANNEL_STDERR,
  CHANNEL_STDIN,
  type CHANNEL_STDOUT,
  type ExecStatus,
  encodeChannelFrame,
  failureStatus,
  nonZeroExitStatus,
  parseResize,
  SUPPORTED_CHANNEL_PROTOCOLS,
  successStatus,
} from './channel.js';
import { StreamRequestError } from './errors.js';
import type { ExecBackend, ExecSession, ExecStartOptions } from './exec-backend.js';
import { parseExecRequest, parsePodSubresourcePath } from './exec-options.js';
import { assertWebSocketUpgrade, offeredProtocols, rejectUpgrade } from './upgrade.js';

/** Output is paused while more than this many bytes wait in the WebSocket's send buffer. */
const OUTPUT_HIGH_WATER = 1 << 20;

export interface StreamUpgradeOptions {
  /** The pod the request is for; parsed from `/api/v1/namespaces/{ns}/pods/{pod}/…` when absent. */
  target?: { namespace: string; pod: string };
  /** Called for failures after the upgrade (backend errors, socket errors); never throws. */
  onError?: (err: unknown) => void;
}

/** How an accepted or refused exec/attach request ended (for logs and tests). */
export type ExecOutcome =
  | { kind: 'rejected'; error: StreamRequestError }
  | { kind: 'completed'; protocol: string; status: ExecStatus }
  | { kind: 'disconnected'; protocol: string };

/**
 * Serves `GET …/pods/{pod}/exec?command=…` upgraded to WebSocket (`v5.channel.k8s.io` or
 * `v4.channel.k8s.io`): bridges channels 0/1/2/4/255 to a backend session and sends the final Status
 * on channel 3, then closes with 1000. Bad requests are answered with a 400 Status before 101.
 */
export function acceptExecWebSocket(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  backend: ExecBackend,
  options: StreamUpgradeOptions = {},
): Promise<ExecOutcome> {
  return acceptChannelWebSocket('exec', req, socket, head, backend, options);
}

/** `GET …/pods/{pod}/attach?…`: the same framing; the backend attaches instead of starting a command. */
export function acceptAttachWebSocket(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  backend: ExecBackend,
  options: StreamUpgradeOptions = {},
): Promise<ExecOutcome> {
  return acceptChannelWebSocket('attach', req, socket, head, backend, options);
}

function negotiate(req: http.IncomingMessage): string {
  const offered = offeredProtocols(req);
  const chosen = SUPPORTED_CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
  if (chosen === undefined) {
    throw new StreamRequestError(
      'STREAM_PROTOCOL_UNSUPPORTED',
      `none of the offered subprotocols [${offered.join(', ')}] is supported; use ${SUPPORTED_CHANNEL_PROTOCOLS.join(' or ')}`,
    );
  }
  return chosen;
}

async function acceptChannelWebSocket(
  kind: 'exec' | 'attach',
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  backend: ExecBackend,
  options: StreamUpgradeOptions,
): Promise<ExecOutcome> {
  let protocol: string;
  let startOptions: ExecStartOptions;
  try {
    assertWebSocketUpgrade(req);
    const target = options.target ?? parsePodSubresourcePath(req.url ?? '');
    if (target === undefined) throw new StreamRequestError('STREAM_BAD_REQUEST', `cannot find the pod in ${req.url}`);
    startOptions = parseExecRequest(req.url ?? '', kind, target);
    protocol = negotiate(req);
  } catch (err) {
    if (!(err instanceof StreamRequestError)) throw err;
    rejectUpgrade(socket, err);
    return { kind: 'rejected', error: err };
  }
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: () => protocol });
  const ws = await new Promise<WebSocket>((resolve) => wss.handleUpgrade(req, socket, head, resolve));
  return new ExecBridge(ws, protocol, startOptions, backend, options.onError ?? (() => {})).run();
}

/** One upgraded exec/attach connection. */
class ExecBridge {
  private session: ExecSession | undefined;
  /** Client frames that arrived while the backend was still starting. */
  private readonly early: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: string,
    private readonly options: ExecStartOptions,
    private readonly backend: ExecBackend,
    private readonly onError: (err: unknown) => void,
  ) {}

  async run(): Promise<ExecOutcome> {
    const { ws } = this;
    const clientGone = new Promise<void>((resolve) => {
      ws.on('close', () => {
        this.closed = true;
        resolve();
      });
    });
    ws.on('error', (err) => this.onError(err));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = isBinary ? data : Buffer.from(data);
      if (this.session === undefined) this.early.push(frame);
      else this.handleClientFrame(frame);
    });

    let session: ExecSession;
    try {
      session = await this.backend.start(this.options);
    } catch (err) {
      this.onError(err);
      const status = failureStatus(err instanceof Error ? err.message : String(err));
      this.finish(status);
      return { kind: 'completed', protocol: this.protocol, status };
    }
    this.session = session;
    session.stdin?.on('error', () => {
      // EPIPE after the process exited: the client's remaining input has nowhere to go.
    });
    for (const frame of this.early.splice(0)) this.handleClientFrame(frame);
    if (this.closed) {
      session.kill();
      return { kind: 'disconnected', protocol: this.protocol };
    }

    const outputDone = Promise.all([this.pump(session.stdout, 1), this.pump(session.stderr, 2)]);
    const finished = Promise.all([session.exit, outputDone]).then(([exit]) => exit);
    const result = await Promise.race([finished, clientGone.then(() => undefined)]);
    if (result === undefined) {
      session.kill();
      return { kind: 'disconnected', protocol: this.protocol };
    }
    const status =
      result.kind === 'error'
        ? failureStatus(result.message)
        : result.code === 0
          ? successStatus()
          : nonZeroExitStatus(this.options.command, result.code);
    this.finish(status);
    return { kind: 'completed', protocol: this.protocol, status };
  }

  private finish(status: ExecStatus): void {
    if (this.closed) return;
    this.ws.send(encodeChannelFrame(CHANNEL_ERROR, JSON.stringify(status)));
    this.ws.close(1000);
  }

  private handleClientFrame(frame: Buffer): void {
    const session = this.session;
    if (session === undefined || frame.length === 0) return;
    const channel = frame[0];
    const payload = frame.subarray(1);
    switch (channel) {
      case CHANNEL_STDIN:
        if (session.stdin !== null && payload.length > 0 && !session.stdin.writableEnded) {
          if (!session.stdin.write(payload)) {
            // Stop reading the socket until the process takes the input.
            this.ws.pause();
            session.stdin.once('drain', () => this.ws.resume());
          }
        }
        break;
      case CHANNEL_RESIZE: {
        const size = parseResize(payload);
        if (size !== undefined) session.resize(size);
        break;
      }
      case CHANNEL_CLOSE:
        // v5 only: [255, channel] half-closes that channel; only stdin can be closed by a client.
        if (this.protocol === CHANNEL_PROTOCOL_V5 && payload[0] === CHANNEL_STDIN) session.stdin?.end();
        break;
      default:
        // Output channels and unknown channels carry nothing for the server.
        break;
    }
  }

  /** Forwards a process output stream to its channel with WebSocket backpressure. */
  private pump(stream: Readable | null, channel: typeof CHANNEL_STDOUT | typeof CHANNEL_STDERR): Promise<void> {
    if (stream === null) return Promise.resolve();
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer | string) => {
        if (this.closed) return;
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.ws.send(encodeChannelFrame(channel, bytes), () => {
          if (stream.isPaused() && this.ws.bufferedAmount < OUTPUT_HIGH_WATER / 2) stream.resume();
        });
        if (this.ws.bufferedAmount > OUTPUT_HIGH_WATER) stream.pause();
      });
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', (err) => {
        this.onError(err);
        resolve();
      });
    });
  }
}
