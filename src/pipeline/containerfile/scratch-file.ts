/**
 * A Containerfile build's scratch files: a stream written in few large writes, and a stream's
 * sha256 and byte count taken as it passes (into a scratch file, or into nothing: a layer whose tar
 * is only hashed).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Digest } from '../../model/digest.js';
import { ioError, systemError } from '../../model/errors.js';

const WRITE_BATCH = 1 << 20;

/**
 * Writes chunks to a scratch file; a file system error (a full temp dir: ENOSPC) is one line naming
 * the file, what the chunks' source throws is kept.
 */
export async function writeScratch(path: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  // Small chunks (a tar's headers, small files) are gathered into few large writes.
  const batch = Buffer.allocUnsafe(WRITE_BATCH);
  let used = 0;
  let fd: number | undefined;
  const flush = (b: Buffer): void => {
    for (let off = 0; off < b.length;) off += writeSync(fd!, b, off, b.length - off);
  };
  try {
    fd = openSync(path, 'w', 0o600);
    for await (const c of chunks) {
      if (used + c.length > WRITE_BATCH) {
        flush(batch.subarray(0, used));
        used = 0;
      }
      if (c.length >= WRITE_BATCH) flush(c);
      else {
        c.copy(batch, used);
        used += c.length;
      }
    }
    flush(batch.subarray(0, used));
  } catch (e) {
    throw systemError(e) ? ioError(e, `cannot write the scratch file ${path}`) : e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A stream's sha256 and length. */
export interface Measured {
  digest: Digest;
  size: number;
}

/**
 * The sha256 and length of `chunks`, taken as they pass on to `path` (a scratch file), or, without
 * a path, of the bytes alone (nothing is written).
 */
export async function measure(chunks: AsyncIterable<Buffer>, path?: string): Promise<Measured> {
  const hash = createHash('sha256');
  let size = 0;
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      hash.update(c);
      size += c.length;
      yield c;
    }
  };
  if (path !== undefined) await writeScratch(path, counted());
  else for (const it = counted(); !(await it.next()).done;) { /* hashed only */ }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
