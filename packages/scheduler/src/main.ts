#!/usr/bin/env node
// `node packages/scheduler/dist/src/main.js --apiserver ws://127.0.0.1:PORT --name kube-scheduler-0 …`
import { schedulerMain } from './cli.js';

schedulerMain(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`kube-scheduler: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
