// IPv4 addresses as 32-bit unsigned integers: the only arithmetic the address plan needs.
import { AddressPlanError } from './errors.js';

export function parseIPv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class Ipv4Cidr {
  readonly network: number;
  readonly prefix: number;

  constructor(cidr: string) {
    const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
    const addr = m ? parseIPv4(m[1] ?? '') : undefined;
    const prefix = m ? Number(m[2]) : Number.NaN;
    if (addr === undefined || !(prefix >= 0 && prefix <= 32)) {
      throw new AddressPlanError(`"${cidr}" is not an IPv4 CIDR such as 127.96.0.0/16`);
    }
    this.prefix = prefix;
    const size = 2 ** (32 - prefix);
    this.network = addr - (addr % size);
  }

  get size(): number {
    return 2 ** (32 - this.prefix);
  }

  contains(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && n >= this.network && n < this.network + this.size;
  }

  overlaps(other: Ipv4Cidr): boolean {
    return this.network < other.network + other.size && other.network < this.network + this.size;
  }

  toString(): string {
    return `${formatIPv4(this.network)}/${this.prefix}`;
  }
}

export const LOOPBACK = new Ipv4Cidr('127.0.0.0/8');
