import fs from 'node:fs';

export interface PrivilegedPortPolicy {
  allowed: boolean;
  /** The lowest port an unprivileged process may bind. */
  unprivilegedPortStart: number;
  reason: string;
}

const CAP_NET_BIND_SERVICE = 10n;

/** Pure decision, so it can be tested for every combination. */
export function privilegedPortPolicy(input: {
  uid: number;
  capEffHex: string | null;
  unprivilegedPortStart: number | null;
}): PrivilegedPortPolicy {
  const start = input.unprivilegedPortStart ?? 1024;
  if (input.uid === 0) return { allowed: true, unprivilegedPortStart: start, reason: 'running as root' };
  let caps = 0n;
  try {
    caps = input.capEffHex ? BigInt(`0x${input.capEffHex}`) : 0n;
  } catch {
    caps = 0n;
  }
  if ((caps >> CAP_NET_BIND_SERVICE) & 1n) {
    return { allowed: true, unprivilegedPortStart: start, reason: 'CAP_NET_BIND_SERVICE' };
  }
  if (start <= 1) {
    return { allowed: true, unprivilegedPortStart: start, reason: 'net.ipv4.ip_unprivileged_port_start=0' };
  }
  return {
    allowed: false,
    unprivilegedPortStart: start,
    reason:
      `containers cannot listen on ports below ${start}: kemu runs as uid ${input.uid} without ` +
      `CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start=${start}); run as root, ` +
      `grant the capability to node (setcap cap_net_bind_service=+ep "$(command -v node)") ` +
      `or lower the sysctl (sysctl net.ipv4.ip_unprivileged_port_start=0)`,
  };
}

/** Looks at this process's uid, effective capabilities and the sysctl. */
export function detectPrivilegedPortPolicy(): PrivilegedPortPolicy {
  let capEffHex: string | null = null;
  let start: number | null = null;
  try {
    capEffHex = /CapEff:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null;
  } catch {
    capEffHex = null;
  }
  try {
    start = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    start = null; // not Linux, or an old kernel: the classic 1024 applies
  }
  return privilegedPortPolicy({ uid: process.getuid?.() ?? -1, capEffHex, unprivilegedPortStart: start });
}
