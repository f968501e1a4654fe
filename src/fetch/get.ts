/**
 * Small whole-file reads from a mirror (indexes, databases, signatures) by http(s) or file URL,
 * through the one HTTP client. Sizes are bounded, over HTTP and in files alike; a file: URL must
 * name a regular file (`readWholeFile`: never a FIFO's wait or /dev/zero's endless bytes); a file
 * the mirror does not have can be asked for as optional.
 */
import { fileURLToPath } from 'node:url';
import { readWholeFile } from '../fs/read-whole.js';
import { ReproError, ioError } from '../model/errors.js';
import { request, safeUrl } from './http.js';

export interface GetOptions {
  /** Largest body or file accepted (default 256 MiB). */
  limit?: number;
  /** Answer undefined for a missing file (404, 410, or no such file) instead of failing. */
  optional?: boolean;
}

export async function fetchBytes(url: string, opts: GetOptions & { optional: true }): Promise<Buffer | undefined>;
export async function fetchBytes(url: string, opts?: GetOptions): Promise<Buffer>;
export async function fetchBytes(url: string, opts: GetOptions = {}): Promise<Buffer | undefined> {
  const limit = opts.limit ?? 256 << 20;
  if (url.startsWith('file:')) {
    try {
      return await readWholeFile(fileURLToPath(url), limit);
    } catch (e) {
      if (opts.optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError(e, `cannot read ${url}`);
    }
  }
  const r = await request({ url, noRetryStatuses: [404, 410] });
  if (opts.optional && (r.status === 404 || r.status === 410)) {
    r.discard();
    return undefined;
  }
  if (r.status !== 200) {
    r.discard();
    throw new ReproError('E_NETWORK', `${safeUrl(url)}: HTTP ${r.status}`);
  }
  return r.bytes(limit);
}
