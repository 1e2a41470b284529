#!/usr/bin/env node
// `node packages/proxy/dist/src/dns-main.js --apiserver ws://… --listen 127.0.0.1:PORT …`
import { dnsMain } from './dns-cli.js';

dnsMain(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`cluster-dns: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
