/** `component/name`, e.g. `etcd/etcd-0`, `kube-apiserver/apiserver-0`, `kubelet/worker-1`. */
const IDENTITY = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function isIdentity(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 253 && IDENTITY.test(v);
}

/**
 * A glob over identities or method names where `*` matches any run of characters (including `/` and
 * `.`), e.g. `etcd/*`, `*`, `raft.*`. Everything else matches literally.
 */
export function compilePattern(pattern: string): (s: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (s) => s === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (s) => re.test(s);
}

export function compilePatterns(patterns: readonly string[]): (s: string) => boolean {
  const matchers = patterns.map(compilePattern);
  if (matchers.length === 1) return matchers[0] as (s: string) => boolean;
  return (s) => matchers.some((m) => m(s));
}
