import { rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { ioError } from '../model/errors.js';
import { BackgroundWriter } from './file-writer.js';

let counter = 0;

/** A temporary name beside `path`, so that the final rename stays on one filesystem. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/**
 * Writes chunks to a temporary file beside `path`, flushes it to the disk and renames it into place;
 * on error nothing is left. Writes overlap with producing the next chunk (a download, a hash).
 */
export async function writeFileAtomic(path: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer> | Buffer, mode = 0o644): Promise<void> {
  const tmp = tempNameFor(path);
  const out = await BackgroundWriter.create(tmp, { mode, shown: path });
  try {
    if (Buffer.isBuffer(chunks)) await out.write(chunks);
    else for await (const c of chunks) await out.write(c);
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
