import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import type { Compression } from '../model/media-types.js';
import { ReproError } from '../model/errors.js';
import type { Block } from './blocks.js';
import { gzipBlocks, type GzipOptions } from './gzip.js';
import { zstdBlocks, zstdDecompressStream, type ZstdOptions } from './zstd.js';

export interface CompressOptions {
  gzip?: GzipOptions;
  zstd?: ZstdOptions;
}

/** Compresses a stream of STREAM_BLOCK_SIZE blocks (see tarBlocks) with the pinned compressor. */
export function compressBlocks(c: Compression, blocks: AsyncIterable<Block> | Iterable<Block>, opts: CompressOptions = {}): AsyncIterable<Buffer> {
  switch (c) {
    case 'gzip':
      return gzipBlocks(blocks, opts.gzip);
    case 'zstd':
      return zstdBlocks(blocks, opts.zstd);
    case 'none':
      return plain(blocks);
  }
}

async function* plain(blocks: AsyncIterable<Block> | Iterable<Block>): AsyncGenerator<Buffer> {
  for await (const b of blocks) if (b.data.length > 0) yield b.data;
}

/** Compression recognised by magic bytes: gzip, zstd, xz, or none (a plain tar). */
export type DetectedCompression = Compression | 'xz' | 'bzip2';

export function detectCompression(head: Buffer): DetectedCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  return 'none';
}

/** Output chunk of the gzip decoder: 16 times fewer thread-pool round trips than the 16 KiB default (a 170 MB layer: 1.1 s -> 0.4 s). */
const GUNZIP_CHUNK = 256 << 10;

async function* gunzip(source: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
  const z = createGunzip({ chunkSize: GUNZIP_CHUNK });
  const input = Readable.from(source);
  input.on('error', (e) => z.destroy(e));
  input.pipe(z);
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } catch (e) {
    if (e instanceof ReproError) throw e;
    const msg = (e as Error).message;
    const code = /unexpected end/i.test(msg) ? 'E_TAR_TRUNCATED' : 'E_BAD_INPUT';
    throw new ReproError(code, `${where}: corrupt or truncated gzip data: ${msg}`);
  } finally {
    input.destroy();
  }
}

export function decompressStream(c: DetectedCompression, source: AsyncIterable<Buffer>, where: string): AsyncIterable<Buffer> {
  switch (c) {
    case 'gzip':
      return gunzip(source, where);
    case 'zstd':
      return zstdDecompressStream(source, where);
    case 'none':
      return source;
    default:
      throw new ReproError('E_UNSUPPORTED', `${where}: ${c}-compressed input is not supported; use .tar, .tar.gz or .tar.zst`);
  }
}
