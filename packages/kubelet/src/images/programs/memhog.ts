/** Test image: grows its resident memory by `--mb` MiB (in 8 MiB steps), then holds it. */
import { flag } from './env.js';

const target = Number(flag(argv(), 'mb') ?? 256);
const held: Buffer[] = [];

function argv(): string[] {
  return process.argv.slice(2);
}

const timer = setInterval(() => {
  if (held.length * 8 >= target) {
    process.stdout.write(`memhog: holding ${held.length * 8} MiB\n`);
    clearInterval(timer);
    setInterval(() => {}, 1 << 30);
    return;
  }
  // allocUnsafe + fill touches every page, so the memory is resident (a zeroed alloc may not be).
  held.push(Buffer.allocUnsafe(8 << 20).fill(held.length + 1));
  process.stdout.write(`memhog: ${held.length * 8} MiB\n`);
}, 10);
