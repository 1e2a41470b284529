import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { StreamRequestError } from './errors.js';
import type { ExecBackend } from './exec-backend.js';
import { parsePodSubresourcePath } from './exec-options.js';
import { acceptAttachWebSocket, acceptExecWebSocket, type ExecOutcome } from './exec-websocket.js';
import {
  acceptPortForwardWebSocket,
  type PortForwardBackend,
  type PortForwardOutcome,
} from './portforward-websocket.js';
import { rejectUpgrade } from './upgrade.js';

export interface PodStreamBackends {
  exec?: ExecBackend;
  attach?: ExecBackend;
  portForward?: PortForwardBackend;
}

/**
 * Routes an upgrade for `/api/v1/namespaces/{ns}/pods/{pod}/{exec|attach|portforward}` to the
 * matching handler; anything else (or a subresource without a backend) is refused with 404 before
 * the upgrade. The caller checks beforehand that the pod exists and runs.
 */
export function acceptPodStreamUpgrade(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  backends: PodStreamBackends,
  options: { onError?: (err: unknown) => void } = {},
): Promise<ExecOutcome | PortForwardOutcome> {
  const target = parsePodSubresourcePath(req.url ?? '');
  const sub = target?.subresource;
  if (target !== undefined) {
    const scoped = { target: { namespace: target.namespace, pod: target.pod }, ...options };
    if (sub === 'exec' && backends.exec !== undefined) {
      return acceptExecWebSocket(req, socket, head, backends.exec, scoped);
    }
    if (sub === 'attach' && backends.attach !== undefined) {
      return acceptAttachWebSocket(req, socket, head, backends.attach, scoped);
    }
    if (sub === 'portforward' && backends.portForward !== undefined) {
      return acceptPortForwardWebSocket(req, socket, head, backends.portForward, scoped);
    }
  }
  const error = new StreamRequestError('STREAM_BAD_REQUEST', `no streaming endpoint at ${req.url}`, 404);
  rejectUpgrade(socket, error);
  return Promise.resolve({ kind: 'rejected', error });
}
