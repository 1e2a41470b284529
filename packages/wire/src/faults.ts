import { type Logger, type Random, type Runtime, systemRandom, systemRuntime, type TimerHandle } from '@kemu/runtime';
import { WireBadFaultRuleError } from './errors.js';
import { compilePatterns } from './identity.js';

export type FaultDirection = 'in' | 'out' | 'both';

/** Acts on single frames exchanged with the peers matching `peers` (identity globs, default all). */
export interface FrameFaultSpec {
  /**
   * `drop`: discard matching frames. `delay`: deliver them `delayMs` later. `duplicate`: deliver twice.
   * `block`: discard every frame to and from the peer, heartbeats and handshakes included, like a cut
   * cable (no `methods`/`probability`/`direction`).
   */
  action: 'drop' | 'delay' | 'duplicate' | 'block';
  peers?: string[];
  /** Only frames of these methods (globs such as `raft.*`); frames without a method never match. */
  methods?: string[];
  direction?: FaultDirection;
  /** Chance in (0, 1] that a matching frame is affected (default 1), drawn from the injected Random. */
  probability?: number;
  delayMs?: number;
  ttlMs: number;
}

/** Blocks every frame between a process in one set and a peer in the other, both ways. */
export interface PartitionSpec {
  action: 'partition';
  a: string[];
  b: string[];
  ttlMs: number;
}

export type FaultRuleSpec = FrameFaultSpec | PartitionSpec;

export type FaultRule = FaultRuleSpec & {
  id: string;
  /** Wall-clock time (ms since epoch) at which the rule heals. */
  expiresAt: number;
};

export interface FaultDecision {
  readonly drop: boolean;
  readonly duplicate: boolean;
  readonly delayMs: number;
}

export const PASS: FaultDecision = Object.freeze({ drop: false, duplicate: false, delayMs: 0 });
const DROP: FaultDecision = Object.freeze({ drop: true, duplicate: false, delayMs: 0 });

export const MAX_FAULT_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_DELAY_MS = 10 * 60 * 1000;

interface CompiledRule {
  rule: FaultRule;
  /** Whether the rule applies to the link (local, remote). */
  link: (local: string, remote: string) => boolean;
  direction: FaultDirection;
  methods: ((m: string) => boolean) | null;
  probability: number;
  action: FaultRuleSpec['action'];
  delayMs: number;
  timer: TimerHandle;
}

/**
 * The rules that apply to one connection (a local and a remote identity), resolved once per table
 * version so the per-frame check is a short loop over usually zero rules.
 */
export class LinkFaults {
  /** Whether some rule filters by method (the connection then looks the method up for every frame). */
  readonly needsMethod: boolean;

  constructor(
    private readonly rules: readonly CompiledRule[],
    private readonly random: Random,
  ) {
    this.needsMethod = rules.some((r) => r.methods !== null);
  }

  /**
   * What to do with one frame. Stream frames (items, ends, credits, cancels) ride an ordered,
   * exactly-once stream, like the TCP connection under it: only cutting the link (block, partition)
   * and certain delays (probability 1, which keeps order) apply to them; per-frame loss, duplication
   * and random delay apply to requests, responses, notifications and heartbeats.
   */
  decide(direction: 'in' | 'out', method: string | undefined, streamFrame = false): FaultDecision {
    let delayMs = 0;
    let duplicate = false;
    for (const r of this.rules) {
      if (r.direction !== 'both' && r.direction !== direction) continue;
      if (r.methods !== null && (method === undefined || !r.methods(method))) continue;
      if (streamFrame && r.action !== 'block' && r.action !== 'partition') {
        if (r.action !== 'delay' || r.probability < 1) continue;
      }
      if (r.probability < 1 && this.random.next() >= r.probability) continue;
      switch (r.action) {
        case 'block':
        case 'partition':
        case 'drop':
          return DROP;
        case 'delay':
          delayMs = Math.max(delayMs, r.delayMs);
          break;
        case 'duplicate':
          duplicate = true;
          break;
      }
    }
    return delayMs === 0 && !duplicate ? PASS : { drop: false, duplicate, delayMs };
  }
}

export interface FaultTableOptions {
  runtime?: Runtime;
  random?: Random;
  log?: Logger;
}

/**
 * The process's fault table: rules that drop, delay, duplicate or block frames by peer identity, and
 * partitions between identity sets. Every connection of the process consults it by its (local,
 * remote) identities. Every rule expires after its `ttlMs`, so faults always heal, even if whoever
 * installed them is gone.
 */
export class FaultTable {
  private readonly runtime: Runtime;
  private readonly random: Random;
  private readonly log: Logger | undefined;
  private readonly rules = new Map<string, CompiledRule>();
  private seq = 0;
  private currentVersion = 0;

  constructor(opts: FaultTableOptions = {}) {
    this.runtime = opts.runtime ?? systemRuntime;
    this.random = opts.random ?? systemRandom();
    this.log = opts.log;
  }

  /** Changes whenever a rule is added or removed; connections re-resolve their rules when it does. */
  get version(): number {
    return this.currentVersion;
  }

  get size(): number {
    return this.rules.size;
  }

  /** Validates and installs a rule (typically parsed JSON). Throws {@link WireBadFaultRuleError}. */
  add(spec: unknown): FaultRule {
    const parsed = parseFaultRule(spec);
    const id = `f${++this.seq}`;
    const rule = { ...parsed, id, expiresAt: this.runtime.now() + parsed.ttlMs } as FaultRule;
    const timer = this.runtime.setTimeout(() => {
      if (this.rules.delete(id)) {
        this.currentVersion++;
        this.log?.info({ rule: id }, 'fault rule expired; healed');
      }
    }, parsed.ttlMs);
    this.rules.set(id, compile(rule, timer));
    this.currentVersion++;
    this.log?.info({ rule }, 'fault rule installed');
    return rule;
  }

  remove(id: string): boolean {
    const r = this.rules.get(id);
    if (!r) return false;
    r.timer.cancel();
    this.rules.delete(id);
    this.currentVersion++;
    this.log?.info({ rule: id }, 'fault rule removed');
    return true;
  }

  /** Heals everything; returns how many rules were removed. */
  clear(): number {
    const n = this.rules.size;
    for (const r of this.rules.values()) r.timer.cancel();
    this.rules.clear();
    if (n > 0) {
      this.currentVersion++;
      this.log?.info({ removed: n }, 'all fault rules removed');
    }
    return n;
  }

  /** The live rules, each with how long until it heals (by the table's clock). */
  list(): Array<FaultRule & { expiresInMs: number }> {
    const now = this.runtime.now();
    return [...this.rules.values()].map((r) => ({ ...r.rule, expiresInMs: Math.max(0, r.rule.expiresAt - now) }));
  }

  /** The rules that apply between `local` and `remote`, or null when none do (the common case). */
  forLink(local: string, remote: string): LinkFaults | null {
    if (this.rules.size === 0) return null;
    const applicable: CompiledRule[] = [];
    for (const r of this.rules.values()) if (r.link(local, remote)) applicable.push(r);
    return applicable.length === 0 ? null : new LinkFaults(applicable, this.random);
  }
}

function compile(rule: FaultRule, timer: TimerHandle): CompiledRule {
  if (rule.action === 'partition') {
    const inA = compilePatterns(rule.a);
    const inB = compilePatterns(rule.b);
    return {
      rule,
      link: (local, remote) => (inA(local) && inB(remote)) || (inB(local) && inA(remote)),
      direction: 'both',
      methods: null,
      probability: 1,
      action: 'partition',
      delayMs: 0,
      timer,
    };
  }
  const peers = compilePatterns(rule.peers ?? ['*']);
  return {
    rule,
    link: (_local, remote) => peers(remote),
    direction: rule.direction ?? 'both',
    methods: rule.methods ? compilePatterns(rule.methods) : null,
    probability: rule.probability ?? 1,
    action: rule.action,
    delayMs: rule.delayMs ?? 0,
    timer,
  };
}

const FRAME_ACTIONS = ['drop', 'delay', 'duplicate', 'block'];
const FRAME_KEYS = new Set(['action', 'peers', 'methods', 'direction', 'probability', 'delayMs', 'ttlMs']);
const PARTITION_KEYS = new Set(['action', 'a', 'b', 'ttlMs']);

function bad(message: string): never {
  throw new WireBadFaultRuleError(message);
}

function patternList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0) bad(`${field} must be a non-empty array of strings`);
  for (const p of v) {
    if (typeof p !== 'string' || p.length === 0 || p.length > 256) {
      bad(`${field} entries must be non-empty strings (identity or method globs, '*' matches anything)`);
    }
  }
  return [...(v as string[])];
}

/** Validates a rule given as untrusted JSON and returns a clean copy. */
export function parseFaultRule(v: unknown): FaultRuleSpec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('a fault rule must be a JSON object');
  const o = v as Record<string, unknown>;
  const ttl = o.ttlMs;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_FAULT_TTL_MS) {
    bad(`ttlMs is required: an integer in 1..${MAX_FAULT_TTL_MS} (every fault must heal)`);
  }
  if (o.action === 'partition') {
    for (const k of Object.keys(o)) if (!PARTITION_KEYS.has(k)) bad(`unknown field ${JSON.stringify(k)} in partition`);
    return { action: 'partition', a: patternList(o.a, 'a'), b: patternList(o.b, 'b'), ttlMs: ttl };
  }
  if (typeof o.action !== 'string' || !FRAME_ACTIONS.includes(o.action)) {
    bad(`action must be one of ${[...FRAME_ACTIONS, 'partition'].join(', ')}`);
  }
  for (const k of Object.keys(o)) if (!FRAME_KEYS.has(k)) bad(`unknown field ${JSON.stringify(k)} in ${o.action} rule`);
  const action = o.action as FrameFaultSpec['action'];
  const out: FrameFaultSpec = { action, ttlMs: ttl };
  if (o.peers !== undefined) out.peers = patternList(o.peers, 'peers');
  if (action === 'block') {
    if (o.methods !== undefined || o.probability !== undefined || o.direction !== undefined) {
      bad('block takes only peers and ttlMs (it cuts all traffic both ways); use drop for selective loss');
    }
    if (o.delayMs !== undefined) bad('delayMs only applies to delay rules');
    return out;
  }
  if (o.methods !== undefined) out.methods = patternList(o.methods, 'methods');
  if (o.direction !== undefined) {
    if (o.direction !== 'in' && o.direction !== 'out' && o.direction !== 'both')
      bad('direction must be in, out or both');
    out.direction = o.direction;
  }
  if (o.probability !== undefined) {
    const p = o.probability;
    if (typeof p !== 'number' || !(p > 0 && p <= 1)) bad('probability must be a number in (0, 1]');
    out.probability = p;
  }
  if (action === 'delay') {
    const d = o.delayMs;
    if (typeof d !== 'number' || !Number.isInteger(d) || d <= 0 || d > MAX_DELAY_MS) {
      bad(`delay rules need delayMs: an integer in 1..${MAX_DELAY_MS}`);
    }
    out.delayMs = d;
  } else if (o.delayMs !== undefined) {
    bad('delayMs only applies to delay rules');
  }
  return out;
}
