#!/usr/bin/env node
import { PLANTED_BUG_NAMES, type PlantedBugName, plantBug } from '../testing/planted-bugs.js';
import { defaultMembersForSeed, replayCommand, runSeed, type SimProfile, type SimResult } from './simulation.js';

interface CliArgs {
  seeds: number;
  seedStart: number;
  members: number | null;
  steps: number | undefined;
  trace: boolean;
  bugs: PlantedBugName[];
  profile: SimProfile;
}

class UsageError extends Error {}

const TRACE_TAIL = 60;

const USAGE =
  'usage: raft-sim --seeds N [--seed-start S] [--members 3|5] [--steps K] [--profile mixed|leader-churn] [--trace] [--plant-bug NAME]\n' +
  `  planted bugs (for demonstrating the checkers): ${PLANTED_BUG_NAMES.join(', ')}`;

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = {
    seeds: 100,
    seedStart: 1,
    members: null,
    steps: undefined,
    trace: false,
    bugs: [],
    profile: 'mixed',
  };
  const int = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) throw new UsageError(`${name} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--seeds':
        args.seeds = int(a, argv[++i]);
        break;
      case '--seed-start':
        args.seedStart = int(a, argv[++i]);
        break;
      case '--members': {
        const n = int(a, argv[++i]);
        if (n !== 3 && n !== 5) throw new UsageError('--members must be 3 or 5');
        args.members = n;
        break;
      }
      case '--steps':
        args.steps = int(a, argv[++i]);
        break;
      case '--profile': {
        const p = argv[++i];
        if (p !== 'mixed' && p !== 'leader-churn') throw new UsageError('--profile must be mixed or leader-churn');
        args.profile = p;
        break;
      }
      case '--trace':
        args.trace = true;
        break;
      case '--plant-bug': {
        const b = argv[++i] as PlantedBugName;
        if (!PLANTED_BUG_NAMES.includes(b)) throw new UsageError(`unknown bug ${String(b)}`);
        args.bugs.push(b);
        break;
      }
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument ${String(a)}`);
    }
  }
  return args;
}

function main(): number {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  for (const b of args.bugs) plantBug(b);
  const started = Date.now();
  const failures: SimResult[] = [];
  for (let seed = args.seedStart; seed < args.seedStart + args.seeds; seed++) {
    const members = args.members ?? defaultMembersForSeed(seed);
    const result = runSeed({
      seed,
      members,
      steps: args.steps,
      profile: args.profile,
      trace: args.trace ? (line) => console.log(line) : undefined,
    });
    if (result.violation !== null) {
      failures.push(result);
      const v = result.violation;
      console.log(`seed ${seed} (${members} members): ${v.kind} at step ${v.step}: ${v.message}`);
      console.log(
        `  replay: ${replayCommand(seed, members, { steps: args.steps, bugs: args.bugs, profile: args.profile })}`,
      );
      if (!args.trace) {
        // Runs are deterministic: replay the seed with tracing on and show the events leading up to it.
        const tail: string[] = [];
        runSeed({
          seed,
          members,
          steps: args.steps,
          profile: args.profile,
          trace: (line) => {
            tail.push(line);
            if (tail.length > TRACE_TAIL) tail.shift();
          },
        });
        console.log(`  last ${tail.length} events:`);
        for (const line of tail) console.log(`    ${line}`);
      }
    }
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`# ${secs}s`);
  console.log(`seeds: ${args.seeds}, violations: ${failures.length}`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = main();
