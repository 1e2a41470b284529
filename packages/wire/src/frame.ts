import { Packr, Unpackr } from 'msgpackr';
import type { WireErrorPayload } from './errors.js';
import { isErrorPayload } from './errors.js';

/** Bumped on any incompatible change to the frames below; peers with different versions refuse to talk. */
export const WIRE_VERSION = 1;

/** First frame each side sends: who it is, what it speaks, and its limits. */
export interface HelloFrame {
  t: 'hello';
  /** Protocol version ({@link WIRE_VERSION}). */
  v: number;
  /** Identity `component/name`, e.g. `etcd/etcd-0`. */
  peer: string;
  /** Max requests the sender will serve concurrently on this connection (the other side queues beyond it). */
  mif: number;
  /** Max encoded message size in bytes the sender accepts. */
  mfs: number;
}

/** A call. With `w` it opens a server-push stream and grants `w` initial credits. */
export interface ReqFrame {
  t: 'req';
  id: number;
  m: string;
  d?: unknown;
  w?: number;
}

/** The single reply to a plain request: `d` on success, `e` on failure. */
export interface ResFrame {
  t: 'res';
  id: number;
  d?: unknown;
  e?: WireErrorPayload;
}

/** One item of a stream, sent only against credit. */
export interface EvtFrame {
  t: 'evt';
  id: number;
  d?: unknown;
}

/** The producer ended the stream, with `e` when it failed. */
export interface EndFrame {
  t: 'end';
  id: number;
  e?: WireErrorPayload;
}

/** The caller gives up on a request or stream; the handler's AbortSignal fires. */
export interface CancelFrame {
  t: 'cancel';
  id: number;
}

/** The stream consumer took `n` more items, so the producer may send `n` more. */
export interface CreditFrame {
  t: 'credit';
  id: number;
  n: number;
}

/** Fire-and-forget message (raft traffic): no id, no reply. */
export interface NoteFrame {
  t: 'note';
  m: string;
  d?: unknown;
}

export interface PingFrame {
  t: 'ping';
  n: number;
}

export interface PongFrame {
  t: 'pong';
  n: number;
}

export type Frame =
  | HelloFrame
  | ReqFrame
  | ResFrame
  | EvtFrame
  | EndFrame
  | CancelFrame
  | CreditFrame
  | NoteFrame
  | PingFrame
  | PongFrame;

export const MAX_METHOD_LENGTH = 256;

// Plain msgpack maps (no record extension): every message is self-describing, so a frame can be
// decoded on its own, by any msgpack implementation, in any order.
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

export function encodeFrame(frame: Frame): Buffer {
  return packr.pack(frame);
}

/**
 * Decodes one WebSocket message: one or more msgpack values back to back (the sender batches frames
 * produced together into one message). Values are collected first and
 * returned, because handlers must not run inside msgpackr's sequential decode (they may decode too).
 * Throws when the bytes are not msgpack.
 */
export function decodeMessage(data: Uint8Array, values: unknown[], sizes: number[]): void {
  unpackr.unpackMultiple(data, (value: unknown, start?: number, end?: number) => {
    values.push(value);
    sizes.push((end ?? 0) - (start ?? 0));
  });
}

/** Builds one message out of already encoded frames (concatenation is valid "multiple values" msgpack). */
export function joinFrames(frames: Buffer[], totalBytes: number): Buffer {
  return frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, totalBytes);
}

/**
 * A short, printable, ASCII description of an untrusted decoded value, for error messages, close
 * reasons and logs (JSON.stringify would throw on the BigInts msgpack's 64-bit integers decode to).
 */
export function describe(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
  else if (v === null || v === undefined) s = String(v);
  else s = Array.isArray(v) ? 'an array' : `a ${typeof v}`;
  return s.replace(/[^\x20-\x7e]/g, '?');
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isMethod(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_METHOD_LENGTH;
}

/** The id of a decoded value if it has a usable one, so a bad request can still get an error reply. */
export function frameIdOf(v: unknown): number | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const id = (v as { id?: unknown }).id;
  return isId(id) ? id : undefined;
}

/**
 * Checks that a decoded value is a well-formed frame. Returns null when it is, else what is wrong.
 * Kept to cheap typeof checks: it runs for every frame.
 */
export function checkFrame(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'frame is not a map';
  const f = v as Record<string, unknown>;
  switch (f.t) {
    case 'req':
      if (!isId(f.id)) return 'req frame needs a non-negative integer id';
      if (!isMethod(f.m)) return `req frame needs a method name of 1-${MAX_METHOD_LENGTH} characters`;
      if (f.w !== undefined && !(isId(f.w) && f.w > 0)) return 'req frame window must be a positive integer';
      return null;
    case 'res':
      if (!isId(f.id)) return 'res frame needs a non-negative integer id';
      if (f.e !== undefined && !isErrorPayload(f.e)) return 'res frame error must be {code, message}';
      return null;
    case 'evt':
    case 'cancel':
      return isId(f.id) ? null : `${f.t} frame needs a non-negative integer id`;
    case 'end':
      if (!isId(f.id)) return 'end frame needs a non-negative integer id';
      if (f.e !== undefined && !isErrorPayload(f.e)) return 'end frame error must be {code, message}';
      return null;
    case 'credit':
      if (!isId(f.id)) return 'credit frame needs a non-negative integer id';
      return isId(f.n) && f.n > 0 ? null : 'credit frame needs a positive integer n';
    case 'note':
      return isMethod(f.m) ? null : `note frame needs a method name of 1-${MAX_METHOD_LENGTH} characters`;
    case 'ping':
    case 'pong':
      return typeof f.n === 'number' ? null : `${f.t} frame needs a number n`;
    case 'hello':
      if (typeof f.peer !== 'string') return 'hello frame needs a peer identity';
      if (!isId(f.mif) || !isId(f.mfs)) return 'hello frame needs integer limits mif and mfs';
      return null;
    default:
      return `unknown frame type ${describe(f.t)}`;
  }
}
