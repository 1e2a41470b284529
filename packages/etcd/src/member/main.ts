#!/usr/bin/env node
// `node packages/etcd/dist/src/member/main.js --name … --data-dir … --listen … --peers …`
import { memberMain } from './process.js';

memberMain(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kemu etcd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
