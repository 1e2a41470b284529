import { isKemuError } from '@kemu/runtime';
import { Command, CommanderError } from 'commander';
import { downCommand } from './down.js';
import { statusCommand } from './status.js';
import { upCommand } from './up.js';

function clusterFlags(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'state directory (pid files, logs, etcd data, kubeconfig)', undefined)
    .option('--config <file>', 'cluster YAML (keys: stateDir, etcd, portBase, apiservers, nodes, runtime, profile)')
    .option('--etcd <n>', 'etcd members: 1, 3 or 5 (default 3)')
    .option('--port-base <port>', 'first port of the 50-port block this cluster uses (default 2379)')
    .option('--apiservers <n>', 'kube-apiserver replicas (default 1)')
    .option('--nodes <n>', 'worker nodes (default 3)')
    .option('--runtime <kind>', 'container runtime: process | sim (default process)')
    .option('--profile <p>', 'timing profile: fast | real (default fast)');
}

/** `kemu up|down|status …`; returns the exit code (2 for usage errors, as the other commands). */
export async function clusterMain(argv: string[]): Promise<number> {
  if (argv[0] === 'drill') {
    const { drillMain } = await import('./drills/command.js');
    return drillMain(argv.slice(1));
  }
  let code = 0;
  const program = new Command('kemu').exitOverride().showHelpAfterError();
  clusterFlags(program.command('up').description('start the cluster and supervise it'))
    .option('--detach', 'return once ready, leaving a detached supervisor running')
    .option('--ready-timeout <ms>', 'how long to wait for each step (default 60000)')
    .addOption(new Command().createOption('--supervise', 'internal: run as the detached supervisor').hideHelp())
    .action(async (opts) => {
      code = await upCommand(opts);
    });
  clusterFlags(program.command('down').description('stop the supervisor and every component (data is kept)')).action(
    async (opts) => {
      code = await downCommand(opts);
    },
  );
  clusterFlags(program.command('status').description('show every component and the etcd leader'))
    .option('-o, --output <format>', 'table | json', 'table')
    .action(async (opts) => {
      code = await statusCommand(opts);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    // Our own errors are for people: the message, not a stack. Bad topology input is a usage error.
    if (isKemuError(err)) {
      process.stderr.write(`kemu: ${err.message} (${err.code})\n`);
      return err.code === 'KEMU_BAD_TOPOLOGY' ? 2 : 1;
    }
    throw err;
  }
  return code;
}
