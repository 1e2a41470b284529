export * from './discovery.js';
export * from './errors.js';
export * from './labels.js';
export * from './quantity.js';
export * from './registry.js';
export type * from './types/index.js';
export * from './validation/field-error.js';
export * from './validation/go-format.js';
export * from './validation/names.js';
