/**
 * The loopback addresses of one cluster on one host: node IPs, pod CIDRs and the Service range. Linux
 * routes all of 127.0.0.0/8 to lo, so every node and pod can have an address of its own; deriving them
 * from --port-base keeps two clusters side by side apart (they already need different port blocks).
 *
 * PLACEHOLDER RULES until the proxy package (which owns where ClusterIPs and node addresses live)
 * publishes its decision; only this function changes then. A cluster slot c = floor(portBase / 200) % 8:
 *   - Service range 127.(96+c).0.0/16 (the apiserver's --service-cluster-ip-range)
 *   - node i (0 = control-plane) at 127.(104+c).0.10 + i (i.e. 127.(104+c).x.y counting up from .0.10)
 *   - node i's pods in 127.(128+16c+floor(i/256)).(i%256).0/24
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
  return Math.floor(portBase / SLOT_BLOCK) % SLOTS;
}

export function clusterAddresses(portBase: number): ClusterAddresses {
  const c = clusterSlot(portBase);
  return {
    serviceCidr: `127.${96 + c}.0.0/16`,
    dnsServiceIp: `127.${96 + c}.0.10`,
    nodeIp: (i) => {
      const n = 10 + i;
      return `127.${104 + c}.${Math.floor(n / 256)}.${n % 256}`;
    },
    podCidr: (i) => `127.${128 + 16 * c + Math.floor(i / 256)}.${i % 256}.0/24`,
  };
}
