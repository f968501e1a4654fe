/**
 * Temporary directories for one run: made under the caller's temp dir (never the output), named
 * `repro-image-…`, and removed by whoever made them when the work is done or has failed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ioError } from '../model/errors.js';

/** A new private directory under `base` (default: the OS temp dir). */
export async function makeScratchDir(base: string | undefined, prefix = 'repro-image-'): Promise<string> {
  return mkdtemp(join(base ?? tmpdir(), prefix)).catch((e) => { throw ioError(e, 'cannot create a temporary directory'); });
}

/** Runs `fn` with a new scratch directory and removes it afterwards, whatever happens. */
export async function withScratchDir<T>(base: string | undefined, fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeScratchDir(base, prefix);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
