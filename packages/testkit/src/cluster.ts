/**
 * A real control plane for cross-process tests of any component: etcd members and an apiserver as
 * child processes in their own process groups, plus whatever components a test adds with
 * `startComponent`, the real kubectl with a kubeconfig and a fresh --cache-dir, and one `destroy()`
 * that kills every process group (call it from `t.after`/`after`, so it also runs on failure).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildProc, freePort, waitFor } from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The checkout this testkit was built in (packages/testkit/dist/src → four levels up). */
export const REPO_ROOT = path.resolve(here, '..', '..', '..', '..');

/** Every component's built entry point; the CLI's topology uses the same paths. */
export const COMPONENT_MAINS = {
  etcd: path.join(REPO_ROOT, 'packages', 'etcd', 'dist', 'src', 'member', 'main.js'),
  apiserver: path.join(REPO_ROOT, 'packages', 'apiserver', 'dist', 'src', 'main.js'),
  scheduler: path.join(REPO_ROOT, 'packages', 'scheduler', 'dist', 'src', 'main.js'),
  controllerManager: path.join(REPO_ROOT, 'packages', 'controller-manager', 'dist', 'src', 'main.js'),
  kubelet: path.join(REPO_ROOT, 'packages', 'kubelet', 'dist', 'src', 'main.js'),
  proxy: path.join(REPO_ROOT, 'packages', 'proxy', 'dist', 'src', 'main.js'),
  dns: path.join(REPO_ROOT, 'packages', 'proxy', 'dist', 'src', 'dns-main.js'),
} as const;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestClusterOptions {
  /** Number of etcd members (default 1: most component tests do not need a quorum of three). */
  etcd?: 1 | 3;
  /** Extra apiserver flags, e.g. `['--default-not-ready-toleration-seconds', '5']`. */
  apiserverArgs?: string[];
  /** Prefix of the temporary directory (default `kemu-test-`). */
  prefix?: string;
}

export class TestCluster {
  readonly etcd: ChildProc[] = [];
  readonly etcdEndpoints: string[] = [];
  readonly components: ChildProc[] = [];
  apiserver!: ChildProc;
  apiserverPort = 0;
  apiserverWirePort = 0;
  readonly kubeconfig: string;
  readonly cacheDir: string;

  private constructor(readonly dir: string) {
    this.kubeconfig = path.join(dir, 'kubeconfig');
    this.cacheDir = path.join(dir, 'kube-cache');
  }

  /** `http://127.0.0.1:<port>`: what kubectl and HTTP clients use. */
  get apiserverUrl(): string {
    return `http://127.0.0.1:${this.apiserverPort}`;
  }

  /** `ws://127.0.0.1:<wire port>`: what components pass as `--apiserver`. */
  get wireUrl(): string {
    return `ws://127.0.0.1:${this.apiserverWirePort}`;
  }

  static async start(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const c = new TestCluster(fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix ?? 'kemu-test-')));
    try {
      const n = opts.etcd ?? 1;
      const ports: number[] = [];
      for (let i = 0; i < n; i++) ports.push(await freePort());
      const peers = ports.map((p, i) => `etcd-${i}=ws://127.0.0.1:${p}`).join(',');
      for (const [i, port] of ports.entries()) {
        const name = `etcd-${i}`;
        c.etcdEndpoints.push(`ws://127.0.0.1:${port}`);
        const m = c.spawn(name, COMPONENT_MAINS.etcd, [
          '--name',
          name,
          '--data-dir',
          path.join(c.dir, name),
          '--listen',
          `127.0.0.1:${port}`,
          '--peers',
          peers,
        ]);
        c.etcd.push(m);
      }
      await c.startApiServer(opts.apiserverArgs ?? []);
      return c;
    } catch (err) {
      await c.destroy();
      throw err;
    }
  }

  private spawn(name: string, main: string, args: string[]): ChildProc {
    const p = new ChildProc(name, [main, ...args], path.join(this.dir, `${name}.log`), {
      KEMU_LOG_LEVEL: process.env.KEMU_LOG_LEVEL ?? 'info',
    });
    p.start();
    return p;
  }

  /** Starts (or restarts, on the same ports) the apiserver and waits until it serves `default`. */
  async startApiServer(extra: string[] = []): Promise<ChildProc> {
    if (this.apiserverPort === 0) {
      this.apiserverPort = await freePort();
      this.apiserverWirePort = await freePort();
    }
    this.apiserver = this.spawn('apiserver', COMPONENT_MAINS.apiserver, [
      '--etcd-servers',
      this.etcdEndpoints.join(','),
      '--port',
      String(this.apiserverPort),
      '--wire-port',
      String(this.apiserverWirePort),
      ...extra,
    ]);
    await waitFor(
      'apiserver serving namespace default',
      async () => (await fetch(`${this.apiserverUrl}/api/v1/namespaces/default`)).status === 200,
      { timeoutMs: 30000, intervalMs: 100 },
    );
    if (!fs.existsSync(this.kubeconfig)) this.writeKubeconfig();
    return this.apiserver;
  }

  /**
   * Starts a component process (`main` is one of COMPONENT_MAINS or any script) with its log in the
   * cluster directory as `<name>.log`; it is killed by `destroy()`.
   */
  startComponent(name: string, main: string, args: string[]): ChildProc {
    const p = this.spawn(name, main, args);
    this.components.push(p);
    return p;
  }

  private writeKubeconfig(): void {
    fs.writeFileSync(
      this.kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: kemu',
        '  cluster:',
        `    server: ${this.apiserverUrl}`,
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

  /** Runs the real kubectl against this cluster; never throws. */
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
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  /** kubectl that must succeed; returns stdout. */
  async k(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) {
      throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r.stdout;
  }

  /** `kubectl get … -o json`, parsed. */
  async getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
    return JSON.parse(await this.k(['get', ...args, '-o', 'json'])) as T;
  }

  writeFile(name: string, content: string): string {
    const p = path.join(this.dir, name);
    fs.writeFileSync(p, content);
    return p;
  }

  /** The last lines of every process's log, for a failing test's message. */
  dumpLogs(lines = 30): string {
    return [...this.etcd, this.apiserver, ...this.components]
      .filter((p): p is ChildProc => p !== undefined)
      .map((p) => `==== ${p.name}\n${p.logs().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  async destroy(): Promise<void> {
    const all = [...this.components, this.apiserver, ...this.etcd].filter((p): p is ChildProc => p !== undefined);
    for (const p of all) {
      p.signal('SIGCONT');
      p.signal('SIGKILL');
    }
    await Promise.all(all.map((p) => p.exited));
    if (!process.env.KEMU_KEEP_TEST_DIRS) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
