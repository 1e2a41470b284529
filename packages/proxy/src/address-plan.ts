// Where a kemu cluster's addresses live on one host (all inside 127.0.0.0/8, which Linux routes to
// lo). One rule, derived from the CLI's --port-base, so two clusters side by side never share a
// ClusterIP, a node IP or a pod IP. README "Addresses" explains the choice.
import { AddressPlanError } from './errors.js';
import { Ipv4Cidr, LOOPBACK, parseIPv4 } from './ipv4.js';

/** The CLI's default --port-base; slot 0 belongs to it. */
export const DEFAULT_PORT_BASE = 2379;
/** The CLI's port block per cluster (packages/cli/src/topology.ts PORT_BLOCK). */
export const PORT_BLOCK = 200;
/** How many clusters can run side by side before slots repeat. */
export const SLOTS = 8;
/** Second octets: ClusterIPs at SERVICE_OCTET+slot, node IPs at NODE_OCTET+slot, pods from POD_OCTET. */
export const SERVICE_OCTET = 96;
export const NODE_OCTET = 104;
export const POD_OCTET = 128;
/** The cluster DNS listens on 127.0.0.1 at this offset into the cluster's port block. */
export const DNS_PORT_OFFSET = 43;

export interface ClusterAddressPlan {
  /** 0…7: which cluster on this host. */
  slot: number;
  /** `--service-cluster-ip-range` for the apiserver: 127.(96+slot).0.0/16. */
  serviceCidr: string;
  /** The `kube-dns` Service's ClusterIP (the tenth address, as kubeadm's 10.96.0.10). */
  dnsClusterIp: string;
  /** Where the cluster DNS process listens (`dns-main --listen`): 127.0.0.1:(portBase+43). */
  dnsListen: string;
  /** `--node-ip` of node `index` (0 = control-plane, 1 = worker-1, …): 127.(104+slot).(index/240).(10+index%240). */
  nodeIp(index: number): string;
  /** `--pod-cidr` of node `index`: 127.(128+16·slot+index/256).(index%256).0/24 (a real node's /24). */
  podCidr(index: number): string;
}

/**
 * The slot of a cluster whose CLI port block starts at `portBase`: blocks that do not overlap
 * (bases at least PORT_BLOCK apart) get different slots unless their bases differ by a multiple of
 * PORT_BLOCK·SLOTS (1600) ports. The default base 2379 is slot 0, so its ClusterIPs are 127.96.0.0/16.
 */
export function clusterSlot(portBase: number): number {
  if (!Number.isInteger(portBase) || portBase < 1 || portBase > 65535) {
    throw new AddressPlanError(`port base must be an integer port number, got ${portBase}`);
  }
  const block = Math.floor((portBase - DEFAULT_PORT_BASE) / PORT_BLOCK);
  return ((block % SLOTS) + SLOTS) % SLOTS;
}

export function clusterAddressPlan(portBase: number = DEFAULT_PORT_BASE): ClusterAddressPlan {
  const slot = clusterSlot(portBase);
  return {
    slot,
    serviceCidr: `127.${SERVICE_OCTET + slot}.0.0/16`,
    dnsClusterIp: `127.${SERVICE_OCTET + slot}.0.10`,
    dnsListen: `127.0.0.1:${portBase + DNS_PORT_OFFSET}`,
    nodeIp(index) {
      if (!Number.isInteger(index) || index < 0 || index >= 240 * 256) {
        throw new AddressPlanError(`node index must be an integer 0…${240 * 256 - 1}, got ${index}`);
      }
      return `127.${NODE_OCTET + slot}.${Math.floor(index / 240)}.${10 + (index % 240)}`;
    },
    podCidr(index) {
      if (!Number.isInteger(index) || index < 0 || index >= 16 * 256) {
        throw new AddressPlanError(`node index must be an integer 0…${16 * 256 - 1} for a /24 pod CIDR, got ${index}`);
      }
      return `127.${POD_OCTET + 16 * slot + Math.floor(index / 256)}.${index % 256}.0/24`;
    },
  };
}

/**
 * Checks that a service range can carry traffic on one host: inside 127.0.0.0/8, and clear of
 * 127.0.0.0/16 (where every process's own listeners sit on 127.0.0.1).
 */
export function checkServiceCidr(cidr: string): Ipv4Cidr {
  const c = new Ipv4Cidr(cidr);
  if (!LOOPBACK.contains(`${c}`.split('/')[0] ?? '') || c.prefix < 8) {
    throw new AddressPlanError(`service range ${c} is not inside 127.0.0.0/8; ClusterIPs must be loopback on one host`);
  }
  if (c.overlaps(new Ipv4Cidr('127.0.0.0/16'))) {
    throw new AddressPlanError(`service range ${c} overlaps 127.0.0.0/16, where the components themselves listen`);
  }
  return c;
}

/** True when `ip` is an IPv4 loopback address a listener on this host can bind. */
export function isLoopback(ip: string): boolean {
  return parseIPv4(ip) !== undefined && LOOPBACK.contains(ip);
}
