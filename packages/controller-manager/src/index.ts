export * from './context.js';
export { CONTROLLERS } from './controllers/index.js';
