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

export const debianLock = z.strictObject({
  ...lockHeader,
  source: z.strictObject({
    distro: z.literal('debian'),
    suite: z.string(),
    codename: z.string().optional(),
    architecture: z.string(),
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
});

export type DebianLock = z.output<typeof debianLock>;
export type DebianLockedPackage = z.output<typeof debianLockedPackage>;
