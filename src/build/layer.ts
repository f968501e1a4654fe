/**
 * Writes one layer: the tar stream of the ordered entries, hashed uncompressed (diff_id), compressed
 * by the pinned compressor, hashed again (digest) and written to a file. The tar stream and its
 * compression share one block size, so each block is handed on without copying. Memory stays
 * bounded by the compressor's blocks in flight, whatever the size of the tree.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { Entry } from '../archive/entry.js';
import { BlockPool, STREAM_BLOCK_SIZE, type Block } from '../archive/blocks.js';
import { compressBlocks, type CompressOptions } from '../archive/compress.js';
import { tarBlocks } from '../archive/tar-writer.js';
import { ioError } from '../model/errors.js';
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

const MAX_WRITES_IN_FLIGHT = 4;

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
  const out = await BackgroundWriter.create(path, (b) => pool.give(b));
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

/**
 * Appends to a new file with a few positional writes in flight on the thread pool, so that writing
 * overlaps with assembling and hashing the next chunks. Chunks must not be modified after write().
 */
class BackgroundWriter {
  private pos = 0;
  private readonly inflight: Array<Promise<unknown>> = [];
  private failure: unknown;

  private constructor(private readonly fh: FileHandle, private readonly path: string, private readonly written: (chunk: Buffer) => void) {}

  /** `written` is told when a chunk is on disk and its buffer free. */
  static async create(path: string, written: (chunk: Buffer) => void = () => {}): Promise<BackgroundWriter> {
    try {
      return new BackgroundWriter(await open(path, 'wx', 0o644), path, written);
    } catch (e) {
      throw ioError(e, `cannot write ${path}`);
    }
  }

  async write(chunk: Buffer): Promise<void> {
    const at = this.pos;
    this.pos += chunk.length;
    this.inflight.push(this.writeAt(chunk, at));
    while (this.inflight.length > MAX_WRITES_IN_FLIGHT) await this.inflight.shift();
    if (this.failure !== undefined) throw this.failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.inflight.splice(0));
    if (this.failure !== undefined) throw this.failure;
    await this.fh.close();
  }

  async abandon(): Promise<void> {
    await Promise.all(this.inflight.splice(0));
    await this.fh.close().catch(() => {});
  }

  private async writeAt(chunk: Buffer, at: number): Promise<void> {
    try {
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, at + off);
        off += bytesWritten;
      }
      this.written(chunk);
    } catch (e) {
      this.failure ??= ioError(e, `cannot write ${this.path}`);
    }
  }
}
