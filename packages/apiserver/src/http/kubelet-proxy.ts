// pods/log, pods/exec, pods/attach and pods/portforward: the apiserver finds the pod's node and passes
// the request to that node's kubelet (`status.addresses` InternalIP + `daemonEndpoints.kubeletEndpoint`).
// Logs are an HTTP GET whose body is streamed through; the others are upgrades whose bytes are piped
// both ways without being read, as upstream's UpgradeAwareHandler does. Errors are worded as upstream's
// pod REST (`LogLocation`, `streamLocation`) and its response checker.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  badRequestStatus,
  internalErrorStatus,
  type KubeObject,
  type Node,
  type Pod,
  type ResourceDef,
  resourceFor,
  type Status,
} from '@kemu/api';
import type { Logger } from '@kemu/runtime';
import { ApiStatusError, toStatusError } from '../errors.js';
import type { RestHandlers } from '../rest.js';
import type { ResourcePath } from './paths.js';

/** The annotation kubectl reads to choose a pod's container when none is named. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export interface KubeletProxyOptions {
  rest: RestHandlers;
  log: Logger;
  /** How long to wait for the kubelet's TCP connection (default 10 s). */
  connectTimeoutMs?: number;
}

/** Where a request for the pod goes on its kubelet. */
export interface KubeletLocation {
  host: string;
  port: number;
  /** Path and query on the kubelet, e.g. `/containerLogs/default/p1/c?follow=true`. */
  path: string;
}

/** A Status with no reason: what upstream answers for errors that are not API errors (kubectl prints `Error from server: …`). */
function unknownStatus(code: number, message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code };
}

/** Dial errors in the words kubectl users see from a real apiserver (`dial tcp …: connect: connection refused`). */
function dialError(method: string, url: string, address: string, err: unknown): ApiStatusError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connect: connection refused'
      : code === 'ETIMEDOUT'
        ? 'i/o timeout'
        : code === 'EHOSTUNREACH'
          ? 'connect: no route to host'
          : code === 'ECONNRESET'
            ? 'read: connection reset by peer'
            : err instanceof Error
              ? err.message
              : String(err);
  const verb = method === 'GET' ? 'Get' : method === 'POST' ? 'Post' : method;
  return new ApiStatusError(unknownStatus(500, `${verb} "${url}": dial tcp ${address}: ${why}`));
}

export class KubeletProxy {
  private readonly rest: RestHandlers;
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly pods: ResourceDef;
  private readonly nodes: ResourceDef;

  constructor(opts: KubeletProxyOptions) {
    this.rest = opts.rest;
    this.log = opts.log;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    const pods = resourceFor('', 'v1', 'pods');
    const nodes = resourceFor('', 'v1', 'nodes');
    if (pods === undefined || nodes === undefined) throw new Error('the api registry has no pods or nodes');
    this.pods = pods;
    this.nodes = nodes;
  }

  /**
   * Where `sub` (`log`, `exec`, `attach`, `portforward`) of the pod is served; null for logs of a pod
   * not scheduled yet (upstream answers an empty body). Throws ApiStatusError with upstream's words.
   */
  async locate(namespace: string, name: string, sub: string, query: URLSearchParams): Promise<KubeletLocation | null> {
    const pod = (await this.rest.get({ def: this.pods, namespace, name })) as KubeObject as Pod;
    const params = new URLSearchParams(query);
    params.delete('container');
    let kubeletPath: string;
    if (sub === 'portforward') {
      kubeletPath = `/portForward/${enc(namespace)}/${enc(name)}`;
    } else {
      const container = chooseContainer(pod, name, query.get('container') ?? '', sub === 'log');
      const verb = sub === 'log' ? 'containerLogs' : sub;
      kubeletPath = `/${verb}/${enc(namespace)}/${enc(name)}/${enc(container)}`;
    }
    const nodeName = pod.spec?.nodeName ?? '';
    if (nodeName === '') {
      if (sub === 'log') return null;
      throw new ApiStatusError(badRequestStatus(`pod ${name} does not have a host assigned`));
    }
    const node = (await this.rest.get({ def: this.nodes, name: nodeName })) as KubeObject as Node;
    const addresses = node.status?.addresses ?? [];
    const host =
      addresses.find((a) => a.type === 'InternalIP')?.address ??
      addresses.find((a) => a.type === 'ExternalIP')?.address ??
      addresses.find((a) => a.type === 'Hostname')?.address;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
    if (host === undefined || port <= 0) {
      throw new ApiStatusError(
        internalErrorStatus(`node "${nodeName}" reports no kubelet address (status.addresses / daemonEndpoints)`),
      );
    }
    const search = params.toString();
    return { host, port, path: search === '' ? kubeletPath : `${kubeletPath}?${search}` };
  }

  /** `GET …/pods/{name}/log`: streams the kubelet's answer through; errors become Status objects. */
  async serveLog(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: ResourcePath,
    query: URLSearchParams,
  ): Promise<void> {
    req.resume();
    const loc = await this.locate(path.namespace ?? '', path.name ?? '', 'log', query);
    if (loc === null) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 0 });
      res.end();
      return;
    }
    const url = `http://${hostPort(loc)}${loc.path}`;
    const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const r = http.get({ host: loc.host, port: loc.port, path: loc.path, timeout: this.connectTimeoutMs }, resolve);
      r.once('timeout', () => r.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      r.once('error', (err) => reject(dialError('GET', url, hostPort(loc), err)));
      // The client went away before the kubelet answered.
      res.once('close', () => r.destroy());
    });
    upstream.socket.setTimeout(0);
    const code = upstream.statusCode ?? 500;
    if (code < 200 || code > 206) {
      const body = await readLimited(upstream, 50_000);
      if (code === 400) throw new ApiStatusError(badRequestStatus(body));
      if (code === 404) throw new ApiStatusError({ ...badRequestStatus(body), code: 404, reason: 'NotFound' });
      if (code === 500) throw new ApiStatusError(internalErrorStatus(body));
      throw new ApiStatusError(unknownStatus(code, body));
    }
    res.writeHead(200, {
      'content-type': upstream.headers['content-type'] ?? 'text/plain',
      'transfer-encoding': 'chunked',
    });
    res.flushHeaders();
    res.once('close', () => upstream.destroy());
    upstream.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        upstream.pause();
        res.once('drain', () => upstream.resume());
      }
    });
    upstream.once('end', () => res.end());
    upstream.once('error', () => res.destroy());
  }

  /**
   * An upgrade for `…/pods/{name}/exec|attach|portforward`: replays the request line and headers to
   * the kubelet with its own path, then pipes both sockets. The kubelet's 101 (or refusal) reaches the
   * client unchanged.
   */
  async serveUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, path: ResourcePath): Promise<void> {
    socket.on('error', () => {});
    const query = new URL(req.url ?? '/', 'http://apiserver').searchParams;
    let loc: KubeletLocation;
    try {
      const found = await this.locate(path.namespace ?? '', path.name ?? '', path.subresource ?? '', query);
      if (found === null) throw new ApiStatusError(badRequestStatus(`pod ${path.name} does not have a host assigned`));
      loc = found;
    } catch (err) {
      writeStatus(socket, toStatusError(err).status);
      return;
    }
    const method = req.method ?? 'GET';
    const upstream = net.connect(loc.port, loc.host);
    upstream.setTimeout(this.connectTimeoutMs);
    const failed = (err: unknown) => {
      const url = `http://${hostPort(loc)}${loc.path}`;
      this.log.debug({ err, url }, 'kubelet unreachable');
      writeStatus(socket, dialError(method, url, hostPort(loc), err).status);
      upstream.destroy();
    };
    upstream.once('timeout', () => failed(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    upstream.once('error', failed);
    upstream.once('connect', () => {
      upstream.off('error', failed);
      upstream.removeAllListeners('timeout');
      upstream.setTimeout(0);
      upstream.on('error', () => socket.destroy());
      upstream.write(requestHead(req, method, loc));
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.once('close', () => upstream.destroy());
      upstream.once('close', () => socket.destroy());
    });
    socket.once('close', () => {
      if (upstream.connecting) upstream.destroy();
    });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function hostPort(loc: KubeletLocation): string {
  return loc.host.includes(':') ? `[${loc.host}]:${loc.port}` : `${loc.host}:${loc.port}`;
}

/**
 * The container a request is for: the named one (it must exist), else the only one, else the
 * `kubectl.kubernetes.io/default-container` annotation, else upstream's "must be specified" error.
 */
export function chooseContainer(pod: Pod, podName: string, requested: string, forLogs: boolean): string {
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  const ephemeral = (pod.spec as { ephemeralContainers?: { name: string }[] } | undefined)?.ephemeralContainers ?? [];
  if (requested !== '') {
    if (![...containers, ...inits, ...ephemeral].some((c) => c.name === requested)) {
      throw new ApiStatusError(badRequestStatus(`container ${requested} is not valid for pod ${podName}`));
    }
    return requested;
  }
  if (containers.length === 1) return containers[0]!.name;
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (annotated !== undefined && containers.some((c) => c.name === annotated)) return annotated;
  if (containers.length === 0) {
    throw new ApiStatusError(badRequestStatus(`a container name must be specified for pod ${podName}`));
  }
  const names = containers.map((c) => c.name).join(' ');
  let message = `a container name must be specified for pod ${podName}, choose one of: [${names}]`;
  if (forLogs) {
    // Logs list every container kind in one list (upstream's VisitContainers order).
    message = `a container name must be specified for pod ${podName}, choose one of: [${[...inits, ...containers, ...ephemeral].map((c) => c.name).join(' ')}]`;
  } else if (inits.length > 0) {
    message += ` or one of the init containers: [${inits.map((c) => c.name).join(' ')}]`;
  }
  throw new ApiStatusError(badRequestStatus(message));
}

/** The upgrade request as the kubelet must see it: its path, every other header unchanged. */
function requestHead(req: http.IncomingMessage, method: string, loc: KubeletLocation): string {
  const lines = [`${method} ${loc.path} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.toLowerCase() === 'host') continue;
    lines.push(`${name}: ${raw[i + 1]}`);
  }
  lines.push(`Host: ${hostPort(loc)}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Answers an upgrade request with a Status before anything else reached the client. */
export function writeStatus(socket: Duplex, status: Status): void {
  const code = status.code ?? 500;
  const body = JSON.stringify(status);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function readLimited(stream: http.IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    if (size < limit) chunks.push(b.subarray(0, limit - size));
    size += b.length;
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}
