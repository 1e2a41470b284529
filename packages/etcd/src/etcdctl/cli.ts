import { wireConnectionFactory } from '../client/wire-transport.js';
import { runEtcdctl } from './run.js';

/** etcdctl against real members: wire transport, stdout/stderr, Ctrl-C ends a watch. */
export function etcdctlMain(argv: readonly string[]): Promise<number> {
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  return runEtcdctl(argv, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    connect: wireConnectionFactory({ identity: `etcdctl/${process.pid}` }),
    interrupted,
  });
}
