import { EventEmitter } from 'node:events';
import { SpdyProtocolError } from '../errors.js';
import {
  decodeHeaderBlock,
  encodeDataFrame,
  encodeGoAway,
  encodeHeaderBlock,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  encodeWindowUpdate,
  FLAG_FIN,
  GoAwayStatus,
  RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE,
  type SpdyFrame,
  SpdyFrameReader,
  type SpdyHeaders,
} from './frames.js';
import { HeaderCodec } from './header-compression.js';

/** SPDY/3.1 initial stream and session window. */
export const DEFAULT_WINDOW = 64 * 1024;
/** Outgoing DATA frames carry at most this much. */
const MAX_DATA_FRAME = 32 * 1024;
/** `write` reports backpressure once this much waits for send window. */
const STREAM_QUEUE_HIGH_WATER = 64 * 1024;

export interface SpdySessionOptions {
  /** Sends session bytes to the peer (frames are written whole, in order). */
  write(bytes: Buffer): void;
  /** A peer-initiated stream whose SYN_STREAM headers were decoded. Reply or reset it. */
  onStream(stream: SpdyStream): void;
  /** Protocol errors and peer GOAWAY; the session is closed after a protocol error. */
  onError?(err: Error): void;
  /** The session is finished (GOAWAY sent or received and every stream closed, or a fatal error). */
  onClose?(): void;
}

/**
 * Server side of a SPDY/3.1 session over any byte transport. Handles SYN_STREAM/SYN_REPLY, DATA,
 * RST_STREAM, SETTINGS, PING, GOAWAY and WINDOW_UPDATE, with one header compression context per
 * direction.
 *
 * Flow control: every byte the consumer has processed (`SpdyStream.consumed`) is returned to the peer
 * with stream and session WINDOW_UPDATEs. Our own sends respect the peer's windows once the peer shows
 * that it implements flow control (it sends a WINDOW_UPDATE or an INITIAL_WINDOW_SIZE setting).
 * kubectl's SPDY library (moby/spdystream) implements none: it never sends WINDOW_UPDATE and ignores
 * ours, so enforcing the 64 KiB initial window against it would stall every transfer; for the same
 * reason data beyond our receive window is accepted, not treated as FLOW_CONTROL_ERROR.
 */
export class SpdySession {
  private readonly reader = new SpdyFrameReader();
  private readonly inflater = new HeaderCodec('inflate');
  private readonly deflater = new HeaderCodec('deflate');
  private readonly streams = new Map<number, SpdyStream>();
  /** Frames are handled strictly in order, though header blocks decompress asynchronously. */
  private inbound: Promise<void> = Promise.resolve();
  /** Outbound frames likewise (a SYN_REPLY must precede its stream's DATA). */
  private outbound: Promise<void> = Promise.resolve();
  private lastPeerStreamId = 0;
  private goingAway = false;
  private closed = false;
  /** Peer flow control, see the class comment. */
  private enforceSendWindows = false;
  private peerInitialWindow = DEFAULT_WINDOW;
  private sessionSendWindow = DEFAULT_WINDOW;
  private sessionUnacked = 0;

  constructor(private readonly options: SpdySessionOptions) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get openStreamCount(): number {
    return this.streams.size;
  }

  /** Feeds bytes received from the transport (any split). */
  receive(bytes: Buffer): void {
    if (this.closed) return;
    let frames: SpdyFrame[];
    try {
      frames = this.reader.push(bytes);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    for (const frame of frames) {
      this.inbound = this.inbound.then(() => this.handle(frame)).catch((err: Error) => this.fail(err));
    }
  }

  /** Sends GOAWAY and closes every stream; the transport can be closed after `onClose`. */
  close(status: number = GoAwayStatus.OK): void {
    if (this.closed) return;
    this.send(encodeGoAway(this.lastPeerStreamId, status), true);
    this.shutdown();
  }

  /** The transport went away: drop everything without sending. */
  destroy(): void {
    this.closed = true;
    this.shutdown();
  }

  private shutdown(): void {
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.terminate();
    this.streams.clear();
    this.outbound.finally(() => {
      this.inflater.close();
      this.deflater.close();
      this.options.onClose?.();
    });
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.options.onError?.(err);
    this.close(GoAwayStatus.PROTOCOL_ERROR);
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (this.closed) return;
    switch (frame.type) {
      case 'syn_stream': {
        let headers: SpdyHeaders;
        try {
          headers = decodeHeaderBlock(await this.inflater.process(frame.headerBlock));
        } catch (err) {
          // The shared inflate context is now out of step with the peer: the session cannot go on.
          throw new SpdyProtocolError('SPDY_HEADER_BLOCK', `bad SYN_STREAM header block: ${(err as Error).message}`, {
            cause: err,
          });
        }
        if (this.closed) return;
        if (frame.streamId === 0 || frame.streamId % 2 === 0 || frame.streamId <= this.lastPeerStreamId) {
          throw new SpdyProtocolError('SPDY_PROTOCOL_ERROR', `invalid peer stream id ${frame.streamId}`);
        }
        this.lastPeerStreamId = frame.streamId;
        if (this.goingAway) {
          this.send(encodeRstStream(frame.streamId, RstStatus.REFUSED_STREAM));
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, headers, this.peerInitialWindow);
        this.streams.set(frame.streamId, stream);
        if ((frame.flags & FLAG_FIN) !== 0) stream.remoteFinished();
        this.options.onStream(stream);
        return;
      }
      case 'headers':
        // Trailing headers: decompress to keep the context in step; port-forward has no use for them.
        await this.inflater.process(frame.headerBlock);
        if ((frame.flags & FLAG_FIN) !== 0) this.streams.get(frame.streamId)?.remoteFinished();
        return;
      case 'syn_reply':
        // We never open streams, so a reply is a peer bug; keep the inflate context in step anyway.
        await this.inflater.process(frame.headerBlock);
        this.send(encodeRstStream(frame.streamId, RstStatus.INVALID_STREAM));
        return;
      case 'data': {
        const stream = this.streams.get(frame.streamId);
        if (stream === undefined) {
          this.send(encodeRstStream(frame.streamId, RstStatus.INVALID_STREAM));
          return;
        }
        if (stream.remoteClosed) {
          this.send(encodeRstStream(frame.streamId, RstStatus.STREAM_ALREADY_CLOSED));
          stream.terminate();
          return;
        }
        stream.remoteData(frame.data);
        if ((frame.flags & FLAG_FIN) !== 0) stream.remoteFinished();
        return;
      }
      case 'rst_stream':
        this.streams.get(frame.streamId)?.remoteReset(frame.status);
        return;
      case 'settings':
        for (const entry of frame.entries) {
          if (entry.id !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
          const delta = entry.value - this.peerInitialWindow;
          this.peerInitialWindow = entry.value;
          this.enforceSendWindows = true;
          for (const stream of this.streams.values()) stream.growSendWindow(delta);
        }
        return;
      case 'ping':
        // Peer pings carry odd ids (the client's); even ids would answer our own pings, which we never send.
        if (frame.id % 2 === 1) this.send(encodePing(frame.id));
        return;
      case 'goaway':
        this.goingAway = true;
        if (this.streams.size === 0) this.close();
        return;
      case 'window_update':
        this.enforceSendWindows = true;
        if (frame.streamId === 0) {
          this.sessionSendWindow += frame.delta;
          for (const stream of this.streams.values()) stream.flush();
        } else {
          this.streams.get(frame.streamId)?.growSendWindow(frame.delta);
        }
        return;
      case 'unknown_control':
        return;
    }
  }

  /** @internal */
  send(frame: Buffer, evenIfClosed = false): void {
    if (this.closed && !evenIfClosed) return;
    this.outbound = this.outbound.then(() => this.options.write(frame));
  }

  /** @internal Header blocks are compressed in send order, so SYN_REPLYs are queued in order too. */
  sendWithHeaders(build: (block: Buffer) => Buffer, headers: SpdyHeaders): void {
    const compressed = this.deflater.process(encodeHeaderBlock(headers));
    this.outbound = this.outbound.then(async () => {
      const block = await compressed;
      if (!this.closed) this.options.write(build(block));
    });
  }

  /** @internal How much of `wanted` bytes may be sent now on a stream with `streamWindow`. */
  sendAllowance(streamWindow: number, wanted: number): number {
    if (!this.enforceSendWindows) return wanted;
    return Math.max(0, Math.min(wanted, streamWindow, this.sessionSendWindow));
  }

  /** @internal */
  spentSendWindow(n: number): void {
    if (this.enforceSendWindows) this.sessionSendWindow -= n;
  }

  /** @internal The consumer processed `n` bytes: return them to the peer's session window. */
  returnSessionWindow(n: number): void {
    this.sessionUnacked += n;
    if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
      this.send(encodeWindowUpdate(0, this.sessionUnacked));
      this.sessionUnacked = 0;
    }
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
    if (this.goingAway && this.streams.size === 0) this.close();
  }
}

export interface SpdyStreamEvents {
  data: [Buffer];
  end: [];
  reset: [number];
  drain: [];
  close: [];
}

/**
 * One peer-initiated stream. Events: `data` (payload), `end` (peer FIN), `reset` (peer RST_STREAM
 * status), `drain` (queued writes went out), `close` (both sides done or reset).
 */
export class SpdyStream extends EventEmitter<SpdyStreamEvents> {
  remoteClosed = false;
  private localClosed = false;
  private replied = false;
  private finished = false;
  private sendWindow: number;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private endQueued = false;
  private unacked = 0;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
    initialSendWindow: number,
  ) {
    super();
    this.sendWindow = initialSendWindow;
  }

  get isClosed(): boolean {
    return this.finished;
  }

  /** Accepts the stream (SYN_REPLY). `fin` half-closes our side at once. */
  reply(headers: SpdyHeaders = {}, fin = false): void {
    if (this.replied || this.finished) return;
    this.replied = true;
    this.session.sendWithHeaders((block) => encodeSynReply(this.id, fin ? FLAG_FIN : 0, block), headers);
    if (fin) this.localFinished();
    else this.flush();
  }

  /** Queues data; returns false when the caller should wait for `drain`. */
  write(data: Buffer): boolean {
    if (this.finished || this.localClosed || this.endQueued) return false;
    if (data.length > 0) {
      this.queue.push(data);
      this.queued += data.length;
      this.flush();
    }
    return this.queued < STREAM_QUEUE_HIGH_WATER;
  }

  /** Half-closes our side (DATA with FIN) once queued data is out. */
  end(data?: Buffer): void {
    if (this.finished || this.localClosed || this.endQueued) return;
    if (data !== undefined && data.length > 0) {
      this.queue.push(data);
      this.queued += data.length;
    }
    this.endQueued = true;
    this.flush();
  }

  /** Aborts the stream with RST_STREAM. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.finished) return;
    this.session.send(encodeRstStream(this.id, status));
    this.terminate();
  }

  /** The consumer processed `n` received bytes: grant them back to the peer. */
  consumed(n: number): void {
    if (this.finished || n <= 0) return;
    this.session.returnSessionWindow(n);
    this.unacked += n;
    if (this.unacked >= DEFAULT_WINDOW / 2) {
      this.session.send(encodeWindowUpdate(this.id, this.unacked));
      this.unacked = 0;
    }
  }

  /** @internal */
  flush(): void {
    if (!this.replied || this.finished) return;
    while (this.queue.length > 0) {
      const head = this.queue[0] as Buffer;
      const allowed = this.session.sendAllowance(this.sendWindow, Math.min(head.length, MAX_DATA_FRAME));
      if (allowed === 0) return;
      const chunk = head.subarray(0, allowed);
      if (allowed === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(allowed);
      this.queued -= allowed;
      this.sendWindow -= allowed;
      this.session.spentSendWindow(allowed);
      const last = this.endQueued && this.queue.length === 0;
      this.session.send(encodeDataFrame(this.id, chunk, last));
      if (last) {
        this.localFinished();
        return;
      }
    }
    if (this.endQueued && !this.localClosed) {
      this.session.send(encodeDataFrame(this.id, Buffer.alloc(0), true));
      this.localFinished();
      return;
    }
    this.emit('drain');
  }

  /** @internal */
  growSendWindow(delta: number): void {
    this.sendWindow += delta;
    this.flush();
  }

  /** @internal */
  remoteData(data: Buffer): void {
    if (data.length > 0) this.emit('data', data);
  }

  /** @internal */
  remoteFinished(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.emit('end');
    this.maybeClose();
  }

  /** @internal */
  remoteReset(status: number): void {
    if (this.finished) return;
    this.emit('reset', status);
    this.terminate();
  }

  /** @internal Closes without sending anything more. */
  terminate(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.length = 0;
    this.queued = 0;
    this.session.forget(this);
    this.emit('close');
  }

  private localFinished(): void {
    this.localClosed = true;
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.localClosed && this.remoteClosed) this.terminate();
  }
}
