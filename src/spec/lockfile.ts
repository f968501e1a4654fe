/**
 * The lock file (`image.lock.json` beside the spec): every input of a build resolved once and
 * pinned by size and SHA-256, plus the digest of the spec fields that decided the resolution, so a
 * build can tell when the lock no longer matches its spec.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { canonicalBytes } from '../model/canonical-json.js';
import { ReproError, ioError } from '../model/errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { ImageSpec } from './schema.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const lockedPackage = z.strictObject({
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
  filename: z.string(),
  size: z.number().int().min(0),
  sha256,
  source: z.string(),
  sourceVersion: z.string(),
  component: z.string(),
});

const header = {
  lockVersion: z.literal(1),
  specDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
};

export const debianLock = z.strictObject({
  ...header,
  source: z.strictObject({
    distro: z.literal('debian'),
    suite: z.string(),
    codename: z.string().optional(),
    architecture: z.string(),
    components: z.array(z.string()),
    date: z.string(),
    sourceDateEpoch: z.number().int(),
    inRelease: z.strictObject({ size: z.number().int(), sha256 }),
    signers: z.array(z.string()),
    indexes: z.array(z.strictObject({ path: z.string(), size: z.number().int(), sha256 })),
  }),
  packages: z.array(lockedPackage),
});

/** A pinned file beside a package or database: its detached OpenPGP signature. */
const pinnedFile = z.strictObject({ filename: z.string(), size: z.number().int().min(0), sha256 });

export const archLockedPackage = z.strictObject({
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
  repository: z.string(),
  /** pkgbase: what rebuilders and the local database call the source. */
  base: z.string(),
  /** Named in the spec (pacman's "explicitly installed") or pulled in as a dependency. */
  reason: z.enum(['explicit', 'dependency']),
  filename: z.string(),
  size: z.number().int().min(0),
  sha256,
  /** Where the package's signature came from: the repository database (%PGPSIG%), a .sig file, or none. */
  signature: z.union([z.strictObject({ in: z.literal('database') }), z.strictObject({ in: z.literal('file'), ...pinnedFile.shape }), z.strictObject({ in: z.literal('none') })]),
});

export const archLock = z.strictObject({
  ...header,
  source: z.strictObject({
    distro: z.literal('arch'),
    snapshot: z.string(),
    architecture: z.string(),
    sourceDateEpoch: z.number().int(),
    /** Whether package signatures were checked against the keyring when the lock was made. */
    signatures: z.enum(['verified', 'not-verified']),
    signers: z.array(z.string()),
    repositories: z.array(z.strictObject({
      name: z.string(), size: z.number().int().min(0), sha256,
      signature: pinnedFile.optional(),
    })),
  }),
  /** In pacman's installation order (dependencies first). */
  packages: z.array(archLockedPackage),
});

export type DebianLock = z.output<typeof debianLock>;
export type ArchLock = z.output<typeof archLock>;
export type LockFile = DebianLock | ArchLock;
export type LockedPackage = z.output<typeof lockedPackage>;
export type ArchLockedPackage = z.output<typeof archLockedPackage>;

export function isDebianLock(lock: LockFile): lock is DebianLock {
  return lock.source.distro === 'debian';
}

/** The spec fields that decide what a lock contains; mirrors and image config are not among them. */
export function specDigest(spec: ImageSpec): string {
  const src = spec.source;
  const keyring = src.keyring === undefined ? {} : { keyring: src.keyring };
  const decisive = src.distro === 'debian'
    ? {
      source: { distro: src.distro, suite: src.suite, components: src.components, architecture: src.architecture, ...keyring },
      packages: spec.packages,
      essential: spec.essential,
      ...(spec.priority === undefined ? {} : { priority: spec.priority }),
    }
    : {
      source: { distro: src.distro, snapshot: src.snapshot, repositories: src.repositories, architecture: src.architecture, ...keyring },
      packages: spec.packages,
    };
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

export function readLock(path: string): LockFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ReproError('E_LOCK_STALE', `${path}: no lock file; run 'repro-image lock' on the spec first`);
    }
    throw ioError(e, `cannot read ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ReproError('E_BAD_JSON', `${path}: ${(e as Error).message}`);
  }
  // The branch is chosen by source.distro, so that problems are named within it.
  const distro = (json as { source?: { distro?: unknown } } | null)?.source?.distro;
  const r = (distro === 'arch' ? archLock : debianLock).safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new ReproError('E_BAD_INPUT', `${path}: ${first.path.join('.') || '(top level)'}: ${first.message}`);
  }
  return r.data;
}

/** Refuses a lock made for other spec inputs. */
export function checkLockMatches(lock: LockFile, spec: ImageSpec, lockPath: string, specPath: string): void {
  const want = specDigest(spec);
  if (lock.specDigest !== want) {
    throw new ReproError('E_LOCK_STALE', `${lockPath} was made for other spec inputs than ${specPath} now has (${lock.specDigest} ≠ ${want}); run 'repro-image lock ${specPath}' again`);
  }
}
