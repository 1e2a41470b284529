import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { StreamRequestError } from './errors.js';

/** The subprotocols the client offered, in its order of preference. */
export function offeredProtocols(req: http.IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** Refuses a WebSocket upgrade before 101, with a Kubernetes Status body (so kubectl prints why). */
export function rejectUpgrade(socket: Duplex, err: StreamRequestError): void {
  const reason = err.httpStatus === 400 ? 'BadRequest' : err.httpStatus === 404 ? 'NotFound' : 'InternalError';
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason,
    code: err.httpStatus,
  });
  const statusText = err.httpStatus === 400 ? 'Bad Request' : err.httpStatus === 404 ? 'Not Found' : 'Error';
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${err.httpStatus} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  } else {
    socket.destroy();
  }
}

export function assertWebSocketUpgrade(req: http.IncomingMessage): void {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw new StreamRequestError('STREAM_NOT_UPGRADE', 'only WebSocket upgrades are supported for streaming', 400);
  }
}
