/**
 * The loopback addresses of one cluster on one host: node IPs, pod CIDRs and the Service range. Linux
 * routes all of 127.0.0.0/8 to lo, so every node and pod can have an address of its own; deriving them
 * from --port-base keeps two clusters side by side apart (they already need different port blocks).
 *
 * The rules are the proxy package's decision (packages/proxy/src/address-plan.ts, which owns where
 * ClusterIPs and node addresses live); this is the CLI's copy, with the slot counted in the CLI's
 * 200-port blocks. Cluster slot s = ((floor((portBase - 2379) / 200) mod 8) + 8) mod 8 (the default
 * cluster is slot 0):
 *   - Service range 127.(96+s).0.0/16 (the apiserver's --service-cluster-ip-range), kube-dns at .0.10
 *   - node i (0 = control-plane) at 127.(104+s).floor(i/240).(10 + i%240)
 *   - node i's pods in 127.(128+16s+floor(i/256)).(i%256).0/24
 */
export interface ClusterAddresses {
  serviceCidr: string;
  /** The ClusterIP of the `kube-dns` Service (the 10th address of the range, as kubeadm's 10.96.0.10). */
  dnsServiceIp: string;
  nodeIp(index: number): string;
  podCidr(index: number): string;
}

const SLOT_BLOCK = 200;
const SLOTS = 8;
/** Pod CIDRs give each cluster 16 second octets × 256 nodes. */
export const MAX_NODES_PER_CLUSTER = 4096;

export function clusterSlot(portBase: number): number {
  return ((Math.floor((portBase - 2379) / SLOT_BLOCK) % SLOTS) + SLOTS) % SLOTS;
}

export function clusterAddresses(portBase: number): ClusterAddresses {
  const s = clusterSlot(portBase);
  return {
    serviceCidr: `127.${96 + s}.0.0/16`,
    dnsServiceIp: `127.${96 + s}.0.10`,
    nodeIp: (i) => `127.${104 + s}.${Math.floor(i / 240)}.${10 + (i % 240)}`,
    podCidr: (i) => `127.${128 + 16 * s + Math.floor(i / 256)}.${i % 256}.0/24`,
  };
}
