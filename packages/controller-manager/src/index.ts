export * from './apiserver-connection.js';
export * from './context.js';
export * from './controller-manager.js';
export { CONTROLLERS } from './controllers/index.js';
export * from './flags.js';
