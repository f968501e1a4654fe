/**
 * Run by each host's Node (under qemu-user for another CPU): prints, as one JSON line, what that
 * runtime is and which of the project's runtime-dependent paths it takes, so that the table shows
 * them next to the digests.
 */
import { endianness } from 'node:os';
import zlib from 'node:zlib';
import { nativeMatchesReference } from '../src/archive/gzip.js';
import { zstdVersion } from '../src/archive/zstd.js';

let xattr = 'loads';
try {
  await import('fs-xattr');
} catch (e) {
  xattr = `does not load: ${(e as Error).message.split('\n')[0]}`;
}

process.stdout.write(`${JSON.stringify({
  arch: process.arch,
  node: process.version,
  endianness: endianness(),
  crc32: typeof (zlib as unknown as { crc32?: unknown }).crc32 === 'function' ? 'zlib.crc32' : 'table',
  deflate: nativeMatchesReference() ? 'native' : 'reference',
  zstd: zstdVersion(),
  xattr,
})}\n`);
