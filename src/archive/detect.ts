import type { Compression } from '../model/media-types.js';

/** Compression recognised by magic bytes: gzip, zstd, xz, or none (a plain tar). */
export type DetectedCompression = Compression | 'xz' | 'bzip2';

/**
 * Apart from the compressors (compress.ts) so that readers which only sniff a header do not load
 * the zstd addon and pako: every registry command starts faster for it.
 */
export function detectCompression(head: Buffer): DetectedCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  return 'none';
}
