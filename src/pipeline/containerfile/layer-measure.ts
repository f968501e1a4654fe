/**
 * A layer's tar (layer-tar.ts `layerTar`, byte for byte) hashed, and written to a scratch file if
 * asked, in large batches: each header and each file's content go straight into one reused
 * buffer (read into it, not into a buffer of their own), which is hashed (and written) when full.
 * Most of a root file system is small files; streaming them one chunk at a time through async
 * generators cost more than their sha256. The event loop gets a turn every few MiB.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { goLayerHeader, goLayerHeaderAtOnce } from '../../archive/go-tar-layer.js';
import { displayName } from '../../archive/go-tar.js';
import { ReproError, ioError, systemError } from '../../model/errors.js';
import { layerHeaders, type LayerItem } from './layer-tar.js';
import type { Measured } from './scratch-file.js';

const BATCH = 1 << 20;
/** Batches between turns of the event loop. */
const TURN = 8;

/** The sha256 and length of the layer tar of `items`, written to `path` too when given. */
export async function measureLayer(items: Iterable<LayerItem>, sourceDateEpoch: number, where: string, path?: string): Promise<Measured> {
  const hash = createHash('sha256');
  const batch = Buffer.allocUnsafe(BATCH);
  const times = { sourceDateEpoch };
  let used = 0;
  let size = 0;
  let flushes = 0;
  let out: number | undefined;
  const flush = async (): Promise<void> => {
    const b = batch.subarray(0, used);
    hash.update(b);
    if (out !== undefined) {
      try {
        for (let off = 0; off < b.length;) off += writeSync(out, b, off, b.length - off);
      } catch (e) {
        throw systemError(e) ? ioError(e, `cannot write the scratch file ${path}`) : e;
      }
    }
    size += used;
    used = 0;
    if (++flushes % TURN === 0) await new Promise((done) => setImmediate(done));
  };
  const put = async (b: Buffer): Promise<void> => {
    for (let off = 0; off < b.length;) {
      if (used === BATCH) await flush();
      const n = b.copy(batch, used, off);
      used += n;
      off += n;
    }
  };
  const zeros = async (n: number): Promise<void> => {
    while (n > 0) {
      if (used === BATCH) await flush();
      const k = Math.min(n, BATCH - used);
      batch.fill(0, used, used + k);
      used += k;
      n -= k;
    }
  };
  try {
    if (path !== undefined) {
      try {
        out = openSync(path, 'w', 0o600);
      } catch (e) {
        throw ioError(e, `cannot write the scratch file ${path}`);
      }
    }
    for (const { header, file } of layerHeaders(items, sourceDateEpoch)) {
      await put(goLayerHeaderAtOnce(header, times, where) ?? await goLayerHeader(header, times, where));
      if (!file) continue;
      const expected = header.size;
      let left = expected;
      let fd: number;
      try {
        fd = openSync(file.abs, 'r');
      } catch (e) {
        throw ioError(e, `cannot read ${file.abs}`);
      }
      try {
        for (;;) {
          if (used === BATCH) await flush();
          // One byte more than is left: a file longer than its header is seen without another read.
          const want = Math.min(left + 1, BATCH - used);
          let n: number;
          try {
            n = readSync(fd, batch, used, want, null);
          } catch (e) {
            throw ioError(e, `cannot read ${file.abs}`);
          }
          if (n > left) throw new ReproError('E_IO', `${where}: ${displayName(header.name)}: the data is longer than the ${expected} bytes its header says`);
          used += n;
          left -= n;
          // A regular file reads short only at its end.
          if (n === 0 || n < want) break;
        }
      } finally {
        closeSync(fd);
      }
      if (left > 0) throw new ReproError('E_IO', `${where}: ${displayName(header.name)}: ${expected - left} bytes of data where the header says ${expected}`);
      await zeros((512 - (expected % 512)) % 512);
    }
    await zeros(1024);
    await flush();
  } finally {
    if (out !== undefined) closeSync(out);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
