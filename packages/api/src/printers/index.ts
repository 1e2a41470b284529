export * from './common.js';
export * from './core.js';
export * from './duration.js';
export * from './extra.js';
export * from './pod.js';
export * from './table.js';
export * from './workloads.js';
