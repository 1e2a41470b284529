// Leader election on a coordination.k8s.io/v1 Lease, after client-go's tools/leaderelection.
//
// Safety argument (why two candidates never lead at once, given one clock rate for all):
//  - a candidate takes the lease only after it has seen the same lease record, unchanged, for the
//    record's leaseDurationSeconds (the holder's leaseDuration rounded up to whole seconds)
//    measured on its own clock from when it first saw it, and its write is a
//    compare-and-swap on that record's resourceVersion, so no renewal happened in between;
//  - a leader counts itself leader only until (start of its last successful renew attempt +
//    renewDeadline), and renewDeadline < leaseDuration; its last renewal was written after that
//    attempt started, so it stops leading before anybody else may start.
// Client-go compares records the same way (observedTime, not the renewTime in the lease), so clock
// skew between hosts does not matter, only clock rate.
import { formatMicroTime, type Lease } from '@kemu/api';
import { type Logger, type Random, type Runtime, silentLogger, type TimerHandle } from '@kemu/runtime';
import { ClientConfigError, ClientStoppedError, isNotFound } from './errors.js';
import type { ResourceClient } from './interfaces.js';

export interface LeaderCallbacks {
  /** Became leader; `signal` aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void;
  /** Leadership ended (lost, renew deadline passed, or stopped). Called once per onStartedLeading. */
  onStoppedLeading(): void;
  /** The observed holder changed (including to this candidate); '' when nobody holds the lease. */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  /** Leases client; the lease lives in `namespace`. */
  leases: ResourceClient<Lease>;
  namespace: string;
  name: string;
  identity: string;
  runtime: Runtime;
  random: Random;
  callbacks: LeaderCallbacks;
  /** How long others wait after the last renewal they saw before taking over (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up (default 10 s; < leaseDuration). */
  renewDeadlineMs?: number;
  /** Time between attempts (default 2 s; < renewDeadline). Acquire attempts add up to 1.2× jitter. */
  retryPeriodMs?: number;
  /** On stop(), hand the lease back at once so a successor need not wait a leaseDuration. */
  releaseOnCancel?: boolean;
  log?: Logger;
}

const JITTER = 1.2;

interface Sleeper {
  timer: TimerHandle;
  resolve: () => void;
}

export class LeaderElector {
  readonly identity: string;
  private readonly cfg: Required<Omit<LeaderElectionConfig, 'log' | 'callbacks'>> & { callbacks: LeaderCallbacks };
  private readonly log: Logger;
  private observedSpec = '';
  private observedRv: string | undefined;
  private observedTime = 0;
  private observedLease: Lease | undefined;
  private reportedLeader: string | undefined;
  private leading = false;
  private leaderSignal: AbortController | undefined;
  private validUntil = 0;
  private lossTimer: TimerHandle | undefined;
  private sleeper: Sleeper | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private leadEnded: (() => void) | undefined;

  constructor(config: LeaderElectionConfig) {
    const leaseDurationMs = config.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = config.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > renewDeadlineMs))
      throw new ClientConfigError('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(renewDeadlineMs > JITTER * retryPeriodMs))
      throw new ClientConfigError('renewDeadlineMs must be greater than 1.2 × retryPeriodMs');
    if (!(retryPeriodMs > 0)) throw new ClientConfigError('retryPeriodMs must be > 0');
    if (config.identity === '') throw new ClientConfigError('leader election identity must not be empty');
    if (config.name === '' || config.namespace === '')
      throw new ClientConfigError('lease name and namespace are required');
    this.identity = config.identity;
    this.cfg = {
      ...config,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      releaseOnCancel: config.releaseOnCancel ?? false,
    };
    this.log = (config.log ?? silentLogger()).child({
      lease: `${config.namespace}/${config.name}`,
      identity: config.identity,
    });
  }

  /** True while this candidate leads (and its renew deadline has not passed). */
  isLeader(): boolean {
    return this.leading && this.cfg.runtime.monotonic() < this.validUntil;
  }

  /** The holder last observed in the lease ('' if none). */
  getLeader(): string {
    return this.observedLease?.spec?.holderIdentity ?? '';
  }

  /**
   * Campaigns until it acquires the lease, then leads until leadership is lost or stop() is
   * called. Resolves after onStoppedLeading (or, if it never led, when stopped). One run per elector.
   */
  run(): Promise<void> {
    if (this.running) throw new ClientConfigError('LeaderElector.run() may be called only once');
    if (this.stopped) return Promise.reject(new ClientStoppedError('leader elector was stopped'));
    this.running = this.campaign();
    return this.running;
  }

  /** Stops campaigning or leading; with releaseOnCancel, hands the lease back. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const wasLeading = this.leading;
    this.wake();
    if (wasLeading) this.endLeadership('stopped');
    await this.running;
    if (wasLeading && this.cfg.releaseOnCancel) await this.release();
  }

  private async campaign(): Promise<void> {
    // Acquire: try now, then every retryPeriod with jitter.
    while (!this.stopped) {
      const start = this.cfg.runtime.monotonic();
      const acquired = await this.tryAcquireOrRenew();
      if (this.stopped) {
        // A lease we acquired just as we stopped is ours: release/expire it like a leader would.
        if (acquired && this.cfg.releaseOnCancel) await this.release();
        return;
      }
      if (acquired) {
        this.startLeadership(start);
        break;
      }
      await this.sleep(this.cfg.retryPeriodMs * (1 + this.cfg.random.next() * JITTER));
    }
    if (!this.leading) return;
    await this.lead();
  }

  private async lead(): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      this.leadEnded = resolve;
    });
    const renewLoop = (async () => {
      while (this.leading) {
        await Promise.race([this.sleep(this.cfg.retryPeriodMs), ended]);
        if (!this.leading) return;
        const start = this.cfg.runtime.monotonic();
        const ok = await this.tryAcquireOrRenew();
        // A reply that arrives after leadership ended (deadline passed, or stopped) counts for nothing.
        if (!this.leading) return;
        if (ok) this.extend(start);
        else if (this.getLeader() !== this.identity && this.observedLease !== undefined) {
          this.endLeadership(`lease taken by "${this.getLeader()}"`);
        } else this.log.warn('failed to renew lease; retrying');
      }
    })();
    await ended;
    this.wake();
    await renewLoop;
  }

  private startLeadership(attemptStart: number): void {
    this.leading = true;
    this.leaderSignal = new AbortController();
    this.extend(attemptStart);
    this.log.info('became leader');
    this.safely(() => this.cfg.callbacks.onStartedLeading((this.leaderSignal as AbortController).signal));
  }

  private extend(attemptStart: number): void {
    this.validUntil = attemptStart + this.cfg.renewDeadlineMs;
    this.lossTimer?.cancel();
    const left = this.validUntil - this.cfg.runtime.monotonic();
    if (left <= 0) {
      this.endLeadership('renew deadline passed');
      return;
    }
    this.lossTimer = this.cfg.runtime.setTimeout(
      () => this.endLeadership('failed to renew lease before the renew deadline'),
      left,
    );
  }

  private endLeadership(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.validUntil = 0;
    this.lossTimer?.cancel();
    this.lossTimer = undefined;
    this.log.info({ why }, 'stopped leading');
    this.leaderSignal?.abort();
    this.safely(() => this.cfg.callbacks.onStoppedLeading());
    const done = this.leadEnded;
    this.leadEnded = undefined;
    done?.();
  }

  /** One attempt; true when this candidate holds the lease afterwards. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { leases, namespace, name, runtime } = this.cfg;
    const nowText = formatMicroTime(runtime.now());
    // Rounded up: others wait this long (see below), and it must stay above our renewDeadline.
    const leaseDurationSeconds = Math.max(1, Math.ceil(this.cfg.leaseDurationMs / 1000));
    let current: Lease;
    try {
      current = await leases.get(name, { namespace });
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.debug({ err }, 'error retrieving lease');
        return false;
      }
      try {
        const created = await leases.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds,
            acquireTime: nowText,
            renewTime: nowText,
            leaseTransitions: 0,
          },
        });
        this.observe(created);
        return true;
      } catch (createErr) {
        this.log.debug({ err: createErr }, 'error creating lease');
        return false;
      }
    }
    this.observe(current);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const mono = runtime.monotonic();
    // Like client-go, trust the duration the holder promised in the record (it knows its own renew
    // deadline); our own setting only when the record has none.
    const holderDurationMs =
      spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds > 0
        ? spec.leaseDurationSeconds * 1000
        : this.cfg.leaseDurationMs;
    if (holder !== '' && holder !== this.identity && this.observedTime + holderDurationMs > mono) {
      return false;
    }
    const mine = holder === this.identity;
    const next: Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : nowText,
        renewTime: nowText,
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      const updated = await leases.update(next);
      this.observe(updated);
      return true;
    } catch (err) {
      // Conflict: somebody wrote in between; the next attempt sees their record.
      this.log.debug({ err }, 'error updating lease');
      return false;
    }
  }

  /** Remembers a lease record and when it was first seen (on our own clock). */
  private observe(lease: Lease): void {
    const spec = JSON.stringify(lease.spec ?? {});
    if (spec !== this.observedSpec || lease.metadata.resourceVersion !== this.observedRv) {
      this.observedSpec = spec;
      this.observedRv = lease.metadata.resourceVersion;
      this.observedTime = this.cfg.runtime.monotonic();
    }
    this.observedLease = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      const cb = this.cfg.callbacks.onNewLeader;
      if (cb) this.safely(() => cb(holder));
    }
  }

  /** Hands the lease back if we still hold it: empty holder, 1 s duration (client-go's release). */
  private async release(): Promise<void> {
    const lease = this.observedLease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = formatMicroTime(this.cfg.runtime.now());
    try {
      const released = await this.cfg.leases.update({
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      });
      this.observedLease = released;
      this.log.info('released lease');
    } catch (err) {
      this.log.warn({ err }, 'failed to release lease');
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.cfg.runtime.setTimeout(() => {
        if (this.sleeper?.timer === timer) this.sleeper = undefined;
        resolve();
      }, ms);
      this.sleeper = { timer, resolve };
    });
  }

  private wake(): void {
    const s = this.sleeper;
    this.sleeper = undefined;
    if (s) {
      s.timer.cancel();
      s.resolve();
    }
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'leader election callback threw');
    }
  }
}
