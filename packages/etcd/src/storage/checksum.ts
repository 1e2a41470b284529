import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * CRC-32 (IEEE) from node:zlib (native, available since Node 20.15). `prev` continues a running
 * checksum, which is how the WAL chains records: each record's CRC covers everything before it.
 */
export function crc32(data: Uint8Array, prev = 0): number {
  return zlibCrc32(data, prev) >>> 0;
}
