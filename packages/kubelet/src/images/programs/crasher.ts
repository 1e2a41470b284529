/** Test image: prints a line and exits with `--exit-code` after `--after-ms`. */
import { flag } from './env.js';

const argv = process.argv.slice(2);
const code = Number(flag(argv, 'exit-code') ?? 1);
const after = Number(flag(argv, 'after-ms') ?? 100);
process.stdout.write(`crasher: exiting with ${code} in ${after}ms\n`);
setTimeout(() => process.exit(code), after);
