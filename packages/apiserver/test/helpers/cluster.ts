/**
 * Real processes for the apiserver's cross-process tests: a 3-member etcd (the approach of
 * test/src/etcd-harness.ts, trimmed to what these tests need), apiserver processes, and the real
 * kubectl with a kubeconfig and a fresh --cache-dir per cluster (kubectl-contract.md §0). Process
 * groups are killed on cleanup, also when a test fails.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdClient, wireConnectionFactory } from '@kemu/etcd';
import { ChildProc, freePort, waitFor } from '@kemu/testkit';

export { freePort, waitFor };

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..', '..', '..');
const ETCD_MAIN = path.join(REPO_ROOT, 'packages', 'etcd', 'dist', 'src', 'member', 'main.js');
const APISERVER_MAIN = path.join(REPO_ROOT, 'packages', 'apiserver', 'dist', 'src', 'main.js');
// Processes log at the level the test run asked for (info by default, so failures have context).
const LOG_ENV = { KEMU_LOG_LEVEL: process.env.KEMU_LOG_LEVEL ?? 'info' };

export class EtcdMember extends ChildProc {
  constructor(
    name: string,
    readonly port: number,
    args: string[],
    logFile: string,
  ) {
    super(name, args, logFile, LOG_ENV);
  }

  get endpoint(): string {
    return `ws://127.0.0.1:${this.port}`;
  }
}

export class ApiServerProc extends ChildProc {
  constructor(
    readonly port: number,
    readonly wirePort: number,
    args: string[],
    logFile: string,
  ) {
    super('apiserver', args, logFile, LOG_ENV);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async waitReady(timeoutMs = 20000): Promise<void> {
    await waitFor(
      'apiserver /readyz',
      async () => {
        const res = await fetch(`${this.url}/readyz`);
        await res.text();
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 100 },
    );
    // The system namespaces are bootstrapped right after the caches sync.
    await waitFor(
      'namespace default',
      async () => (await fetch(`${this.url}/api/v1/namespaces/default`)).status === 200,
      { timeoutMs, intervalMs: 100 },
    );
  }
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestCluster {
  readonly etcd: EtcdMember[] = [];
  readonly apiservers: ApiServerProc[] = [];
  readonly kubeconfig: string;
  readonly cacheDir: string;
  private client: EtcdClient | undefined;

  private constructor(readonly dir: string) {
    this.kubeconfig = path.join(dir, 'kubeconfig');
    this.cacheDir = path.join(dir, 'kube-cache');
  }

  static async start(opts: { apiserverArgs?: string[] } = {}): Promise<TestCluster> {
    const c = new TestCluster(fs.mkdtempSync(path.join(os.tmpdir(), 'kemu-apiserver-')));
    const ports = [await freePort(), await freePort(), await freePort()];
    const peers = ports.map((p, i) => `etcd-${i}=ws://127.0.0.1:${p}`).join(',');
    for (const [i, port] of ports.entries()) {
      const name = `etcd-${i}`;
      const args = [
        ETCD_MAIN,
        '--name',
        name,
        '--data-dir',
        path.join(c.dir, name),
        '--listen',
        `127.0.0.1:${port}`,
        '--peers',
        peers,
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
      ];
      const m = new EtcdMember(name, port, args, path.join(c.dir, `${name}.log`));
      c.etcd.push(m);
      m.start();
    }
    await c.startApiServer(opts.apiserverArgs ?? []);
    return c;
  }

  async startApiServer(extra: string[] = [], port?: number, wirePort?: number): Promise<ApiServerProc> {
    const p = port ?? (await freePort());
    const wp = wirePort ?? (await freePort());
    const args = [
      APISERVER_MAIN,
      '--etcd-servers',
      this.etcd.map((m) => m.endpoint).join(','),
      '--port',
      String(p),
      '--wire-port',
      String(wp),
      ...extra,
    ];
    const a = new ApiServerProc(p, wp, args, path.join(this.dir, `apiserver-${this.apiservers.length}.log`));
    this.apiservers.push(a);
    a.start();
    await a.waitReady(30000);
    if (!fs.existsSync(this.kubeconfig)) this.writeKubeconfig(a.url);
    return a;
  }

  get api(): ApiServerProc {
    const a = this.apiservers.find((x) => x.running);
    if (!a) throw new Error('no apiserver running');
    return a;
  }

  writeKubeconfig(server: string): void {
    fs.writeFileSync(
      this.kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: kemu',
        '  cluster:',
        `    server: ${server}`,
        '    insecure-skip-tls-verify: true',
        'contexts:',
        '- name: kemu',
        '  context: {cluster: kemu, user: kemu, namespace: default}',
        'current-context: kemu',
        'users:',
        '- name: kemu',
        '  user: {}',
        '',
      ].join('\n'),
    );
  }

  /** Runs the real kubectl against this cluster. */
  kubectl(
    args: string[],
    opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
  ): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        [`--cache-dir=${this.cacheDir}`, ...args],
        {
          env: { ...process.env, KUBECONFIG: this.kubeconfig, ...opts.env },
          timeout: opts.timeoutMs ?? 30000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (opts.input !== undefined) {
        child.stdin?.end(opts.input);
      }
    });
  }

  /** kubectl that must succeed; returns stdout. */
  async k(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) {
      throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r.stdout;
  }

  /** A direct etcd client, for checking what is (not) stored. */
  etcdClient(): EtcdClient {
    this.client ??= new EtcdClient({
      endpoints: this.etcd.map((m) => m.endpoint),
      connect: wireConnectionFactory({ identity: 'test/apiserver-e2e' }),
    });
    return this.client;
  }

  async etcdLeader(): Promise<EtcdMember> {
    return waitFor('an etcd leader', async () => {
      for (const m of this.etcd.filter((x) => x.running)) {
        try {
          const st = await this.etcdClient().status(m.endpoint, { timeoutMs: 500 });
          const leader = this.etcd.find((x) => x.name === st.leaderName);
          if (leader?.running) return leader;
        } catch {
          // try the next
        }
      }
      return undefined;
    });
  }

  writeFile(name: string, content: string): string {
    const p = path.join(this.dir, name);
    fs.writeFileSync(p, content);
    return p;
  }

  dumpLogs(): string {
    return [...this.etcd, ...this.apiservers]
      .map((p) => `==== ${p.name}\n${p.logs().split('\n').slice(-30).join('\n')}`)
      .join('\n');
  }

  async destroy(): Promise<void> {
    await this.client?.close().catch(() => {});
    for (const p of [...this.apiservers, ...this.etcd]) {
      p.signal('SIGCONT');
      p.signal('SIGKILL');
    }
    await Promise.all([...this.apiservers, ...this.etcd].map((p) => p.exited));
    if (!process.env.KEMU_KEEP_TEST_DIRS) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
