/**
 * `kemu drill list` and `kemu drill run NAME [--state-dir DIR] [--report-dir DIR]`: runs a drill
 * against the cluster `kemu up --detach` keeps in the state dir, narrating live, and writes the
 * report. Exit code 0 on PASS, 1 on FAIL, 2 on bad usage, 3 when the cluster cannot run the drill.
 */
import path from 'node:path';
import { systemRuntime } from '@kemu/runtime';
import type { CommandRegistrar } from '../commands.js';
import { DRILLS, findDrill } from './catalog.js';
import { DrillCluster } from './cluster.js';
import { DrillUnavailableError, runDrill, UnknownDrillError } from './framework.js';
import { startDefaultObservers } from './observers.js';
import { writeReport } from './report.js';
import { formatEntry } from './timeline.js';

export interface DrillRunFlags {
  stateDir?: string;
  reportDir?: string;
}

export function listDrills(out: NodeJS.WritableStream): void {
  const width = Math.max(...DRILLS.map((d) => d.name.length));
  for (const d of DRILLS) out.write(`${d.name.padEnd(width)}  ${d.title}\n`);
}

export async function runDrillCommand(
  name: string,
  flags: DrillRunFlags,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const drill = findDrill(name);
  const cluster = new DrillCluster(path.resolve(flags.stateDir ?? '.kemu'));
  // Ctrl-C mid-drill must not leave the cluster broken: undo whatever the drill has injected so far.
  const onInterrupt = (sig: NodeJS.Signals): void => {
    out.write(`\n${sig}: undoing the drill's faults before exiting\n`);
    void cluster.faults
      .undoAll()
      .then(
        (undone) => undone.map((o) => `restored ${o.component}: ${o.detail}\n`).join(''),
        (err: unknown) => `could not undo everything: ${err instanceof Error ? err.message : String(err)}\n`,
      )
      // A pipe is written asynchronously: exit only once the last line is out.
      .then((text) => out.write(text, () => process.exit(130)));
  };
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    drill.preflight?.(cluster);
    out.write(`kemu drill ${drill.name}: ${drill.title}\n${drill.description}\n\n`);
    const report = await runDrill(drill, {
      cluster,
      clock: systemRuntime,
      onEntry: (e) => out.write(`${formatEntry(e)}\n`),
      startObservers: (timeline) => startDefaultObservers(cluster, timeline),
      describeCluster: cluster.describe(),
    });
    const dir = path.resolve(flags.reportDir ?? path.join(cluster.state.root, 'drills'));
    const files = writeReport(report, dir);
    out.write(`\n${report.result}: ${drill.name} (${(report.durationMs / 1000).toFixed(1)} s)\n`);
    if (report.error) out.write(`error: ${report.error}\n`);
    out.write(`report: ${files.html}\n        ${files.json}\n`);
    return report.result === 'PASS' ? 0 : 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    await cluster.close();
  }
}

/**
 * `kemu drill list|run`, registered in commands.ts. Usage errors exit 2, a cluster that cannot run
 * the drill exits 3, a failing drill 1.
 */
export const registerDrillCommand: CommandRegistrar = (program, setCode) => {
  const drill = program
    .command('drill')
    .description('failure drills: break a running cluster on purpose and watch it heal');
  drill
    .command('list')
    .description('the drills, one line each')
    .action(() => listDrills(process.stdout));
  drill
    .command('run <name>')
    .description('run a drill against the cluster in the state dir (started with kemu up --detach)')
    .option('--state-dir <dir>', 'the cluster state directory', '.kemu')
    .option('--report-dir <dir>', 'where the JSON and HTML report go (default <state-dir>/drills)')
    .action(async (name: string, opts: DrillRunFlags) => {
      try {
        setCode(await runDrillCommand(name, opts));
      } catch (err) {
        if (err instanceof UnknownDrillError) {
          process.stderr.write(`error: ${err.message}\n`);
          setCode(2);
        } else if (err instanceof DrillUnavailableError) {
          process.stderr.write(`error: ${err.message}\n`);
          setCode(3);
        } else {
          throw err;
        }
      }
    });
};
