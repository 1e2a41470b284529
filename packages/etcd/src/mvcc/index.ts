export * from './bytes.js';
export * from './errors.js';
export type { KvRecord } from './key-index.js';
export { LeaseExpiry, type LeaseExpiryOptions } from './lease-expiry.js';
export {
  DEFAULT_MAX_TXN_OPS,
  MAX_LEASE_TTL,
  MvccStore,
  type MvccStoreOptions,
  type StoreListener,
} from './store.js';
export * from './types.js';
export { checkRequest, isReadOnly } from './validate.js';
export {
  type WatchFilter,
  WatchHub,
  type WatchHubOptions,
  type WatchHubStats,
  type WatchRequest,
  type WatchResponse,
  type WatchSink,
} from './watch.js';
