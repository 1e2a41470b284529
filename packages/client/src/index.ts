export * from './errors.js';
export * from './fake-api.js';
export * from './informer.js';
export * from './interfaces.js';
export * from './store.js';
export * from './watch-channel.js';
