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
});

export const archLock = z.strictObject({
  ...lockHeader,
  source: z.strictObject({
    distro: z.literal('arch'),
    snapshot: z.string(),
    architecture: z.string(),
    sourceDateEpoch: z.number().int(),
    /** Whether package signatures were checked against the keyring when the lock was made. */
    signatures: z.enum(['verified', 'not-verified']),
    signers: z.array(z.string()),
    repositories: z.array(z.strictObject({
      name: z.string(), size: z.number().int().min(0), sha256: sha256Hex,
      signature: pinnedFile.optional(),
    })),
  }),
  /** In pacman's installation order (dependencies first). */
  packages: z.array(archLockedPackage),
});

export type ArchLock = z.output<typeof archLock>;
export type ArchLockedPackage = z.output<typeof archLockedPackage>;
