import { isKemuError } from '@kemu/runtime';
import { Command, CommanderError } from 'commander';

type SetCode = (code: number) => void;
/** Adds one or more subcommands to `kemu`; each action reports its exit code through `setCode`. */
export type CommandRegistrar = (program: Command, setCode: SetCode) => void;

function clusterFlags(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'state directory (pid files, logs, etcd data, kubeconfig; default .kemu)')
    .option('--config <file>', 'cluster YAML (keys: stateDir, etcd, portBase, apiservers, nodes, runtime, profile)')
    .option('--etcd <n>', 'etcd members: 1, 3 or 5 (default 3)')
    .option('--port-base <port>', 'first port of the 200-port block this cluster uses (default 2379)')
    .option('--apiservers <n>', 'kube-apiserver replicas (default 1)')
    .option('--nodes <n>', 'worker nodes (default 3)')
    .option('--runtime <kind>', 'container runtime: process | sim (default process)')
    .option('--profile <p>', 'timing profile: fast | real (default fast)');
}

// Each action imports its module when it runs: the long-lived detached supervisor (`up --supervise`)
// then holds only what `up` needs.
const registerClusterCommands: CommandRegistrar = (program, setCode) => {
  clusterFlags(program.command('up').description('start the cluster and supervise it'))
    .option('--detach', 'return once every node is Ready, leaving a detached supervisor running')
    .option('--ready-timeout <ms>', 'how long to wait for each step (default 60000)')
    .addOption(new Command().createOption('--supervise', 'internal: run as the detached supervisor').hideHelp())
    .action(async (opts) => setCode(await (await import('./up.js')).upCommand(opts)));
  clusterFlags(program.command('down').description('stop the supervisor and every component (data is kept)')).action(
    async (opts) => setCode(await (await import('./down.js')).downCommand(opts)),
  );
  clusterFlags(program.command('status').description('every component, the etcd leader, node readiness'))
    .option('-o, --output <format>', 'table | json', 'table')
    .action(async (opts) => setCode(await (await import('./status.js')).statusCommand(opts)));
};

/**
 * Every `kemu` subcommand except the component entry points (`etcd`, `etcdctl`, `apiserver`, which
 * bin.ts runs directly). Add a command family by adding a loader of its registrar here. Loaded
 * lazily: the long-lived detached supervisor (`up --supervise`) loads only the cluster commands (the
 * drills alone would add ~37 MiB to its RSS).
 */
export const COMMANDS: Array<() => Promise<CommandRegistrar>> = [
  async () => registerClusterCommands,
  async () => (await import('./chaos-commands.js')).registerChaosCommands,
  async () => (await import('./drills/command.js')).registerDrillCommand,
];

/** Runs one `kemu …` command line; returns the exit code (2 for usage errors, 1 for failures). */
export async function clusterMain(argv: string[]): Promise<number> {
  let code = 0;
  const setCode = (c: number): void => {
    code = c;
  };
  const program = new Command('kemu')
    .exitOverride()
    .showHelpAfterError()
    .description('a Kubernetes cluster emulator made of real processes');
  const supervisor = argv[0] === 'up' && argv.includes('--supervise');
  for (const load of supervisor ? COMMANDS.slice(0, 1) : COMMANDS) (await load())(program, setCode);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    // Our own errors are for people: the message as real tools print it, not a stack.
    if (isKemuError(err)) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.code === 'KEMU_BAD_TOPOLOGY' || err.code === 'KEMU_BAD_DURATION' ? 2 : 1;
    }
    throw err;
  }
  return code;
}
