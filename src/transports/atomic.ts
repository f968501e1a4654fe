import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { ioError } from '../model/errors.js';

let counter = 0;

/** A temporary name beside `path`, so that the final rename stays on one filesystem. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/** Writes chunks to a temporary file beside `path` and renames it into place; on error nothing is left. */
export async function writeFileAtomic(path: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer> | Buffer, mode = 0o644): Promise<void> {
  const tmp = tempNameFor(path);
  let fh;
  try {
    fh = await open(tmp, 'wx', mode);
  } catch (e) {
    throw ioError(e, `cannot write ${path}`);
  }
  try {
    if (Buffer.isBuffer(chunks)) await fh.write(chunks);
    else for await (const c of chunks) await fh.write(c);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw ioError(e, `cannot write ${path}`);
  }
}
