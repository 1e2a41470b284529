// ClusterIP allocation for Services from `--service-cluster-ip-range` (IPv4 CIDR, default
// 10.96.0.0/16). Where ClusterIPs must live for kube-proxy on one host (a loopback range) is the
// proxy package's decision; this only hands out free addresses of the configured range.
import { KemuError, type Random } from '@kemu/runtime';

export class ServiceIpRangeError extends KemuError {
  constructor(message: string) {
    super('APISERVER_BAD_SERVICE_RANGE', message);
  }
}

function toInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class ServiceIpRange {
  readonly cidr: string;
  private readonly base: number;
  private readonly size: number;

  constructor(cidr: string) {
    const [addr, bits] = cidr.split('/');
    const base = toInt(addr ?? '');
    const prefix = Number(bits);
    if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 29) {
      throw new ServiceIpRangeError(`--service-cluster-ip-range must be an IPv4 CIDR from /8 to /29, got "${cidr}"`);
    }
    this.size = 2 ** (32 - prefix);
    this.base = base - (base % this.size);
    this.cidr = `${toIp(this.base)}/${prefix}`;
  }

  /** The first host address, which upstream gives the `kubernetes` Service. */
  get first(): string {
    return toIp(this.base + 1);
  }

  contains(ip: string): boolean {
    const n = toInt(ip);
    return n !== undefined && n > this.base && n < this.base + this.size - 1;
  }

  /** A free address (not the network, broadcast or first host, which upstream keeps for `kubernetes`). */
  pick(used: ReadonlySet<string>, random: Random): string | undefined {
    const hosts = this.size - 3;
    for (let i = 0; i < 64; i++) {
      const ip = toIp(this.base + 2 + Math.floor(random.next() * hosts));
      if (!used.has(ip)) return ip;
    }
    for (let n = this.base + 2; n < this.base + this.size - 1; n++) if (!used.has(toIp(n))) return toIp(n);
    return undefined;
  }
}
