import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isKemuError, KemuError } from '@kemu/runtime';
import { isSameProcess, readPidFile } from './pid-files.js';
import { readJson, StateDir } from './state-dir.js';
import { type ActionResult, CHAOS_ACTIONS, type ChaosAction, type Supervisor } from './supervisor.js';

/**
 * The supervisor's control channel: HTTP on 127.0.0.1 (an ephemeral port), address and a random token
 * in `<state>/run/control.json` (mode 0600, so only the cluster's owner can act on it). One route:
 * `POST /v1/act {"action": "kill", "name": "etcd-1"}` → `200 ActionResult`, or `4xx {code, message}`.
 * HTTP rather than a unix socket because socket paths are limited to ~100 bytes and state dirs are not.
 */
export interface ControlInfo {
  pid: number;
  port: number;
  token: string;
}

export class SupervisorNotRunningError extends KemuError {
  constructor(stateDir: string) {
    super('KEMU_NO_SUPERVISOR', `no kemu supervisor is running for ${stateDir}; start the cluster with 'kemu up'`);
  }
}

export class ControlError extends KemuError {}

const TOKEN_HEADER = 'x-kemu-token';

export class ControlServer {
  private readonly server: http.Server;

  private constructor(
    private readonly state: StateDir,
    private readonly supervisor: Supervisor,
    private readonly token: string,
  ) {
    this.server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  static async start(state: StateDir, supervisor: Supervisor): Promise<ControlServer> {
    const s = new ControlServer(state, supervisor, crypto.randomBytes(16).toString('hex'));
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', () => resolve());
    });
    const info: ControlInfo = { pid: process.pid, port: (s.server.address() as AddressInfo).port, token: s.token };
    const file = state.controlFile;
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
    return s;
  }

  async close(): Promise<void> {
    fs.rmSync(this.state.controlFile, { force: true });
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    try {
      if (req.headers[TOKEN_HEADER] !== this.token) return reply(403, { code: 'KEMU_FORBIDDEN', message: 'bad token' });
      if (req.method !== 'POST' || req.url !== '/v1/act') {
        return reply(404, { code: 'KEMU_NOT_FOUND', message: `no route ${req.method} ${req.url}` });
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      let body: { action?: unknown; name?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return reply(400, { code: 'KEMU_BAD_REQUEST', message: 'body must be JSON' });
      }
      const { action, name } = body;
      if (typeof action !== 'string' || !(CHAOS_ACTIONS as readonly string[]).includes(action)) {
        return reply(400, { code: 'KEMU_BAD_REQUEST', message: `action must be one of ${CHAOS_ACTIONS.join(', ')}` });
      }
      if (typeof name !== 'string') return reply(400, { code: 'KEMU_BAD_REQUEST', message: 'name must be a string' });
      reply(200, await this.supervisor.act(action as ChaosAction, name));
    } catch (err) {
      if (isKemuError(err)) return reply(409, { code: err.code, message: err.message });
      reply(500, { code: 'KEMU_INTERNAL', message: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** The client side, used by `kemu kill|stop|…` and by the drills. */
export class SupervisorControl {
  private constructor(
    private readonly stateDir: string,
    private readonly info: ControlInfo,
  ) {}

  /** Finds the running supervisor of a state dir; throws SupervisorNotRunningError when there is none. */
  static connect(stateDir: string): SupervisorControl {
    const state = new StateDir(stateDir);
    const sup = readPidFile(state.supervisorPidFile);
    const info = readJson<ControlInfo>(state.controlFile);
    if (!sup || !isSameProcess(sup) || !info || info.pid !== sup.pid) throw new SupervisorNotRunningError(stateDir);
    return new SupervisorControl(stateDir, info);
  }

  async act(action: ChaosAction, name: string, timeoutMs = 20_000): Promise<ActionResult> {
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${this.info.port}/v1/act`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: this.info.token },
        body: JSON.stringify({ action, name }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new ControlError(
        'KEMU_CONTROL_UNREACHABLE',
        `cannot reach the supervisor of ${this.stateDir} on 127.0.0.1:${this.info.port}: ${(err as Error).message}`,
      );
    }
    const body = (await res.json()) as ActionResult | { code: string; message: string };
    if (!res.ok) {
      const e = body as { code: string; message: string };
      throw new ControlError(e.code ?? 'KEMU_CONTROL_FAILED', e.message ?? `HTTP ${res.status}`);
    }
    return body as ActionResult;
  }
}
