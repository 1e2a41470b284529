#!/usr/bin/env node
// `node packages/etcd/dist/src/etcdctl/main.js [--endpoints …] COMMAND …`
import { etcdctlMain } from './cli.js';

etcdctlMain(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
