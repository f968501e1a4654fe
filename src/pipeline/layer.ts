/**
 * Writes one layer: the tar stream of the ordered entries, hashed uncompressed (diff_id), compressed
 * by the pinned compressor, hashed again (digest) and written to a file. The tar stream and its
 * compression share one block size, so each block is handed on without copying. Memory stays
 * bounded by the compressor's blocks in flight, whatever the size of the tree.
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../archive/entry.js';
import { BlockPool, STREAM_BLOCK_SIZE, type Block } from '../archive/blocks.js';
import { compressBlocks, type CompressOptions } from '../archive/compress.js';
import { tarBlocks } from '../archive/tar-writer.js';
import type { Digest } from '../model/digest.js';
import { ociLayerType, type Compression } from '../model/media-types.js';
import { BackgroundWriter } from '../fs/file-writer.js';

export interface WrittenLayer {
  path: string;
  mediaType: string;
  digest: Digest;
  size: number;
  diffId: Digest;
  uncompressedSize: number;
}

export type Progress = (done: number, total: number) => void;

export async function writeLayer(
  ordered: Entry[], compression: Compression, path: string, where: string,
  opts: CompressOptions & { progress?: Progress } = {},
): Promise<WrittenLayer> {
  const total = ordered.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  const diffHash = createHash('sha256');
  // Uncompressed, the blob is the tar stream itself: its digest is the diff_id.
  const blobHash = compression === 'none' ? undefined : createHash('sha256');
  let uncompressed = 0;
  let size = 0;
  // Blocks circulate: compressors give their input blocks back once done with them, and the
  // writer gives back what it wrote (uncompressed blocks, zstd's output chunks).
  const pool = new BlockPool(STREAM_BLOCK_SIZE);
  function* hashed(): Generator<Block> {
    for (const b of tarBlocks(ordered, where, pool)) {
      diffHash.update(b.data);
      uncompressed += b.data.length;
      opts.progress?.(Math.min(uncompressed, total), total);
      yield b;
    }
  }
  const out = await BackgroundWriter.create(path, { written: (b) => pool.give(b) });
  try {
    const copts: CompressOptions = { gzip: { ...opts.gzip, pool }, zstd: { ...opts.zstd, pool } };
    for await (const chunk of compressBlocks(compression, hashed(), copts)) {
      blobHash?.update(chunk);
      size += chunk.length;
      await out.write(chunk);
    }
    await out.close();
  } catch (e) {
    await out.abandon();
    throw e;
  }
  const diffId: Digest = `sha256:${diffHash.digest('hex')}`;
  return {
    path,
    mediaType: ociLayerType(compression),
    digest: blobHash ? `sha256:${blobHash.digest('hex')}` : diffId,
    size,
    diffId,
    uncompressedSize: uncompressed,
  };
}
