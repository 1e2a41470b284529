#!/usr/bin/env node
// `node packages/apiserver/dist/src/main.js --etcd-servers ws://…,… --port 6443 …` (also `kemu apiserver …`).
import { apiserverMain } from './cli.js';

apiserverMain(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`kube-apiserver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
