export * from './admin.js';
export * from './clock.js';
export * from './errors.js';
export * from './logger.js';
export * from './random.js';
export * from './shutdown.js';
