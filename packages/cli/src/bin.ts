#!/usr/bin/env node
// The `kemu` command: a thin dispatcher. `etcd`, `etcdctl` and `apiserver` run a component or tool
// directly; everything else (up, down, status, the chaos verbs, …) is a commander program (commands.ts).
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
  const { clusterMain } = await import('./commands.js');
  return clusterMain(command === undefined ? ['--help'] : [command, ...rest]);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kemu: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
