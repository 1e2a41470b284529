import type { Logger, Random, Runtime } from '@kemu/runtime';
import { systemRandom, systemRuntime } from '@kemu/runtime';
import type { Registry } from 'prom-client';
import type { FaultTable } from './faults.js';
import { isIdentity } from './identity.js';
import { WireMetrics } from './metrics.js';

/** What every wire endpoint (server or client) is configured with. */
export interface WireOptions {
  /** This process's identity `component/name`, e.g. `etcd/etcd-0`; sent in the hello. */
  identity: string;
  log: Logger;
  runtime?: Runtime;
  random?: Random;
  /** The process's fault table, consulted for every frame by the remote identity. */
  faults?: FaultTable;
  /** Counts frames/bytes per method and errors per code into this registry. */
  metrics?: Registry;
  /** Largest message accepted or sent, bytes (default 16 MiB). Also `ws` maxPayload. */
  maxFrameBytes?: number;
  /** Requests this side serves concurrently per connection (default 1024); advertised in the hello. */
  maxInFlight?: number;
  /** Streams this side produces concurrently per connection (default 4096). */
  maxStreams?: number;
  /** Heartbeat period (default 1000 ms). */
  heartbeatIntervalMs?: number;
  /** Consecutive silent heartbeat periods after which the peer is declared dead (default 3). */
  heartbeatMissedLimit?: number;
  /** Default per-request deadline (default 30 s); `CallOptions.timeoutMs` overrides it. */
  requestTimeoutMs?: number;
  /** Deadline for the WebSocket upgrade plus hello exchange (default 5 s). */
  handshakeTimeoutMs?: number;
}

export interface ResolvedOptions {
  identity: string;
  log: Logger;
  runtime: Runtime;
  random: Random;
  faults: FaultTable | null;
  metrics: WireMetrics | null;
  maxFrameBytes: number;
  maxInFlight: number;
  maxStreams: number;
  heartbeatIntervalMs: number;
  heartbeatMissedLimit: number;
  requestTimeoutMs: number;
  handshakeTimeoutMs: number;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function resolveOptions(o: WireOptions): ResolvedOptions {
  if (!isIdentity(o.identity)) throw new RangeError(`identity must look like component/name, got ${o.identity}`);
  return {
    identity: o.identity,
    log: o.log,
    runtime: o.runtime ?? systemRuntime,
    random: o.random ?? systemRandom(),
    faults: o.faults ?? null,
    metrics: o.metrics ? WireMetrics.for(o.metrics) : null,
    maxFrameBytes: positive('maxFrameBytes', o.maxFrameBytes, 16 * 1024 * 1024),
    maxInFlight: positive('maxInFlight', o.maxInFlight, 1024),
    maxStreams: positive('maxStreams', o.maxStreams, 4096),
    heartbeatIntervalMs: positive('heartbeatIntervalMs', o.heartbeatIntervalMs, 1000),
    heartbeatMissedLimit: positive('heartbeatMissedLimit', o.heartbeatMissedLimit, 3),
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs, 30_000),
    handshakeTimeoutMs: positive('handshakeTimeoutMs', o.handshakeTimeoutMs, 5000),
  };
}
