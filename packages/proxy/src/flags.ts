// Flag checks shared by kube-proxy and the cluster DNS; every failure is a ProxyFlagError (exit 2).
import { ProxyFlagError } from './errors.js';
import { parseIPv4 } from './ipv4.js';

export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new ProxyFlagError(`--${name} is required`);
  return v;
}

export function portFlag(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new ProxyFlagError(`--${name} must be a port number 0…65535, got "${v}"`);
  return n;
}

export function ipFlag(name: string, v: string): string {
  if (parseIPv4(v) === undefined) throw new ProxyFlagError(`--${name} must be an IPv4 address, got "${v}"`);
  return v;
}

/** The path the apiserver's WireServer accepts upgrades on; added when a URL names no path. */
export const WIRE_PATH = '/wire';

/** `ws://127.0.0.1:6444[,ws://…]` → URLs, each checked, `/wire` added where no path is given. */
export function apiserverUrls(v: string): string[] {
  const urls = v
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw new ProxyFlagError('--apiserver needs at least one ws:// URL');
  return urls.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ProxyFlagError(`--apiserver entries must be ws:// or wss:// URLs, got "${u}"`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new ProxyFlagError(`--apiserver entries must be ws:// or wss:// URLs, got "${u}"`);
    }
    if (url.pathname === '' || url.pathname === '/') url.pathname = WIRE_PATH;
    return url.toString();
  });
}
