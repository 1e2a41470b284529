#!/usr/bin/env node
// The `kemu` command: a thin dispatcher. `etcd`, `etcdctl` and `apiserver` run a component or tool;
// `up`/`down`/`status` run the launcher (commands.ts); commands not built yet say so plainly.
const [command, ...rest] = process.argv.slice(2);

async function main(): Promise<number> {
  if (command === 'etcd') {
    const { memberMain } = await import('@kemu/etcd/member/process');
    return memberMain(rest);
  }
  if (command === 'apiserver') {
    const mod = await import('@kemu/apiserver/cli');
    const code = await mod.apiserverMain(rest);
    // Serving: the process stays up until a signal (ShutdownHooks exits).
    if (code === 0) return new Promise<number>(() => {});
    return code;
  }
  if (command === 'etcdctl') {
    const { etcdctlMain } = await import('@kemu/etcd/etcdctl/cli');
    return etcdctlMain(rest);
  }
  if (command === 'up' || command === 'down' || command === 'status' || command === 'drill') {
    const { clusterMain } = await import('./commands.js');
    return clusterMain([command, ...rest]);
  }
  process.stderr.write(
    `kemu: '${command ?? ''}' is not available yet. This build has up, down, status, etcd, etcdctl and ` +
      'apiserver; the scheduler, controllers, nodes, chaos commands and drills are still being built.\n',
  );
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kemu: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
