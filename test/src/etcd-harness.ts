import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdClient, type StatusResponse, wireConnectionFactory } from '@kemu/etcd';
import { ChildProc, freePort, waitFor } from '@kemu/testkit';

export { freePort, waitFor };

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const MEMBER_MAIN = path.join(REPO_ROOT, 'packages', 'etcd', 'dist', 'src', 'member', 'main.js');

export interface ClusterOptions {
  size?: number;
  heartbeatMs?: number;
  electionMs?: number;
  snapshotCount?: number;
  snapshotCatchUpEntries?: number;
  /** Extra env for the members (e.g. KEMU_LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
}

/** One etcd member process (`packages/etcd/dist/src/member/main.js`) with its ports and data dir. */
export class MemberProcess extends ChildProc {
  constructor(
    name: string,
    readonly port: number,
    readonly adminPort: number,
    readonly dataDir: string,
    args: string[],
    logFile: string,
    env: NodeJS.ProcessEnv,
  ) {
    super(name, [MEMBER_MAIN, ...args], logFile, env);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  get identity(): string {
    return `etcd/${this.name}`;
  }

  async admin(method: string, pathname: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}${pathname}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${method} ${pathname} -> ${res.status}: ${text}`);
    return text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text;
  }
}

export class EtcdTestCluster {
  private readonly clients: EtcdClient[] = [];

  private constructor(
    readonly dir: string,
    readonly members: MemberProcess[],
  ) {}

  static async start(opts: ClusterOptions = {}): Promise<EtcdTestCluster> {
    const size = opts.size ?? 3;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-etcd-'));
    const ports: number[] = [];
    const adminPorts: number[] = [];
    for (let i = 0; i < size; i++) {
      ports.push(await freePort());
      adminPorts.push(await freePort());
    }
    const peers = ports.map((p, i) => `etcd-${i}=ws://127.0.0.1:${p}`).join(',');
    const members = ports.map((port, i) => {
      const name = `etcd-${i}`;
      const dataDir = path.join(dir, name);
      const args = [
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--listen',
        `127.0.0.1:${port}`,
        '--peers',
        peers,
        '--admin-port',
        String(adminPorts[i]),
        '--heartbeat-interval',
        String(opts.heartbeatMs ?? 100),
        '--election-timeout',
        String(opts.electionMs ?? 1000),
      ];
      if (opts.snapshotCount !== undefined) args.push('--snapshot-count', String(opts.snapshotCount));
      if (opts.snapshotCatchUpEntries !== undefined) {
        args.push('--snapshot-catchup-entries', String(opts.snapshotCatchUpEntries));
      }
      return new MemberProcess(
        name,
        port,
        adminPorts[i]!,
        dataDir,
        args,
        path.join(dir, `${name}.log`),
        opts.env ?? {},
      );
    });
    const cluster = new EtcdTestCluster(dir, members);
    for (const m of members) m.start();
    return cluster;
  }

  /**
   * Creates (does not start) a member that joins this running cluster: `--initial-cluster-state
   * existing`, `--peers` naming the current members plus itself. Call `memberAdd` first.
   */
  async joiningMember(name: string, opts: ClusterOptions = {}): Promise<MemberProcess> {
    const port = await freePort();
    const adminPort = await freePort();
    const peers = [...this.members.map((m) => `${m.name}=ws://127.0.0.1:${m.port}`), `${name}=ws://127.0.0.1:${port}`];
    const dataDir = path.join(this.dir, name);
    const args = [
      '--name',
      name,
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--peers',
      peers.join(','),
      '--admin-port',
      String(adminPort),
      '--heartbeat-interval',
      String(opts.heartbeatMs ?? 100),
      '--election-timeout',
      String(opts.electionMs ?? 1000),
      '--initial-cluster-state',
      'existing',
    ];
    const m = new MemberProcess(
      name,
      port,
      adminPort,
      dataDir,
      args,
      path.join(this.dir, `${name}.log`),
      opts.env ?? {},
    );
    this.members.push(m);
    return m;
  }

  member(name: string): MemberProcess {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  client(
    members: MemberProcess[] = this.members,
    opts: { callTimeoutMs?: number; attemptTimeoutMs?: number } = {},
  ): EtcdClient {
    const c = new EtcdClient({
      endpoints: members.map((m) => m.endpoint),
      connect: wireConnectionFactory({ identity: `test/client-${this.clients.length}` }),
      callTimeoutMs: opts.callTimeoutMs ?? 10000,
      attemptTimeoutMs: opts.attemptTimeoutMs ?? 3000,
    });
    this.clients.push(c);
    return c;
  }

  async status(m: MemberProcess): Promise<StatusResponse | undefined> {
    const c = this.statusClient ?? (this.statusClient = this.client());
    try {
      return await c.status(m.endpoint, { timeoutMs: 500 });
    } catch {
      return undefined;
    }
  }

  private statusClient: EtcdClient | undefined;

  /** Waits until the running members agree on one leader; returns it. */
  async waitForLeader(
    timeoutMs = 15000,
    among: MemberProcess[] = this.members.filter((m) => m.running),
  ): Promise<MemberProcess> {
    return waitFor(
      'a leader',
      async () => {
        const sts = await Promise.all(among.map((m) => this.status(m)));
        const leaders = new Set(sts.map((s) => s?.leaderName));
        if (sts.some((s) => s === undefined) || leaders.size !== 1) return undefined;
        const name = sts[0]!.leaderName;
        return name ? this.members.find((m) => m.name === name) : undefined;
      },
      { timeoutMs },
    );
  }

  /** Cuts `a` off from `b` (both ways) on every member's fault table. */
  async partition(a: MemberProcess[], b: MemberProcess[], ttlMs = 60000): Promise<void> {
    const rule = { action: 'partition', a: a.map((m) => m.identity), b: b.map((m) => m.identity), ttlMs };
    await Promise.all([...a, ...b].filter((m) => m.running).map((m) => m.admin('POST', '/faults', rule)));
  }

  async heal(): Promise<void> {
    await Promise.all(this.members.filter((m) => m.running).map((m) => m.admin('DELETE', '/faults')));
  }

  async destroy(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.close()));
    for (const m of this.members) {
      m.resume();
      m.signal('SIGKILL');
    }
    await Promise.all(this.members.map((m) => m.exited));
    if (process.env.KEMU_KEEP_TEST_DIRS) return;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Member logs, for failure messages. */
  dumpLogs(): string {
    return this.members.map((m) => `==== ${m.name}\n${m.logs().split('\n').slice(-40).join('\n')}`).join('\n');
  }
}
