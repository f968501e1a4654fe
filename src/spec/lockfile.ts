/**
 * The lock file (`image.lock.json` beside the spec): every input of a build resolved once and
 * pinned by size and SHA-256, plus the digest of the spec fields that decided the resolution, so a
 * build can tell when the lock no longer matches its spec. Each distribution defines its lock's
 * shape (src/sources/<distro>/lockfile.ts); this file reads, writes and checks any of them.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { confinedPath } from '../fs/confine.js';
import { openRegularFileSync } from '../fs/read-whole.js';
import { canonicalBytes } from '../model/canonical-json.js';
import { ReproError, ioError } from '../model/errors.js';
import { parseJsonBytes } from '../model/json.js';
import { DISTRIBUTIONS, distributionFor, type AnyLock } from '../sources/index.js';
import type { ImageSpec } from './schema.js';
import { canonicalBase } from './base-schema.js';

export type LockFile = AnyLock;

/** The digest of the spec fields that decide what a lock contains; mirrors and image config are not among them. */
export function specDigest(spec: ImageSpec): string {
  const d = distributionFor(spec.source.distro).decisive(spec);
  // Only when there is one, so that the digest of a spec without a base is what it always was.
  // base.remove as a set (sorted, once each): two specs differing only in its order lock alike.
  const decisive = spec.base === undefined ? d : { ...(d as object), base: canonicalBase(spec.base) };
  return `sha256:${createHash('sha256').update(canonicalBytes(decisive)).digest('hex')}`;
}

export function lockPathFor(specFile: string): string {
  return specFile.replace(/\.ya?ml$/, '') + '.lock.json';
}

export function encodeLock(lock: LockFile): Buffer {
  return Buffer.from(`${JSON.stringify(lock, null, 2)}\n`);
}

export async function writeLock(path: string, lock: LockFile): Promise<void> {
  await writeFileAtomic(path, encodeLock(lock));
}

/** The most a lock file may hold (a lock of thousands of packages is a few MiB). */
export const MAX_LOCK_BYTES = 64 << 20;

/**
 * Reads the lock beside a spec. Like everything a spec makes us read, it must be inside the spec's
 * folder (a symlink out of it is refused: a lock linked to /etc/shadow would have been quoted by
 * the JSON parser's message), a regular file of at most MAX_LOCK_BYTES.
 */
/** A lock as read: its checked contents, the bytes they were parsed from, and their sha256. */
export interface ReadLock {
  lock: LockFile;
  bytes: Buffer;
  digest: `sha256:${string}`;
}

export function readLock(path: string): LockFile {
  return readLockFile(path).lock;
}

/**
 * Reads and checks a lock, once: confined to the spec's folder, a regular file of at most
 * MAX_LOCK_BYTES, its shape by source.distro. Callers that also record the lock's bytes or digest
 * (provenance, SBOM subject, inputs archive) use these bytes, never a second read of the path.
 */
export function readLockFile(path: string): ReadLock {
  if (!existsSync(path)) throw new ReproError('E_LOCK_STALE', `${path}: no lock file; run 'repro-image lock' on the spec first`);
  const real = confinedPath(dirname(path), basename(path), path, 'the spec folder');
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    // Opened without blocking (a FIFO would wait for a writer for ever) and checked on the descriptor.
    let size: number;
    try {
      ({ fd, size } = openRegularFileSync(real));
    } catch (e) {
      if (e instanceof ReproError) throw new ReproError('E_BAD_INPUT', `${path}: the lock is not a regular file`);
      throw e;
    }
    if (size > MAX_LOCK_BYTES) throw new ReproError('E_BAD_INPUT', `${path}: the lock is larger than ${MAX_LOCK_BYTES >> 20} MiB, the most accepted`);
    bytes = readFileSync(fd);
  } catch (e) {
    throw ioError(e, `cannot read ${path}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (bytes.length > MAX_LOCK_BYTES) throw new ReproError('E_BAD_INPUT', `${path}: the lock is larger than ${MAX_LOCK_BYTES >> 20} MiB, the most accepted`);
  // Not JSON.parse's own message: V8 quotes the text.
  const json = parseJsonBytes(bytes, path);
  // The shape is chosen by source.distro, so that problems are named within it.
  const distro = (json as { source?: { distro?: unknown } } | null)?.source?.distro;
  const d = DISTRIBUTIONS.find((x) => x.distro === distro) ?? DISTRIBUTIONS[0];
  const r = d.lockSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new ReproError('E_BAD_INPUT', `${path}: ${first.path.join('.') || '(top level)'}: ${first.message}`);
  }
  return { lock: r.data, bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** Refuses a lock made for other spec inputs. */
export function checkLockMatches(lock: LockFile, spec: ImageSpec, lockPath: string, specPath: string): void {
  const want = specDigest(spec);
  if (lock.specDigest !== want) {
    throw new ReproError('E_LOCK_STALE', `${lockPath} was made for other spec inputs than ${specPath} now has (${lock.specDigest} ≠ ${want}); run 'repro-image lock ${specPath}' again`);
  }
}
