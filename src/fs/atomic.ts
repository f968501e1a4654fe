import { rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { ReproError, ioError } from '../model/errors.js';
import { BackgroundWriter } from './file-writer.js';
import { ownerTag } from './owner.js';
import { registerPartial, releasePartial } from './scratch.js';

let counter = 0;

/**
 * A temporary name for `path`, `.NAME.tmp-OWNER-N`: beside it (or in `where`, a directory on the
 * same file system), so that the final rename stays on one file system. The owner (see owner.ts)
 * in the name lets a later run remove it if this process is killed (scratch.ts, `removeStaleTemps`);
 * it is registered for removal on a signal unless `register` is false (a name that holds the only
 * copy of something for a moment, such as an old image being replaced).
 */
export function tempNameFor(path: string, opts: { where?: string; register?: boolean } = {}): string {
  const tmp = join(opts.where ?? dirname(path), `.${basename(path)}.tmp-${ownerTag()}-${counter++}`);
  if (opts.register !== false) registerPartial(tmp);
  return tmp;
}

/**
 * Writes chunks to a temporary file beside `path`, flushes it to the disk and renames it into place;
 * on error nothing is left. Writes overlap with producing the next chunk (a download, a hash).
 * An aborted `signal` stops reading the chunks (which closes their source) and fails the write.
 */
export async function writeFileAtomic(path: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer> | Buffer, opts: { mode?: number; signal?: AbortSignal; tempDir?: string } = {}): Promise<void> {
  const tmp = tempNameFor(path, opts.tempDir !== undefined ? { where: opts.tempDir } : {});
  try {
    await writeAndRename(path, tmp, chunks, opts);
  } finally {
    releasePartial(tmp);
  }
}

async function writeAndRename(path: string, tmp: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer> | Buffer, opts: { mode?: number; signal?: AbortSignal }): Promise<void> {
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
