/**
 * The Kubernetes WebSocket channel protocol (`v4.channel.k8s.io`, `v5.channel.k8s.io`): every binary
 * message starts with one channel byte. v5 adds the close signal (channel 255) so a client can
 * half-close stdin without closing the WebSocket.
 */
export const CHANNEL_STDIN = 0;
export const CHANNEL_STDOUT = 1;
export const CHANNEL_STDERR = 2;
export const CHANNEL_ERROR = 3;
export const CHANNEL_RESIZE = 4;
export const CHANNEL_CLOSE = 255;

export const CHANNEL_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const CHANNEL_PROTOCOL_V4 = 'v4.channel.k8s.io';
/** Preferred first. v1–v3 (raw error text, no structured exit codes) are not offered. */
export const SUPPORTED_CHANNEL_PROTOCOLS: readonly string[] = [CHANNEL_PROTOCOL_V5, CHANNEL_PROTOCOL_V4];

export function encodeChannelFrame(channel: number, payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const frame = Buffer.allocUnsafe(body.length + 1);
  frame[0] = channel;
  frame.set(body, 1);
  return frame;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** Parses a resize message body `{"Width":80,"Height":24}`; undefined when it is not one. */
export function parseResize(payload: Uint8Array): TerminalSize | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { Width, Height } = value as { Width?: unknown; Height?: unknown };
  if (typeof Width !== 'number' || typeof Height !== 'number' || Width < 0 || Height < 0) return undefined;
  return { width: Width, height: Height };
}

/** The Status sent on the error channel when the command finished. */
export type ExecStatus = {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason: string; message: string }[] };
};

export function successStatus(): ExecStatus {
  return { metadata: {}, status: 'Success' };
}

/** kubectl reads `details.causes[reason=ExitCode]` and exits with that code. */
export function nonZeroExitStatus(command: readonly string[], exitCode: number): ExecStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function failureStatus(message: string, reason = 'InternalError'): ExecStatus {
  return { metadata: {}, status: 'Failure', message, reason };
}
