/**
 * Writes one layer: the tar stream of the ordered entries, hashed uncompressed (diff_id), compressed
 * by the pinned compressor, hashed again (digest) and written to a file. Memory stays bounded by
 * the compressor's blocks in flight, whatever the size of the tree.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Entry } from '../archive/entry.js';
import { compressStream, type CompressOptions } from '../archive/compress.js';
import { writeTar } from '../archive/tar-writer.js';
import type { Digest } from '../model/digest.js';
import { ociLayerType, type Compression } from '../model/media-types.js';

export interface WrittenLayer {
  path: string;
  mediaType: string;
  digest: Digest;
  size: number;
  diffId: Digest;
  uncompressedSize: number;
}

export type Progress = (done: number, total: number) => void;

async function* hashing(source: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>, count: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    count(chunk.length);
    yield chunk;
  }
}

export async function writeLayer(
  ordered: Entry[], compression: Compression, path: string, where: string,
  opts: CompressOptions & { progress?: Progress } = {},
): Promise<WrittenLayer> {
  const total = ordered.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let uncompressed = 0;
  let size = 0;
  const tar = hashing(writeTar(ordered, where), diffHash, (n) => {
    uncompressed += n;
    opts.progress?.(Math.min(uncompressed, total), total);
  });
  const fh = await open(path, 'wx', 0o644);
  try {
    for await (const chunk of compressStream(compression, tar, opts)) {
      blobHash.update(chunk);
      size += chunk.length;
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  return {
    path,
    mediaType: ociLayerType(compression),
    digest: `sha256:${blobHash.digest('hex')}`,
    size,
    diffId: `sha256:${diffHash.digest('hex')}`,
    uncompressedSize: uncompressed,
  };
}
