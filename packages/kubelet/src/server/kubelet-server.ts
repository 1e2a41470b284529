// The kubelet's HTTP server on `--port` (plain HTTP): the paths the apiserver proxies pods/log and
// pods/exec|attach|portforward to, plus /healthz and /pods, as the real kubelet serves them.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Pod } from '@kemu/api';
import { type Clock, type Logger, systemRuntime, type Timers } from '@kemu/runtime';
import type { ContainerRuntime } from '../runtime/types.js';
import { type ContainerRef, containerIdForLogs, parseContainerLogQuery, runtimeLogOptions } from './container-logs.js';
import { KubeletServerError } from './errors.js';
import { RuntimeAttachBackend, RuntimeExecBackend } from './exec-backend.js';
import { fileLogStream } from './file-logs.js';
import { ExecStartError, StreamRequestError } from './streaming/errors.js';
import type { ExecStartOptions } from './streaming/exec-backend.js';
import { acceptAttachWebSocket, acceptExecWebSocket } from './streaming/exec-websocket.js';
import { acceptPortForwardWebSocket } from './streaming/portforward-websocket.js';
import { rejectUpgrade } from './streaming/upgrade.js';

/**
 * What the server needs from the kubelet core (the `Kubelet` class has these methods): the pods it
 * runs, with the status it computed, and which runtime container backs a pod's container.
 */
export interface KubeletPodHost {
  /** Pods this kubelet runs (bound to its node, plus static pods under their mirror names). */
  managedPods(): Pod[];
  findPod(namespace: string, name: string): { pod: Pod; podIP: string | null } | null;
  findContainer(namespace: string, podName: string, container: string): ContainerRef | null;
}

export interface KubeletServerOptions {
  host: KubeletPodHost;
  /** The runtime the pods run in; may be swapped when the kubelet restarts its runtime. */
  runtime: ContainerRuntime | (() => ContainerRuntime);
  clock: Clock;
  /** For polling followed log files (default: the system's). */
  timers?: Timers;
  log: Logger;
}

/** A parsed kubelet path: `/{verb}/{namespace}/{pod}[/{uid}][/{container}]`. */
export interface KubeletPath {
  verb: 'containerLogs' | 'exec' | 'attach' | 'portForward';
  namespace: string;
  pod: string;
  uid?: string;
  container?: string;
}

/** Splits a kubelet streaming path; undefined when it is none of them. */
export function parseKubeletPath(pathname: string): KubeletPath | undefined {
  let segs: string[];
  try {
    segs = pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const [verb, namespace, pod, ...rest] = segs;
  if (namespace === undefined || pod === undefined) return undefined;
  switch (verb) {
    case 'containerLogs':
      return rest.length === 1 ? { verb, namespace, pod, container: rest[0]! } : undefined;
    case 'exec':
    case 'attach':
      if (rest.length === 1) return { verb, namespace, pod, container: rest[0]! };
      if (rest.length === 2) return { verb, namespace, pod, uid: rest[0]!, container: rest[1]! };
      return undefined;
    case 'portForward':
      if (rest.length === 0) return { verb, namespace, pod };
      if (rest.length === 1) return { verb, namespace, pod, uid: rest[0]! };
      return undefined;
    default:
      return undefined;
  }
}

export class KubeletServer {
  readonly server: http.Server;
  private readonly host: KubeletPodHost;
  private readonly runtimeOf: () => ContainerRuntime;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly log: Logger;
  private readonly upgraded = new Set<Duplex>();

  constructor(opts: KubeletServerOptions) {
    this.host = opts.host;
    const rt = opts.runtime;
    this.runtimeOf = typeof rt === 'function' ? rt : () => rt;
    this.clock = opts.clock;
    this.timers = opts.timers ?? systemRuntime;
    this.log = opts.log;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** The bound port (what the Node reports as `daemonEndpoints.kubeletEndpoint.Port`). */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    for (const s of this.upgraded) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    try {
      await this.route(req, res, url);
    } catch (err) {
      const e =
        err instanceof KubeletServerError
          ? err
          : new KubeletServerError('KUBELET_INTERNAL', err instanceof Error ? err.message : String(err), 500, {
              cause: err,
            });
      if (e.httpStatus >= 500) this.log.warn({ err, path: url.pathname }, 'kubelet request failed');
      if (!res.headersSent) {
        res.writeHead(e.httpStatus, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(e.message);
      } else {
        res.destroy();
      }
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (p === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('ok');
      }
      if (p === '/pods') {
        const body = JSON.stringify({
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: {},
          items: this.host.managedPods(),
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        return void res.end(body);
      }
    }
    const path = parseKubeletPath(p);
    if (path === undefined) throw new KubeletServerError('KUBELET_NOT_FOUND', '404 page not found', 404);
    if (path.verb === 'containerLogs' && req.method === 'GET') {
      return this.containerLogs(req, res, path, url.searchParams);
    }
    // exec/attach/portForward without an Upgrade header reach here (upgrades go to `upgrade`).
    throw new KubeletServerError(
      'KUBELET_BAD_REQUEST',
      path.verb === 'containerLogs' ? `method ${req.method} not allowed` : 'Upgrade request required',
      path.verb === 'containerLogs' ? 405 : 400,
    );
  }

  private pod(path: KubeletPath): { pod: Pod; podIP: string | null } {
    const found = this.host.findPod(path.namespace, path.pod);
    if (found === null || (path.uid !== undefined && found.pod.metadata.uid !== path.uid)) {
      throw new KubeletServerError('KUBELET_NOT_FOUND', `pod "${path.pod}" does not exist`, 404);
    }
    return found;
  }

  private async containerLogs(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: KubeletPath,
    q: URLSearchParams,
  ): Promise<void> {
    req.resume();
    const query = parseContainerLogQuery(q);
    this.pod(path);
    const container = path.container ?? '';
    const ref = this.host.findContainer(path.namespace, path.pod, container);
    if (ref === null) {
      throw new KubeletServerError('KUBELET_NOT_FOUND', `container "${container}" not found in pod "${path.pod}"`, 404);
    }
    let stream: Awaited<ReturnType<ContainerRuntime['containerLogs']>>;
    try {
      if (ref.logFile !== undefined && !query.previous) {
        stream = fileLogStream(ref.logFile, runtimeLogOptions(query, this.clock.now()), this.timers);
      } else {
        const id = containerIdForLogs(ref, container, query.previous);
        stream = await (ref.runtime ?? this.runtimeOf()).containerLogs(id, runtimeLogOptions(query, this.clock.now()));
      }
    } catch (err) {
      if (err instanceof KubeletServerError) throw err;
      throw new KubeletServerError(
        'KUBELET_BAD_REQUEST',
        `failed to get logs of container "${container}" in pod "${path.pod}": ${err instanceof Error ? err.message : String(err)}`,
        400,
        { cause: err },
      );
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const stop = () => stream.destroy();
    res.once('close', stop);
    stream.on('data', (chunk: Buffer | string) => {
      if (!res.write(chunk)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
    });
    stream.once('end', () => {
      res.off('close', stop);
      res.end();
    });
    stream.once('error', (err) => {
      this.log.warn({ err, pod: path.pod, container }, 'log stream failed');
      res.destroy();
    });
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const path = parseKubeletPath(url.pathname);
    const onError = (err: unknown) => this.log.debug({ err, path: url.pathname }, 'stream error');
    try {
      if (path === undefined || path.verb === 'containerLogs') {
        throw new StreamRequestError('STREAM_BAD_REQUEST', `no streaming endpoint at ${url.pathname}`, 404);
      }
      const found = this.host.findPod(path.namespace, path.pod);
      if (found === null || (path.uid !== undefined && found.pod.metadata.uid !== path.uid)) {
        throw new StreamRequestError('STREAM_BAD_REQUEST', 'pod does not exist', 404);
      }
      const target = { namespace: path.namespace, pod: path.pod };
      if (path.verb === 'portForward') {
        const podIP = found.podIP ?? found.pod.status?.podIP ?? '';
        if (podIP === '') {
          throw new StreamRequestError('STREAM_BAD_REQUEST', `pod ${path.pod} has no IP address yet`, 500);
        }
        acceptPortForwardWebSocket(
          req,
          socket,
          head,
          { connect: (port) => net.connect(port, podIP) },
          {
            target,
            onError,
          },
        ).catch(onError);
        return;
      }
      // The container comes from the path, not the query (the apiserver moved it there).
      const container = path.container ?? '';
      const running = (ref: ContainerRef | null): string | undefined =>
        ref?.running && ref.containerId !== null ? ref.containerId : undefined;
      const resolve = (o: ExecStartOptions): string => {
        const id = running(this.host.findContainer(o.namespace, o.pod, container));
        if (id === undefined)
          throw new ExecStartError('EXEC_CONTAINER_NOT_FOUND', `container not found ("${container}")`);
        return id;
      };
      const ref = this.host.findContainer(path.namespace, path.pod, container);
      if (running(ref) === undefined) {
        throw new StreamRequestError('STREAM_BAD_REQUEST', `container not found ("${container}")`, 500);
      }
      const rewritten = new URL(url);
      rewritten.searchParams.set('container', container);
      req.url = `${rewritten.pathname}${rewritten.search}`;
      const runtime = ref?.runtime ?? this.runtimeOf();
      if (path.verb === 'exec') {
        acceptExecWebSocket(req, socket, head, new RuntimeExecBackend(runtime, resolve), { target, onError }).catch(
          onError,
        );
      } else {
        acceptAttachWebSocket(req, socket, head, new RuntimeAttachBackend(runtime, resolve), {
          target,
          onError,
        }).catch(onError);
      }
    } catch (err) {
      if (!(err instanceof StreamRequestError)) {
        this.log.warn({ err, path: url.pathname }, 'upgrade failed');
        socket.destroy();
        return;
      }
      rejectUpgrade(socket, err);
    }
  }
}
