export * from './catalogue.js';
export * from './reference.js';
