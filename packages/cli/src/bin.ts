#!/usr/bin/env node
// The `kemu` command. `kemu etcd …` runs an etcd member and `kemu etcdctl …` the etcd CLI; the other
// `up`/`down`/`status` run the launcher (commands.ts); the rest arrive later and say so plainly.
const [command, ...rest] = process.argv.slice(2);

async function main(): Promise<number> {
  if (command === 'etcd') {
    const { enableExplicitGc } = await import('@kemu/etcd/member/gc');
    const { memberMain } = await import('@kemu/etcd/member/process');
    enableExplicitGc();
    return memberMain(rest);
  }
  if (command === 'etcdctl') {
    const { etcdctlMain } = await import('@kemu/etcd/etcdctl/cli');
    return etcdctlMain(rest);
  }
  if (command === 'up' || command === 'down' || command === 'status') {
    const { clusterMain } = await import('./commands.js');
    return clusterMain([command, ...rest]);
  }
  process.stderr.write(
    `kemu: '${command ?? ''}' is not available yet: this build has the foundation, the wire, Raft and etcd; ` +
      'the apiserver and launcher are still being built (see the issues).\n',
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
