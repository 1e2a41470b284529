// The proxy package's library surface; the processes are dist/src/main.js and dist/src/dns-main.js.
export * from './address-plan.js';
export { ClusterDnsResolver, type DnsResult, type Rcode } from './dns/resolver.js';
export * from './errors.js';
export * from './service-rules.js';
