export type * from './apps.js';
export type * from './batch.js';
export type * from './core.js';
export type * from './meta.js';
export type * from './misc.js';
