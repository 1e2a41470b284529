#!/usr/bin/env node
// `node packages/proxy/dist/src/main.js --apiserver ws://… --node-name worker-1 --node-ip 127.64.0.2 …`
import { proxyMain } from './proxy-cli.js';

proxyMain(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`kube-proxy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
