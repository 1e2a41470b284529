/**
 * The cluster a drill runs against: the one `kemu up --detach` keeps in a state dir. Everything a
 * drill touches goes through what a user has too: kubectl with the cluster's kubeconfig, the
 * apiserver's HTTP and internal wire API, etcd's client API, the supervisor's pid files and event
 * log, and the components' admin endpoints (through the FaultInjector).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type TimingProfile, timingProfile } from '@kemu/api';
import { WireApiClient } from '@kemu/client';
import { EtcdClient, type StatusResponse, wireConnectionFactory } from '@kemu/etcd';
import { createLogger } from '@kemu/runtime';
import { WireClient } from '@kemu/wire';
import { StateDirFaultInjector } from '../fault-injector.js';
import { isSameProcess, readPidFile } from '../pid-files.js';
import { StateDir } from '../state-dir.js';
import type { ClusterPlan, ComponentKind, ComponentPlan, NodePlan } from '../topology.js';
import { DrillUnavailableError } from './framework.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class KubectlFailedError extends Error {
  constructor(
    readonly args: string[],
    readonly result: KubectlResult,
  ) {
    super(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

export class DrillCluster {
  readonly state: StateDir;
  readonly plan: ClusterPlan;
  readonly profile: TimingProfile;
  readonly faults: StateDirFaultInjector;
  readonly apiserverUrl: string;
  readonly wireUrl: string;
  private readonly cacheDir: string;
  private wire: WireClient | undefined;
  private apiClient: WireApiClient | undefined;
  private etcdClient: EtcdClient | undefined;

  constructor(stateDir: string) {
    const injector = new StateDirFaultInjector(stateDir);
    this.faults = injector;
    this.plan = injector.plan;
    this.state = new StateDir(this.plan.spec.stateDir);
    this.profile = timingProfile(this.plan.spec.profile);
    const api = this.plan.components.find((c) => c.kind === 'kube-apiserver' && c.available);
    if (!api || !this.plan.apiserverUrl) {
      throw new DrillUnavailableError('this cluster has no kube-apiserver: drills need one (build packages/apiserver)');
    }
    if (!fs.existsSync(this.state.readyFile)) {
      throw new DrillUnavailableError(
        `no running cluster in ${this.state.root}: start one with 'kemu up --detach --state-dir ${this.state.root}'`,
      );
    }
    this.apiserverUrl = this.plan.apiserverUrl;
    this.wireUrl = `ws://127.0.0.1:${api.ports.wire}/wire`;
    this.cacheDir = path.join(this.state.root, 'drills', 'kube-cache');
  }

  get kubeconfig(): string {
    return this.state.kubeconfig;
  }

  /** What the report says about the cluster. */
  describe(): Record<string, string | number> {
    const running = this.plan.components.filter((c) => c.available).map((c) => c.name);
    return {
      stateDir: this.state.root,
      profile: this.profile.name,
      etcdMembers: this.plan.spec.etcd,
      workers: this.plan.spec.nodes,
      apiserver: this.apiserverUrl,
      components: running.join(', '),
    };
  }

  /** The nodes of the topology: `control-plane`, then `worker-1`…. */
  get nodes(): NodePlan[] {
    return this.plan.nodes;
  }

  get workers(): NodePlan[] {
    return this.plan.nodes.filter((n) => n.role === 'worker');
  }

  components(kind?: ComponentKind): ComponentPlan[] {
    return this.plan.components.filter((c) => c.available && (kind === undefined || c.kind === kind));
  }

  has(kind: ComponentKind): boolean {
    return this.components(kind).length > 0;
  }

  /** Throws DrillUnavailableError naming what is missing. */
  require(what: { kinds?: ComponentKind[]; etcd?: number; workers?: number }): void {
    const missing = (what.kinds ?? []).filter((k) => !this.has(k));
    if (missing.length > 0) {
      throw new DrillUnavailableError(`this cluster runs no ${missing.join(', ')} (not available in this build)`);
    }
    if (what.etcd && this.plan.spec.etcd < what.etcd) {
      throw new DrillUnavailableError(
        `needs at least ${what.etcd} etcd members, the cluster has ${this.plan.spec.etcd} (kemu up --etcd 3)`,
      );
    }
    if (what.workers && this.plan.spec.nodes < what.workers) {
      throw new DrillUnavailableError(
        `needs at least ${what.workers} worker nodes, the cluster has ${this.plan.spec.nodes} (kemu up --nodes ${what.workers})`,
      );
    }
  }

  /** The pid of a component's live process, from its pid file (undefined when it is not running). */
  pidOf(name: string): number | undefined {
    const rec = readPidFile(this.state.pidFile(name));
    return rec && isSameProcess(rec) ? rec.pid : undefined;
  }

  kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        [`--cache-dir=${this.cacheDir}`, ...args],
        {
          env: { ...process.env, KUBECONFIG: this.kubeconfig },
          timeout: opts.timeoutMs ?? 30_000,
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

  /** kubectl that must succeed: its stdout, or KubectlFailedError. */
  async k(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) throw new KubectlFailedError(args, r);
    return r.stdout;
  }

  async getJson<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.k(['get', ...args, '-o', 'json'])) as T;
  }

  /** The internal wire API (what components use), connected on first use; reconnects by itself. */
  api(): WireApiClient {
    if (!this.apiClient) {
      this.wire = new WireClient({
        identity: 'kemu-drill/observer',
        log: createLogger({ component: 'kemu-drill', level: 'silent' }),
        url: this.wireUrl,
        reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
      });
      this.wire.start();
      this.apiClient = new WireApiClient({ wire: this.wire, timeoutMs: 5000 });
    }
    return this.apiClient;
  }

  etcd(): EtcdClient {
    this.etcdClient ??= new EtcdClient({
      endpoints: this.plan.etcdEndpoints,
      connect: wireConnectionFactory({ identity: 'kemu-drill/etcd' }),
      callTimeoutMs: 3000,
      attemptTimeoutMs: 1000,
    });
    return this.etcdClient;
  }

  /** Each member's status, or the reason it gave none. */
  async etcdStatuses(timeoutMs = 700): Promise<Map<string, StatusResponse | Error>> {
    const client = this.etcd();
    const out = new Map<string, StatusResponse | Error>();
    const members = this.components('etcd');
    await Promise.all(
      members.map(async (m) => {
        try {
          out.set(m.name, await client.status(m.endpoint ?? '', { timeoutMs }));
        } catch (err) {
          out.set(m.name, err instanceof Error ? err : new Error(String(err)));
        }
      }),
    );
    return out;
  }

  /** The leader every reachable member names, if they agree on one. */
  async etcdLeader(): Promise<{ name: string; term: number } | undefined> {
    const statuses = await this.etcdStatuses();
    const seen = [...statuses.values()].filter((s): s is StatusResponse => !(s instanceof Error));
    const leader = seen.find((s) => s.leaderName !== '' && s.leaderName === s.name);
    if (!leader) return undefined;
    return { name: leader.name, term: leader.raftTerm };
  }

  async close(): Promise<void> {
    await this.wire?.close();
    await this.etcdClient?.close();
  }
}
