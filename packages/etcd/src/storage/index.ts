export * from './checksum.js';
export * from './errors.js';
export * from './fs.js';
export * from './memory-fs.js';
export * from './node-fs.js';
export * from './snapshotter.js';
export * from './types.js';
export * from './wal.js';
export { HEADER_BYTES as WAL_RECORD_HEADER_BYTES, MAX_RECORD_BYTES as WAL_MAX_RECORD_BYTES } from './wal-record.js';
