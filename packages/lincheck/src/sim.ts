/**
 * Generators of histories that are linearizable by construction: each operation takes effect
 * atomically at a random instant between its call and its return, against a real sequential object.
 * They exist to test checkers (this one included) and to benchmark them.
 */
import { type Operation, UNKNOWN } from './history.js';
import type { KvCompare, KvInput, KvOutput } from './models/kv.js';
import type { RegisterInput, RegisterOutput } from './models/register.js';

/** mulberry32: a tiny seeded generator, so a failing seed reproduces. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulationOptions {
  seed: number;
  clients: number;
  opsPerClient: number;
  /** Chance that an operation's outcome is lost (it then takes effect, or not, with equal odds). */
  unknownRate?: number;
  /** Longest an operation takes from call to return. Default 10. */
  maxLatency?: number;
  /** Longest pause between a client's operations. Default 3. */
  maxThinkTime?: number;
}

interface Planned<I> {
  op: Operation<I, unknown>;
  /** When it takes effect; undefined if it never does. */
  at: number | undefined;
  outcomeLost: boolean;
}

/**
 * The generic simulation: `nextInput` picks each client's next request, `apply` executes one on the
 * sequential object and gives its output. Returns the history in call order.
 */
export function simulate<S, I, O>(
  options: SimulationOptions,
  init: S,
  nextInput: (random: () => number, sequence: number) => I,
  apply: (state: S, input: I) => { state: S; output: O; input?: I },
): Operation<I, O>[] {
  const random = seededRandom(options.seed);
  const maxLatency = options.maxLatency ?? 10;
  const maxThink = options.maxThinkTime ?? 3;
  const planned: Planned<I>[] = [];
  let sequence = 0;
  for (let c = 0; c < options.clients; c++) {
    let t = random() * maxThink;
    for (let i = 0; i < options.opsPerClient; i++) {
      const call = t;
      const ret = call + random() * maxLatency;
      const outcomeLost = random() < (options.unknownRate ?? 0);
      // A lost request may still be applied after the client gave up on it (it sat in a queue).
      const at = outcomeLost
        ? random() < 0.5
          ? call + random() * maxLatency * 3
          : undefined
        : call + random() * (ret - call);
      const op: Operation<I, unknown> = {
        clientId: `c${c}`,
        input: nextInput(random, sequence++),
        output: UNKNOWN,
        call,
        return: ret,
      };
      planned.push({ op, at, outcomeLost });
      t = ret + random() * maxThink;
    }
  }
  let state = init;
  const applied = planned.filter((p) => p.at !== undefined).sort((a, b) => a.at! - b.at!);
  for (const p of applied) {
    const result = apply(state, p.op.input);
    state = result.state;
    if (result.input !== undefined) p.op.input = result.input;
    if (!p.outcomeLost) p.op.output = result.output;
  }
  for (const p of planned) if (p.outcomeLost) p.op.return = Number.POSITIVE_INFINITY;
  return planned.map((p) => p.op as Operation<I, O>).sort((a, b) => a.call - b.call);
}

/** A register of numbers starting at 0; every write writes a value never written before. */
export function simulateRegister(
  options: SimulationOptions & { readRatio?: number },
): Operation<RegisterInput<number>, RegisterOutput<number>>[] {
  const readRatio = options.readRatio ?? 0.5;
  return simulate<number, RegisterInput<number>, RegisterOutput<number>>(
    options,
    0,
    (random, seq) => (random() < readRatio ? { type: 'read' } : { type: 'write', value: seq + 1 }),
    (state, input) =>
      input.type === 'read' ? { state, output: { value: state } } : { state: input.value, output: { ok: true } },
  );
}

interface SimKv {
  keys: Map<string, { value: string; modRevision: number }>;
  revision: number;
}

/**
 * An etcd-like store over `keys` keys: gets, puts of unique values, deletes, and txns (CAS on value
 * or mod_revision), with etcd's revision numbering (one counter for the whole store).
 */
export function simulateKv(options: SimulationOptions & { keys: number }): Operation<KvInput, KvOutput>[] {
  // The sequential object is mutated in place: `apply` runs once per operation, in effect order.
  const store: SimKv = { keys: new Map(), revision: 0 };
  const aim = seededRandom(options.seed ^ 0x5bd1e995);
  return simulate<SimKv, KvInput, KvOutput>(
    options,
    store,
    (random, seq) => {
      const key = `k${Math.floor(random() * options.keys)}`;
      const r = random();
      if (r < 0.4) return { type: 'get', key };
      if (r < 0.7) return { type: 'put', key, value: `v${seq}` };
      if (r < 0.8) return { type: 'delete', key };
      const compare: KvCompare =
        random() < 0.5 ? { target: 'value', value: null } : { target: 'mod_revision', modRevision: 0 };
      return { type: 'txn', key, compare, onSuccess: { type: 'put', value: `v${seq}` }, onFailure: { type: 'get' } };
    },
    (s, input) => {
      let effective = input;
      // Most CASes should succeed, so aim them at the state they meet when they take effect: the
      // client is free to have sent any compare, and this one is as legitimate as the placeholder.
      if (input.type === 'txn' && aim() < 0.7) {
        const current = s.keys.get(input.key);
        const compare: KvCompare =
          input.compare.target === 'value'
            ? { target: 'value', value: current?.value ?? null }
            : { target: 'mod_revision', modRevision: current?.modRevision ?? 0 };
        effective = { ...input, compare };
      }
      return { state: s, output: applyKv(s, input.key, effective), input: effective };
    },
  );
}

function applyKv(
  s: SimKv,
  key: string,
  input: KvInput | { type: 'get' | 'delete' } | { type: 'put'; value: string },
): KvOutput {
  const current = s.keys.get(key);
  switch (input.type) {
    case 'get':
      return current
        ? { value: current.value, modRevision: current.modRevision, revision: s.revision }
        : { value: null, revision: s.revision };
    case 'put':
      s.revision++;
      s.keys.set(key, { value: input.value, modRevision: s.revision });
      return { revision: s.revision };
    case 'delete':
      if (!current) return { deleted: 0, revision: s.revision };
      s.revision++;
      s.keys.delete(key);
      return { deleted: 1, revision: s.revision };
    case 'txn': {
      const holds =
        input.compare.target === 'value'
          ? (current?.value ?? null) === input.compare.value
          : (current?.modRevision ?? 0) === input.compare.modRevision;
      const branch = holds ? input.onSuccess : input.onFailure;
      const result = branch ? applyKv(s, key, branch) : { revision: s.revision };
      return { ...result, succeeded: holds };
    }
  }
}
