/** The lock of a Debian spec: the signed Release it was resolved from and every .deb pinned. */
import { z } from 'zod';
import { lockHeader, sha256Hex } from '../distribution.js';

export const debianLockedPackage = z.strictObject({
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
  filename: z.string(),
  size: z.number().int().min(0),
  sha256: sha256Hex,
  source: z.string(),
  sourceVersion: z.string(),
  component: z.string(),
  /** The suite it comes from, when that is one of source.extraSuites. */
  suite: z.string().optional(),
});

const indexes = z.array(z.strictObject({ path: z.string(), size: z.number().int(), sha256: sha256Hex }));

/** A further suite's signed Release and indexes (source.extraSuites). */
export const debianLockedSuite = z.strictObject({
  suite: z.string(),
  codename: z.string().optional(),
  date: z.string(),
  inRelease: z.strictObject({ size: z.number().int(), sha256: sha256Hex }),
  signers: z.array(z.string()),
  indexes,
});

/**
 * A lock of one architecture has `source.architecture`; a lock of several (`source.architectures`
 * in the spec) has `source.architectures` instead, every .deb once in `packages` (an
 * `Architecture: all` package needed by several architectures is listed, and fetched, once) and
 * `architectures`: per architecture, the packages it installs as NAME_ARCH keys into `packages`.
 * `source.indexes` then lists the Packages indexes of every architecture.
 */
export const debianLock = z.strictObject({
  ...lockHeader,
  source: z.strictObject({
    distro: z.literal('debian'),
    suite: z.string(),
    codename: z.string().optional(),
    architecture: z.string().optional(),
    architectures: z.array(z.string()).min(1).optional(),
    components: z.array(z.string()),
    date: z.string(),
    sourceDateEpoch: z.number().int(),
    inRelease: z.strictObject({ size: z.number().int(), sha256: sha256Hex }),
    signers: z.array(z.string()),
    indexes,
    /** The snapshot timestamp every suite was read at (YYYYMMDDTHHMMSSZ); absent for a mirror. */
    snapshot: z.string().regex(/^\d{8}T\d{6}Z$/).optional(),
    extraSuites: z.array(debianLockedSuite).optional(),
  }),
  packages: z.array(debianLockedPackage),
  architectures: z.array(z.strictObject({ architecture: z.string(), packages: z.array(z.string()) })).min(1).optional(),
}).superRefine((lock, ctx) => {
  const multi = lock.source.architectures;
  if ((lock.source.architecture === undefined) === (multi === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['source', 'architecture'], message: 'a lock has either source.architecture or source.architectures' });
    return;
  }
  if ((multi === undefined) !== (lock.architectures === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['architectures'], message: multi === undefined ? 'only a lock of source.architectures has architectures' : 'a lock of source.architectures needs architectures' });
    return;
  }
  if (multi === undefined) return;
  const keys = new Set(lock.packages.map(packageKey));
  if (keys.size !== lock.packages.length) ctx.addIssue({ code: 'custom', path: ['packages'], message: 'a package (NAME_ARCH) is listed twice' });
  if (lock.architectures!.map((a) => a.architecture).join(' ') !== multi.join(' ')) {
    ctx.addIssue({ code: 'custom', path: ['architectures'], message: 'the sections must be those of source.architectures, in its order' });
  }
  lock.architectures!.forEach((a, i) => a.packages.forEach((k, j) => {
    if (!keys.has(k)) ctx.addIssue({ code: 'custom', path: ['architectures', i, 'packages', j], message: `${k} is not among packages` });
  }));
});

/** How a lock of several architectures names a package: Debian's NAME_ARCH. */
export const packageKey = (p: { name: string; architecture: string }): string => `${p.name}_${p.architecture}`;

export type DebianLock = z.output<typeof debianLock>;
export type DebianLockedPackage = z.output<typeof debianLockedPackage>;
