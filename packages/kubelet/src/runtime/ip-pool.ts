import { InvalidConfigError, IpPoolExhaustedError } from './errors.js';

export const DEFAULT_POD_CIDR = '127.1.0.0/16';

function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Pod IPs from a loopback range. Linux routes all of 127.0.0.0/8 to `lo`, so every address in it can
 * be bound without configuration and two pods can both listen on :80.
 *
 * Allocation is deterministic and round-robin like CNI host-local IPAM: the next free address after
 * the last one handed out, wrapping around, so a just-released IP is not reused at once (endpoints
 * that still point at it would reach the wrong pod). Addresses ending in .0 or .255 are skipped.
 */
export class LoopbackIpPool {
  readonly cidr: string;
  private readonly first: number;
  private readonly last: number;
  private cursor: number;
  private readonly used = new Set<number>();

  constructor(cidr: string = DEFAULT_POD_CIDR) {
    const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
    const base = m ? parseIPv4(m[1]!) : null;
    const bits = m ? Number(m[2]) : Number.NaN;
    if (base === null || !(bits >= 8 && bits <= 30)) {
      throw new InvalidConfigError(`pod CIDR "${cidr}" is not an IPv4 CIDR with a prefix of 8..30`);
    }
    const size = 2 ** (32 - bits);
    const network = base - (base % size);
    if (network >>> 24 !== 127) {
      throw new InvalidConfigError(`pod CIDR "${cidr}" is not inside 127.0.0.0/8 (only loopback works on one host)`);
    }
    this.cidr = `${formatIPv4(network)}/${bits}`;
    this.first = network + 1;
    this.last = network + size - 2;
    this.cursor = this.last;
  }

  /** The first address of the range (what a probe binds to check the range is usable). */
  firstAddress(): string {
    return formatIPv4(this.first);
  }

  allocate(): string {
    const span = this.last - this.first + 1;
    for (let i = 1; i <= span; i++) {
      const n = this.first + ((this.cursor - this.first + i) % span);
      const low = n & 255;
      if (low === 0 || low === 255 || this.used.has(n)) continue;
      this.used.add(n);
      this.cursor = n;
      return formatIPv4(n);
    }
    throw new IpPoolExhaustedError(this.cidr);
  }

  release(ip: string): void {
    const n = parseIPv4(ip);
    if (n !== null) this.used.delete(n);
  }

  inUse(): number {
    return this.used.size;
  }
}
