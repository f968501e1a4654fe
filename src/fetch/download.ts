/**
 * Verified downloads: a file is streamed to a temporary name beside its destination while it is
 * hashed; it is renamed into place only when its size and SHA-256 are the expected ones. Sources
 * (mirrors: http, https or file URLs) are tried in order; a body that breaks off is fetched again. Nothing unverified is
 * ever left under the destination name.
 */
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ReproError, ioError } from '../model/errors.js';
import { tempNameFor } from '../fs/atomic.js';
import { openRegularFile } from '../fs/read-whole.js';
import { releasePartial, removeStaleTempsOnce } from '../fs/scratch.js';
import { DEFAULT_RETRY, request, retryDelay, safeUrl, type Deadlines, type RetryPolicy } from './http.js';

export interface Expected {
  size: number;
  /** Hex SHA-256. */
  sha256: string;
}

export interface DownloadOptions {
  retry?: RetryPolicy;
  headers?: Record<string, string>;
  /** Bytes received so far for this file (may go back to 0 when a source is retried). */
  onProgress?: (received: number) => void;
  onRetry?: (message: string) => void;
  /** The cut of a body that drips (default `MIN_SPEED`; tests shorten it). */
  deadlines?: Deadlines;
}

/**
 * Downloads `name` (for messages) from the first of `urls` that serves the expected bytes, into
 * `dest`. Every failure is remembered; if no source succeeds, the error lists them all.
 */
export async function downloadVerified(name: string, urls: string[], dest: string, expected: Expected, opts: DownloadOptions = {}): Promise<void> {
  const policy = opts.retry ?? DEFAULT_RETRY;
  const failures: string[] = [];
  let mismatch: ReproError | undefined;
  for (const url of urls) {
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      const r = await fetchOnce(url, dest, expected, opts, policy);
      if (r === 'ok') return;
      if (r.retryable && attempt < policy.attempts) {
        const delay = retryDelay(policy, attempt);
        opts.onRetry?.(`${name}: ${r.message}; retrying in ${delay} ms`);
        await new Promise((ok) => setTimeout(ok, delay));
        continue;
      }
      failures.push(`${safeUrl(url)}: ${r.message}`);
      if (r.mismatch) mismatch ??= r.mismatch;
      break;
    }
  }
  if (mismatch && failures.length === 1) throw mismatch;
  throw new ReproError(mismatch ? 'E_DIGEST_MISMATCH' : 'E_NETWORK', `${name}: no source served the expected bytes: ${failures.join('; ')}`);
}

type Outcome = 'ok' | { message: string; retryable: boolean; mismatch?: ReproError };

async function fetchOnce(url: string, dest: string, expected: Expected, opts: DownloadOptions, policy: RetryPolicy): Promise<Outcome> {
  let res: { body: AsyncIterable<Buffer>; discard: () => void };
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url);
    let file;
    try {
      // Never a FIFO's endless wait or a device's endless bytes (a mirror is a directory of files).
      file = await openRegularFile(path);
    } catch (e) {
      // Its message names the path; the list of failures names the URL already.
      if (e instanceof ReproError) return { message: e.message.replace(`${path}: `, ''), retryable: false };
      const code = (e as NodeJS.ErrnoException).code;
      return { message: code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (e as Error).message})`, retryable: false };
    }
    const stream = file.fh.createReadStream({ highWaterMark: 1 << 20 });
    res = { body: stream, discard: () => stream.destroy() };
  } else {
    let r;
    try {
      r = await request({ url, ...(opts.headers ? { headers: opts.headers } : {}), retry: policy, noRetryStatuses: [], deadlines: opts.deadlines });
    } catch (e) {
      // A setting we cannot use (an unusable proxy URL) is the user's to fix, not a mirror's fault.
      if (e instanceof ReproError && e.code === 'E_USAGE') throw e;
      return { message: (e as Error).message, retryable: false };
    }
    if (r.status !== 200) {
      r.discard();
      return { message: `HTTP ${r.status}`, retryable: false };
    }
    const declared = Number(r.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared !== expected.size) {
      r.discard();
      return { message: `serves ${declared} bytes, expected ${expected.size}`, retryable: false };
    }
    res = r;
  }
  let opened;
  try {
    opened = await openTemp(dest);
  } catch (e) {
    res.discard();
    throw e;
  }
  const tmp = opened.tmp;
  let fh: FileHandle | undefined = opened.fh;
  const hash = createHash('sha256');
  let received = 0;
  try {
    try {
      for await (const chunk of res.body) {
        received += chunk.length;
        if (received > expected.size) {
          res.discard();
          throw new ReproError('E_SIZE_MISMATCH', `more than the expected ${expected.size} bytes`);
        }
        hash.update(chunk);
        // A write that fails (a full disk) is ours, not the connection's: not retried.
        await fh.write(chunk).catch((e) => { throw ioError(e, `cannot write ${dest}`); });
        opts.onProgress?.(received);
      }
    } catch (e) {
      if (e instanceof ReproError) throw e;
      return { message: `connection broke after ${received} bytes (${(e as Error).message})`, retryable: true };
    }
    if (received < expected.size) return { message: `body ended after ${received} of ${expected.size} bytes`, retryable: true };
    const got = hash.digest('hex');
    if (got !== expected.sha256) {
      const err = new ReproError('E_DIGEST_MISMATCH', `${dest}: downloaded from ${safeUrl(url)} has sha256:${got}, expected sha256:${expected.sha256}`);
      return { message: `sha256:${got} instead of sha256:${expected.sha256}`, retryable: false, mismatch: err };
    }
    await commitVerified(fh, tmp, dest);
    fh = undefined;
    return 'ok';
  } catch (e) {
    if (e instanceof ReproError && e.code === 'E_SIZE_MISMATCH') return { message: e.message, retryable: false };
    throw e;
  } finally {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true });
    releasePartial(tmp);
  }
}

/**
 * Streams `body` to a temporary name beside `dest` while hashing it, and renames it into place only
 * when its size and SHA-256 are the expected ones; otherwise nothing is left and the error names
 * `name` and both digests.
 */
export async function storeVerified(name: string, body: AsyncIterable<Buffer>, dest: string, expected: Expected): Promise<void> {
  const opened = await openTemp(dest);
  const tmp = opened.tmp;
  let fh: FileHandle | undefined = opened.fh;
  try {
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of body) {
      received += chunk.length;
      if (received > expected.size) throw new ReproError('E_SIZE_MISMATCH', `${name}: more than the expected ${expected.size} bytes`);
      hash.update(chunk);
      // A failed write (a full disk) is one line naming the file, as for a download.
      await fh.write(chunk).catch((e) => { throw ioError(e, `cannot write ${dest}`); });
    }
    if (received !== expected.size) throw new ReproError('E_SIZE_MISMATCH', `${name}: ${received} bytes, expected ${expected.size}`);
    const got = hash.digest('hex');
    if (got !== expected.sha256) throw new ReproError('E_DIGEST_MISMATCH', `${name}: sha256:${got}, expected sha256:${expected.sha256}`);
    await commitVerified(fh, tmp, dest);
    fh = undefined;
  } finally {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true });
    releasePartial(tmp);
  }
}

/**
 * A new temporary file beside `dest` (`.NAME.tmp-OWNER-N`, registered for removal on a signal),
 * once those of dead writers in that directory have been swept.
 */
async function openTemp(dest: string): Promise<{ tmp: string; fh: FileHandle }> {
  await removeStaleTempsOnce(dirname(dest));
  const tmp = tempNameFor(dest);
  try {
    return { tmp, fh: await open(tmp, 'wx', 0o644) };
  } catch (e) {
    releasePartial(tmp);
    throw ioError(e, `cannot write ${dest}`);
  }
}

/** Closes a verified temporary file and renames it into place (a failure names `dest`). */
async function commitVerified(fh: FileHandle, tmp: string, dest: string): Promise<void> {
  try {
    await fh.close();
    await rename(tmp, dest);
  } catch (e) {
    throw ioError(e, `cannot write ${dest}`);
  }
}
