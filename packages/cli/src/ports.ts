import net from 'node:net';
import { KemuError } from '@kemu/runtime';
import type { ClusterPlan } from './topology.js';

export class PortInUseError extends KemuError {
  constructor(message: string) {
    super('KEMU_PORT_IN_USE', message);
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * Refuses to start when a port of the cluster's block is taken (by another cluster on the same
 * --port-base, typically): otherwise `up` would find *that* cluster's etcd leader and apiserver and
 * report success while its own members crash-loop on EADDRINUSE.
 */
export async function assertPortsFree(plan: ClusterPlan): Promise<void> {
  const wanted = plan.components
    .filter((c) => c.available)
    .flatMap((c) => Object.entries(c.ports).map(([what, port]) => ({ who: `${c.name} ${what}`, port })));
  const taken: string[] = [];
  await Promise.all(
    wanted.map(async (w) => {
      if (!(await canListen(w.port, '127.0.0.1'))) taken.push(`${w.port} (${w.who})`);
    }),
  );
  if (taken.length > 0) {
    taken.sort();
    throw new PortInUseError(
      `port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} already in use on 127.0.0.1 (another cluster on --port-base ${plan.spec.portBase}?); choose another --port-base`,
    );
  }
}
