import type { Command } from 'commander';
import { componentAction, heal, parseDuration, partition, runtimeAction } from './chaos.js';
import { CHAOS_ACTIONS, type ChaosAction } from './supervisor.js';
import { loadSpec } from './up.js';

type SetCode = (code: number) => void;

const ACTION_HELP: Record<ChaosAction, string> = {
  kill: 'SIGKILL a component; the supervisor restarts it like a crashed static pod',
  stop: 'stop a component on purpose (SIGTERM); it stays down until `kemu start`',
  start: 'start a stopped component',
  restart: 'stop, then start a component',
  pause: 'freeze a component (SIGSTOP): alive, but answers nothing',
  resume: 'unfreeze a paused component (SIGCONT)',
};

const DONE: Record<ChaosAction, string> = {
  kill: 'killed',
  stop: 'stopped',
  start: 'started',
  restart: 'restarted',
  pause: 'paused',
  resume: 'resumed',
};

const stateDirOf = (opts: { stateDir?: string }): string => loadSpec({ stateDir: opts.stateDir }).stateDir;

const splitNames = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/** `kemu kill|stop|start|restart|pause|resume NAME`, `partition`, `heal`, `runtime stop|start NODE`. */
export function registerChaosCommands(program: Command, setCode: SetCode): void {
  program.addHelpText(
    'after',
    '\nComponent names: etcd-0…, etcd-leader, kube-apiserver, kube-scheduler, kube-controller-manager, cluster-dns,\n' +
      'kubelet-<node>, kube-proxy-<node> (nodes: control-plane, worker-1…; `kemu status` lists them).',
  );
  for (const action of CHAOS_ACTIONS) {
    program
      .command(`${action} <name>`)
      .description(ACTION_HELP[action])
      .option('--state-dir <dir>', 'state directory of the cluster (default .kemu)')
      .action(async (name: string, opts: { stateDir?: string }) => {
        const r = await componentAction(stateDirOf(opts), action, name);
        const target = r.component === name ? name : `${name} (${r.component})`;
        process.stdout.write(`${DONE[action]} ${target}${r.pid ? ` (pid ${r.pid})` : ''}; state ${r.state}\n`);
        setCode(0);
      });
  }
  program
    .command('partition <names>')
    .description('cut the wire between components: kemu partition etcd-0 --from etcd-1,etcd-2 [--for 30s]')
    .requiredOption('--from <names>', 'the other side, comma-separated')
    .option('--for <duration>', 'heal by itself after this long (500ms, 30s, 2m); default: until `kemu heal`')
    .option('--state-dir <dir>', 'state directory of the cluster (default .kemu)')
    .action(async (names: string, opts: { from: string; for?: string; stateDir?: string }) => {
      const forMs = opts.for !== undefined ? parseDuration(opts.for) : undefined;
      const results = await partition(stateDirOf(opts), splitNames(names), splitNames(opts.from), forMs);
      for (const r of results) process.stdout.write(`${r.ok ? 'partitioned' : 'FAILED'} ${r.component}: ${r.detail}\n`);
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) {
        process.stderr.write(`error: the rule is missing in ${failed.map((r) => r.component).join(', ')}\n`);
        setCode(1);
        return;
      }
      process.stdout.write(`partition ${names} | ${opts.from}${forMs ? ` for ${opts.for}` : " until 'kemu heal'"}\n`);
      setCode(0);
    });
  program
    .command('heal')
    .description('remove every wire fault (partitions) from every component')
    .option('--state-dir <dir>', 'state directory of the cluster (default .kemu)')
    .action(async (opts: { stateDir?: string }) => {
      const results = await heal(stateDirOf(opts));
      let removed = 0;
      for (const r of results) {
        const m = /^removed (\d+)$/.exec(r.detail);
        if (m) removed += Number(m[1]);
      }
      const down = results.filter((r) => !r.ok).map((r) => r.component);
      process.stdout.write(
        `healed: removed ${removed} fault rule(s)${down.length ? `; not reachable (not running?): ${down.join(', ')}` : ''}\n`,
      );
      setCode(0);
    });
  const runtime = program.command('runtime').description("switch a node's container runtime off and on");
  for (const action of ['stop', 'start'] as const) {
    runtime
      .command(`${action} <node>`)
      .description(action === 'stop' ? 'the node keeps its kubelet but cannot run containers' : 'turn it back on')
      .option('--state-dir <dir>', 'state directory of the cluster (default .kemu)')
      .action(async (node: string, opts: { stateDir?: string }) => {
        const r = await runtimeAction(stateDirOf(opts), action, node);
        process.stdout.write(`runtime ${action === 'stop' ? 'stopped' : 'started'} on node ${r.node} (${r.kubelet})\n`);
        setCode(0);
      });
  }
}
