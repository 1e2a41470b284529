export type { ConfChange, ConfChangeType } from './conf-change.js';
export { decodeConfChange, encodeConfChange } from './conf-change.js';
export * from './errors.js';
export type { RawNodeConfig } from './raw-node.js';
export { RawNode } from './raw-node.js';
export type { Storage } from './storage.js';
export { bootstrapState, MemoryStorage } from './storage.js';
export * from './types.js';
