import { rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { ReproError, ioError } from '../model/errors.js';
import { BackgroundWriter } from './file-writer.js';

let counter = 0;

/** A temporary name beside `path`, so that the final rename stays on one filesystem. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/**
 * Writes chunks to a temporary file beside `path`, flushes it to the disk and renames it into place;
 * on error nothing is left. Writes overlap with producing the next chunk (a download, a hash).
 * An aborted `signal` stops reading the chunks (which closes their source) and fails the write.
 */
export async function writeFileAtomic(path: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer> | Buffer, opts: { mode?: number; signal?: AbortSignal } = {}): Promise<void> {
  const tmp = tempNameFor(path);
  const out = await BackgroundWriter.create(tmp, { mode: opts.mode ?? 0o644, shown: path });
  try {
    if (Buffer.isBuffer(chunks)) await out.write(chunks);
    else {
      for await (const c of chunks) {
        if (opts.signal?.aborted) throw new ReproError('E_IO', `${path}: abandoned: another blob failed`);
        await out.write(c);
      }
    }
    await out.close({ sync: true });
  } catch (e) {
    await out.abandon();
    await rm(tmp, { force: true });
    throw ioError(e, `cannot write ${path}`);
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw ioError(e, `cannot write ${path}`);
  }
}
