/**
 * The pinned zstd compressor: libzstd 1.5.7 as bundled by zstd-napi 0.0.13 (pinned exactly), level 3,
 * multithreaded mode with nbWorkers = 2 whatever the machine (zstd's output is the same for any
 * nbWorkers >= 1 but differs from nbWorkers = 0), streaming with a content checksum and input fed in
 * fixed 1 MiB blocks, so that the frame never depends on how the producer cut its chunks.
 */
import { createRequire } from 'node:module';
import { ReproError } from '../model/errors.js';
import { fixedBlocks } from './blocks.js';

const require = createRequire(import.meta.url);
type ZstdBinding = typeof import('zstd-napi/binding.js');
const binding = require('zstd-napi/binding') as ZstdBinding;

export const ZSTD_LEVEL = 3;
export const ZSTD_WORKERS = 2;
export const ZSTD_BLOCK_SIZE = 1 << 20;

export function zstdVersion(): string {
  const v = binding.versionNumber();
  return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
}

export interface ZstdOptions {
  /** Worker threads inside libzstd; any value >= 1 gives the same bytes. Default 2. */
  workers?: number;
}

export async function* zstdStream(source: AsyncIterable<Buffer>, opts: ZstdOptions = {}): AsyncGenerator<Buffer> {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, ZSTD_LEVEL);
  cctx.setParameter(binding.CParameter.checksumFlag, 1);
  cctx.setParameter(binding.CParameter.nbWorkers, Math.max(1, opts.workers ?? ZSTD_WORKERS));
  const outSize = binding.cStreamOutSize();
  for await (const { data, last } of fixedBlocks(source, ZSTD_BLOCK_SIZE)) {
    const op = last ? binding.EndDirective.end : binding.EndDirective.continue;
    let src: Buffer = data;
    for (;;) {
      const dst = Buffer.allocUnsafe(outSize);
      const [remaining, produced, consumed] = cctx.compressStream2(dst, src, op);
      src = src.subarray(consumed);
      if (produced > 0) yield dst.subarray(0, produced);
      if (last ? remaining === 0 : src.length === 0) break;
      // In multithreaded mode the call may return before the workers produce: yield the event loop.
      if (produced === 0 && consumed === 0) await new Promise((r) => setImmediate(r));
    }
  }
}

export async function* zstdDecompressStream(source: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
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
    const [remaining, produced] = dctx.decompressStream(dst, Buffer.alloc(0));
    if (produced > 0) yield dst.subarray(0, produced);
    lastRemaining = remaining;
    if (produced === 0) break;
  }
  if (lastRemaining !== 0) throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated zstd stream`);
}
