/** The lock of an Arch Linux spec: the snapshot's repository databases and every package pinned, with its signature. */
import { z } from 'zod';
import { lockHeader, sha256Hex } from '../distribution.js';

/** A pinned file beside a package or database: its detached OpenPGP signature. */
const pinnedFile = z.strictObject({ filename: z.string(), size: z.number().int().min(0), sha256: sha256Hex });

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
  sha256: sha256Hex,
  /** Where the package's signature came from: the repository database (%PGPSIG%), a .sig file, or none. */
  signature: z.union([z.strictObject({ in: z.literal('database') }), z.strictObject({ in: z.literal('file'), ...pinnedFile.shape }), z.strictObject({ in: z.literal('none') })]),
  /**
   * A lock of several architectures only: the architectures (of source.architectures, in its
   * order) whose repositories gave this very entry, every field alike: an `any` package several
   * architectures share is listed once.
   */
  for: z.array(z.string()).min(1).optional(),
});

const repositoryPin = z.strictObject({
  name: z.string(), size: z.number().int().min(0), sha256: sha256Hex,
  signature: pinnedFile.optional(),
});

/**
 * A lock of one architecture has `source.architecture` and `source.repositories`, its packages in
 * pacman's installation order. A lock of several (`source.architectures` in the spec) has
 * `source.architectures` instead, every package once in `packages` (by name, then by its first
 * architecture; each with `for`), and `architectures`: per architecture, its repository databases
 * and the names of the packages it installs in installation order; a name of a section is the
 * package of that name whose `for` holds the section's architecture.
 */
export const archLock = z.strictObject({
  ...lockHeader,
  source: z.strictObject({
    distro: z.literal('arch'),
    snapshot: z.string(),
    architecture: z.string().optional(),
    architectures: z.array(z.string()).min(1).optional(),
    sourceDateEpoch: z.number().int(),
    /** Whether package signatures were checked against the keyring when the lock was made. */
    signatures: z.enum(['verified', 'not-verified']),
    signers: z.array(z.string()),
    repositories: z.array(repositoryPin).optional(),
  }),
  /** One architecture: in pacman's installation order (dependencies first). */
  packages: z.array(archLockedPackage),
  architectures: z.array(z.strictObject({
    architecture: z.string(),
    repositories: z.array(repositoryPin),
    packages: z.array(z.string()),
  })).min(1).optional(),
}).superRefine((lock, ctx) => {
  const issue = (path: Array<string | number>, message: string): void => ctx.addIssue({ code: 'custom', path, message });
  const multi = lock.source.architectures;
  if ((lock.source.architecture === undefined) === (multi === undefined)) return issue(['source', 'architecture'], 'a lock has either source.architecture or source.architectures');
  if (multi === undefined) {
    if (lock.architectures !== undefined) return issue(['architectures'], 'only a lock of source.architectures has architectures');
    if (lock.source.repositories === undefined) return issue(['source', 'repositories'], 'a lock of one architecture needs source.repositories');
    const i = lock.packages.findIndex((p) => p.for !== undefined);
    if (i >= 0) issue(['packages', i, 'for'], 'only a lock of source.architectures says which architectures a package is for');
    return;
  }
  if (lock.architectures === undefined) return issue(['architectures'], 'a lock of source.architectures needs architectures');
  if (lock.source.repositories !== undefined) return issue(['source', 'repositories'], 'a lock of source.architectures keeps its repositories in each of architectures');
  if (lock.architectures.map((a) => a.architecture).join(' ') !== multi.join(' ')) return issue(['architectures'], 'the sections must be those of source.architectures, in its order');
  // Per architecture: name → the entry for it.
  const byArch = new Map(multi.map((a) => [a, new Map<string, number>()]));
  lock.packages.forEach((p, i) => {
    if (p.for === undefined) return issue(['packages', i, 'for'], 'a package of a lock of source.architectures says which architectures it is for');
    p.for.forEach((a, j) => {
      const names = byArch.get(a);
      if (!names) return issue(['packages', i, 'for', j], `${a} is not among source.architectures`);
      if (names.has(p.name)) return issue(['packages', i, 'for', j], `${a} has two packages named ${p.name}`);
      names.set(p.name, i);
    });
  });
  lock.architectures.forEach((s, i) => {
    const names = byArch.get(s.architecture)!;
    const listed = new Set<string>();
    s.packages.forEach((n, j) => {
      if (listed.has(n)) issue(['architectures', i, 'packages', j], `${n} is listed twice`);
      else if (!names.has(n)) issue(['architectures', i, 'packages', j], `${n} is not among packages for ${s.architecture}`);
      listed.add(n);
    });
    for (const n of names.keys()) if (!listed.has(n)) issue(['architectures', i, 'packages'], `${n} (for ${s.architecture} in packages) is not listed`);
  });
});

/** How the files of a lock of several architectures name a package: its first architecture and name. */
export const packageKey = (p: { name: string; for?: string[] | undefined }): string => (p.for === undefined ? p.name : `${p.for[0]}/${p.name}`);

export type ArchLock = z.output<typeof archLock>;
export type ArchLockedPackage = z.output<typeof archLockedPackage>;
export type ArchRepositoryPin = z.output<typeof repositoryPin>;
