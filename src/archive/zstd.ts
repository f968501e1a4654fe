/**
 * The pinned zstd compressor: libzstd 1.5.7 as bundled by zstd-napi 0.0.13 (pinned exactly), level 3,
 * multithreaded mode with nbWorkers = 2 whatever the machine (zstd's output is the same for any
 * nbWorkers >= 1 but differs from nbWorkers = 0), streaming with a content checksum and input fed in
 * fixed 1 MiB blocks, so that the frame never depends on how the producer cut its chunks.
 *
 * The native addon is loaded when zstd is first used, so that gzip and uncompressed builds do not
 * need it; when it does not load (not built for this Node or CPU) the error says what to install.
 */
import { createRequire } from 'node:module';
import { ReproError } from '../model/errors.js';
import { STREAM_BLOCK_SIZE, checkedBlocks, fixedBlocks, type Block, type BlockPool } from './blocks.js';

const require = createRequire(import.meta.url);
type ZstdBinding = typeof import('zstd-napi/binding.js');
let loaded: ZstdBinding | undefined;

/** zstd-napi's native binding (a CommonJS module, so require() loads it on every Node). */
function zstdBinding(where: string, alternative = ''): ZstdBinding {
  if (!loaded) {
    try {
      loaded = require('zstd-napi/binding') as ZstdBinding;
    } catch (e) {
      const why = (String((e as Error)?.message ?? e).split('\n')[0] ?? '').trim();
      throw new ReproError('E_UNSUPPORTED',
        `${where}: zstd needs the zstd-napi native addon, which does not load (${why}); install it with 'npm ci' or 'npm rebuild zstd-napi' where g++, make and python3 are present${alternative}`,
        { cause: e });
    }
  }
  return loaded;
}

/** True when the zstd addon loads on this host. */
export function zstdAvailable(): boolean {
  try {
    zstdBinding('zstd');
    return true;
  } catch {
    return false;
  }
}

export const ZSTD_LEVEL = 3;
export const ZSTD_WORKERS = 2;
export const ZSTD_BLOCK_SIZE = STREAM_BLOCK_SIZE;
/**
 * Input per multithreaded job. Pinned rather than left to libzstd's default (8 MiB at level 3),
 * which would keep about 60 MB more in its buffers for a 0.4% smaller output.
 */
export const ZSTD_JOB_SIZE = 4 << 20;

export function zstdVersion(): string {
  const v = zstdBinding('zstd').versionNumber();
  return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
}

export interface ZstdOptions {
  /** Worker threads inside libzstd; any value >= 1 gives the same bytes. Default 2. */
  workers?: number;
  /**
   * Input blocks are given back here once libzstd has copied them, and full output chunks are
   * taken from it (the consumer gives those back once written).
   */
  pool?: BlockPool;
}

/** Compressed output is handed on in chunks of this size (except the last). */
const OUT_CHUNK = 1 << 20;

/**
 * Compresses a stream already cut into ZSTD_BLOCK_SIZE blocks (see tarBlocks). In multithreaded
 * mode compressStream2 hands input to libzstd's workers and blocks only when they are all busy, so
 * the workers compress while this thread assembles the next block.
 */
export async function* zstdBlocks(blocks: AsyncIterable<Block> | Iterable<Block>, opts: ZstdOptions = {}): AsyncGenerator<Buffer> {
  const binding = zstdBinding('--compression zstd', ', or compress with gzip (--compression gzip)');
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, ZSTD_LEVEL);
  cctx.setParameter(binding.CParameter.checksumFlag, 1);
  cctx.setParameter(binding.CParameter.nbWorkers, Math.max(1, opts.workers ?? ZSTD_WORKERS));
  cctx.setParameter(binding.CParameter.jobSize, ZSTD_JOB_SIZE);
  const newOut = (): Buffer => (opts.pool?.size === OUT_CHUNK ? opts.pool.take() : Buffer.allocUnsafe(OUT_CHUNK));
  let out = newOut();
  let fill = 0;
  for await (const { data, last } of checkedBlocks(blocks, ZSTD_BLOCK_SIZE)) {
    const op = last ? binding.EndDirective.end : binding.EndDirective.continue;
    let src: Buffer = data;
    for (;;) {
      const [remaining, produced, consumed] = cctx.compressStream2(out.subarray(fill), src, op);
      src = src.subarray(consumed);
      fill += produced;
      if (fill === out.length) {
        yield out;
        out = newOut();
        fill = 0;
      }
      if (last ? remaining === 0 : src.length === 0) break;
      // In multithreaded mode a call may return before the workers produce: yield the event loop.
      if (produced === 0 && consumed === 0) await new Promise((r) => setImmediate(r));
    }
    opts.pool?.give(data);
  }
  if (fill > 0) yield out.subarray(0, fill);
}

/** Compresses any byte stream to zstd (re-cut into blocks first). */
export function zstdStream(source: AsyncIterable<Buffer> | Iterable<Buffer>, opts: ZstdOptions = {}): AsyncGenerator<Buffer> {
  return zstdBlocks(fixedBlocks(source, ZSTD_BLOCK_SIZE), opts);
}

export async function* zstdDecompressStream(source: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
  const binding = zstdBinding(where);
  const dctx = new binding.DCtx();
  const outSize = binding.dStreamOutSize();
  let lastRemaining = 0;
  for await (const chunk of source) {
    let src: Buffer = chunk;
    while (src.length > 0) {
      const dst = Buffer.allocUnsafe(outSize);
      let r: [number, number, number];
      try {
        r = dctx.decompressStream(dst, src);
      } catch (e) {
        throw new ReproError('E_BAD_INPUT', `${where}: corrupt zstd data: ${(e as Error).message}`);
      }
      const [remaining, produced, consumed] = r;
      lastRemaining = remaining;
      src = src.subarray(consumed);
      if (produced > 0) yield dst.subarray(0, produced);
      if (consumed === 0 && produced === 0) break;
    }
  }
  // Flush whatever is still buffered inside the decoder (0 means the frame ended cleanly).
  while (lastRemaining !== 0) {
    const dst = Buffer.allocUnsafe(outSize);
    let r: [number, number, number];
    try {
      r = dctx.decompressStream(dst, Buffer.alloc(0));
    } catch (e) {
      throw new ReproError('E_BAD_INPUT', `${where}: corrupt zstd data: ${(e as Error).message}`);
    }
    const [remaining, produced] = r;
    if (produced > 0) yield dst.subarray(0, produced);
    lastRemaining = remaining;
    if (produced === 0) break;
  }
  if (lastRemaining !== 0) throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated zstd stream`);
}
