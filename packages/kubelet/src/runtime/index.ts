export * from './base.js';
export * from './errors.js';
export * from './ip-pool.js';
export * from './logs.js';
export * from './mounts.js';
export * from './ports.js';
export * from './process-runtime.js';
export * from './types.js';
