import { SpdyProtocolError } from '../errors.js';

/**
 * SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 + the 3.1 session window): 8-byte headers, control
 * frames `1|version(15)|type(16)|flags(8)|length(24)`, data frames `0|streamId(31)|flags(8)|length(24)`.
 * Header blocks stay compressed here; the session owns the zlib contexts.
 */
export const SPDY_VERSION = 3;
export const FRAME_HEADER_LENGTH = 8;
/** The largest frame we accept (the 24-bit length allows 16 MiB; nobody sends that much at once). */
export const MAX_FRAME_PAYLOAD = 1 << 24;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export enum ControlType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
} as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** SETTINGS ids we act on. */
export const SETTINGS_INITIAL_WINDOW_SIZE = 7;

export type SpdyFrame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      associatedStreamId: number;
      priority: number;
      flags: number;
      headerBlock: Buffer;
    }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown_control'; controlType: number };

const STREAM_ID_MASK = 0x7fff_ffff;

/**
 * Reassembles frames from arbitrary byte chunks (WebSocket messages split frames anywhere) and
 * decodes them. `push` returns every frame completed by the chunk.
 */
export class SpdyFrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): SpdyFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: SpdyFrame[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_LENGTH) break;
      const header = this.peek(FRAME_HEADER_LENGTH);
      const length = header.readUInt32BE(4) & 0x00ff_ffff;
      if (length > MAX_FRAME_PAYLOAD) {
        throw new SpdyProtocolError('SPDY_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
      }
      if (this.buffered < FRAME_HEADER_LENGTH + length) break;
      const frame = this.take(FRAME_HEADER_LENGTH + length);
      frames.push(decodeFrame(frame));
    }
    return frames;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) {
    throw new SpdyProtocolError('SPDY_PROTOCOL_ERROR', `${what} frame payload of ${payload.length} bytes is too short`);
  }
}

/** Decodes one complete frame (header + payload). */
export function decodeFrame(frame: Buffer): SpdyFrame {
  const first = frame.readUInt32BE(0);
  const flags = frame.readUInt8(4);
  const payload = frame.subarray(FRAME_HEADER_LENGTH);
  if ((first & 0x8000_0000) === 0) {
    return { type: 'data', streamId: first & STREAM_ID_MASK, flags, data: payload };
  }
  const version = (first >>> 16) & 0x7fff;
  if (version !== SPDY_VERSION) {
    throw new SpdyProtocolError('SPDY_UNSUPPORTED_VERSION', `SPDY version ${version} is not supported (only 3)`);
  }
  const controlType = first & 0xffff;
  switch (controlType) {
    case ControlType.SynStream:
      need(payload, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        associatedStreamId: payload.readUInt32BE(4) & STREAM_ID_MASK,
        priority: payload.readUInt8(8) >>> 5,
        flags,
        headerBlock: payload.subarray(10),
      };
    case ControlType.SynReply:
      need(payload, 4, 'SYN_REPLY');
      return {
        type: 'syn_reply',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        flags,
        headerBlock: payload.subarray(4),
      };
    case ControlType.Headers:
      need(payload, 4, 'HEADERS');
      return {
        type: 'headers',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        flags,
        headerBlock: payload.subarray(4),
      };
    case ControlType.RstStream:
      need(payload, 8, 'RST_STREAM');
      return {
        type: 'rst_stream',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        status: payload.readUInt32BE(4),
      };
    case ControlType.Settings: {
      need(payload, 4, 'SETTINGS');
      const count = payload.readUInt32BE(0);
      need(payload, 4 + count * 8, 'SETTINGS');
      const entries: { flags: number; id: number; value: number }[] = [];
      for (let i = 0; i < count; i++) {
        const idWord = payload.readUInt32BE(4 + i * 8);
        entries.push({ flags: idWord >>> 24, id: idWord & 0x00ff_ffff, value: payload.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, entries };
    }
    case ControlType.Ping:
      need(payload, 4, 'PING');
      return { type: 'ping', id: payload.readUInt32BE(0) };
    case ControlType.GoAway:
      need(payload, 4, 'GOAWAY');
      return {
        type: 'goaway',
        lastGoodStreamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        // SPDY/2 peers omit the status; treat it as OK.
        status: payload.length >= 8 ? payload.readUInt32BE(4) : GoAwayStatus.OK,
      };
    case ControlType.WindowUpdate:
      need(payload, 8, 'WINDOW_UPDATE');
      return {
        type: 'window_update',
        streamId: payload.readUInt32BE(0) & STREAM_ID_MASK,
        delta: payload.readUInt32BE(4) & STREAM_ID_MASK,
      };
    default:
      // Unknown control frames must be ignored (draft 3, 2.2.1).
      return { type: 'unknown_control', controlType };
  }
}

function controlHeader(type: ControlType, flags: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_LENGTH);
  header.writeUInt32BE((0x8000_0000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  header.writeUInt32BE(((flags << 24) | length) >>> 0, 4);
  return header;
}

export function encodeDataFrame(streamId: number, data: Buffer, fin: boolean): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + data.length);
  frame.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  frame.writeUInt32BE((((fin ? FLAG_FIN : 0) << 24) | data.length) >>> 0, 4);
  data.copy(frame, FRAME_HEADER_LENGTH);
  return frame;
}

export function encodeSynStream(
  streamId: number,
  associatedStreamId: number,
  priority: number,
  flags: number,
  headerBlock: Buffer,
): Buffer {
  const body = Buffer.alloc(10);
  body.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  body.writeUInt32BE(associatedStreamId & STREAM_ID_MASK, 4);
  body.writeUInt8((priority & 0x7) << 5, 8);
  return Buffer.concat([controlHeader(ControlType.SynStream, flags, 10 + headerBlock.length), body, headerBlock]);
}

export function encodeSynReply(streamId: number, flags: number, headerBlock: Buffer): Buffer {
  const id = Buffer.allocUnsafe(4);
  id.writeUInt32BE(streamId & STREAM_ID_MASK);
  return Buffer.concat([controlHeader(ControlType.SynReply, flags, 4 + headerBlock.length), id, headerBlock]);
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  const body = Buffer.allocUnsafe(8);
  body.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  body.writeUInt32BE(status, 4);
  return Buffer.concat([controlHeader(ControlType.RstStream, 0, 8), body]);
}

export function encodePing(id: number): Buffer {
  const body = Buffer.allocUnsafe(4);
  body.writeUInt32BE(id >>> 0);
  return Buffer.concat([controlHeader(ControlType.Ping, 0, 4), body]);
}

export function encodeGoAway(lastGoodStreamId: number, status: number): Buffer {
  const body = Buffer.allocUnsafe(8);
  body.writeUInt32BE(lastGoodStreamId & STREAM_ID_MASK, 0);
  body.writeUInt32BE(status, 4);
  return Buffer.concat([controlHeader(ControlType.GoAway, 0, 8), body]);
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  const body = Buffer.allocUnsafe(8);
  body.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  body.writeUInt32BE(delta & STREAM_ID_MASK, 4);
  return Buffer.concat([controlHeader(ControlType.WindowUpdate, 0, 8), body]);
}

export function encodeSettings(entries: { flags: number; id: number; value: number }[]): Buffer {
  const body = Buffer.allocUnsafe(4 + entries.length * 8);
  body.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    body.writeUInt32BE(((e.flags << 24) | e.id) >>> 0, 4 + i * 8);
    body.writeUInt32BE(e.value >>> 0, 8 + i * 8);
  });
  return Buffer.concat([controlHeader(ControlType.Settings, 0, body.length), body]);
}

/** Header names are lower-case; a value holding several values separates them with NUL. */
export type SpdyHeaders = Record<string, string>;

/** Serializes a name/value block (uncompressed): count, then length-prefixed names and values. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(headers);
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, value] of entries) {
    for (const text of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed name/value block; duplicate names are refused as the draft requires. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let offset = 0;
  const read32 = (): number => {
    if (offset + 4 > block.length) throw new SpdyProtocolError('SPDY_HEADER_BLOCK', 'truncated header block');
    const v = block.readUInt32BE(offset);
    offset += 4;
    return v;
  };
  const readString = (): string => {
    const length = read32();
    if (offset + length > block.length) throw new SpdyProtocolError('SPDY_HEADER_BLOCK', 'truncated header block');
    const s = block.toString('utf8', offset, offset + length);
    offset += length;
    return s;
  };
  const count = read32();
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = readString();
    const value = readString();
    if (name === '') throw new SpdyProtocolError('SPDY_HEADER_BLOCK', 'empty header name');
    if (Object.hasOwn(headers, name)) throw new SpdyProtocolError('SPDY_HEADER_BLOCK', `duplicate header ${name}`);
    headers[name] = value;
  }
  if (offset !== block.length) throw new SpdyProtocolError('SPDY_HEADER_BLOCK', 'trailing bytes after header block');
  return headers;
}
